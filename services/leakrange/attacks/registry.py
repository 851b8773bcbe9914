"""Per-family attack registries, built fresh on each call (no module-level mutable state)."""

from __future__ import annotations

import importlib
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


# Family -> (module, attribute holding its attack classes). The extra of the same name carries
# what the family needs beyond the core (pyproject.toml).
_FAMILY_MODULES: dict[str, tuple[str, str]] = {
    "mia": ("leakrange.attacks.mia", "MIA_ATTACKS"),
    "inversion": ("leakrange.attacks.inversion", "INVERSION_ATTACKS"),
    "synthetic": ("leakrange.attacks.synthetic", "SYNTHETIC_ATTACKS"),
    "federated": ("leakrange.attacks.federated", "FEDERATED_ATTACKS"),
}


def _family_attacks(family: str) -> tuple[type[Attack], ...]:
    if family not in _FAMILY_MODULES:
        raise InvalidArgument("family",
                              f"unknown attack family (available: {', '.join(families())})")
    module_name, attribute = _FAMILY_MODULES[family]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise MissingDependency(f"attack family '{family}' needs its extra ({err.name}): "
                                f"pip install 'leakpro-range[{family}]'") from None
    attacks: tuple[type[Attack], ...] = getattr(module, attribute)
    return attacks


def families() -> list[str]:
    """Attack families this build serves."""
    return list(_FAMILY_MODULES)


def get_registry(family: str) -> AttackRegistry:
    return AttackRegistry(family, _family_attacks(family))


def validate_params(family: str, attack: str, params: dict[str, Any] | None) -> AttackParams:
    """Validate an attack's parameters (used by the orchestrator's spec validation too)."""
    return get_registry(family).get(attack).parse_params(params or {})
