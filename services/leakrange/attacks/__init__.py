"""Attack API, per-family registries and the shared Attack service."""

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext

__all__ = ["Attack", "AttackOutput", "AttackParams", "RunContext"]
