"""Per-family attack registries, built fresh on each call (no module-level mutable state)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from leakrange.attacks.base import Attack, AttackParams
from leakrange.common.errors import InvalidArgument, MissingDependency, NotFound


class AttackRegistry:
    def __init__(self, family: str, attacks: tuple[type[Attack], ...]) -> None:
        self.family = family
        self._attacks = {a.name: a for a in attacks}

    def __iter__(self) -> Iterator[type[Attack]]:
        return iter(self._attacks.values())

    def names(self) -> list[str]:
        return list(self._attacks)

    def get(self, name: str) -> type[Attack]:
        try:
            return self._attacks[name]
        except KeyError:
            raise NotFound(
                f"attack '{name[:64]}' is not in family '{self.family}' "
                f"(available: {', '.join(self._attacks)})"
            ) from None


def _family_attacks(family: str) -> tuple[type[Attack], ...]:
    if family == "mia":
        try:
            from leakrange.attacks.mia import MIA_ATTACKS
        except ImportError as err:
            raise MissingDependency(f"attack family 'mia' needs its extra ({err.name}): "
                                    "pip install 'leakpro-range[mia]'") from None
        return MIA_ATTACKS
    if family == "inversion":
        try:
            from leakrange.attacks.inversion import INVERSION_ATTACKS
        except ImportError as err:
            raise MissingDependency(f"attack family 'inversion' needs its extra ({err.name}): "
                                    "pip install 'leakpro-range[inversion]'") from None
        return INVERSION_ATTACKS
    if family == "synthetic":
        try:
            from leakrange.attacks.synthetic import SYNTHETIC_ATTACKS
        except ImportError as err:
            raise MissingDependency(f"attack family 'synthetic' needs its extra ({err.name}): "
                                    "pip install 'leakpro-range[synthetic]'") from None
        return SYNTHETIC_ATTACKS
    raise InvalidArgument("family", f"unknown attack family (available: {', '.join(families())})")


def families() -> list[str]:
    """Attack families this build serves."""
    return ["mia", "inversion", "synthetic"]


def get_registry(family: str) -> AttackRegistry:
    return AttackRegistry(family, _family_attacks(family))


def validate_params(family: str, attack: str, params: dict[str, Any] | None) -> AttackParams:
    """Validate an attack's parameters (used by the orchestrator's spec validation too)."""
    return get_registry(family).get(attack).parse_params(params or {})
