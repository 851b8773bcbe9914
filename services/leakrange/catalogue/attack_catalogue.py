"""``AttackCatalogue``: the attacks of every family, loaded from the generated JSON file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from leakrange.common.attack_info import AttackInfo
from leakrange.common.errors import IntegrityError, NotFound

CATALOGUE_FILE = "attacks.json"
CATALOGUE_VERSION = 1


class AttackCatalogue:
    """Attack descriptions by family and name (immutable once built)."""

    def __init__(self, attacks: Iterable[AttackInfo]) -> None:
        by_family: dict[str, dict[str, AttackInfo]] = {}
        for info in attacks:
            by_family.setdefault(info.family, {})[info.name] = info
        self._by_family = by_family

    def families(self) -> list[str]:
        """Families with at least one attack, in catalogue order."""
        return list(self._by_family)

    def names(self, family: str) -> list[str]:
        return list(self._by_family.get(family, {}))

    def get(self, family: str, name: str) -> AttackInfo:
        try:
            return self._by_family[family][name]
        except KeyError:
            raise NotFound(
                f"attack '{name[:64]}' is not in family '{family}' "
                f"(available: {', '.join(self.names(family))})"
            ) from None

    def __iter__(self) -> Any:
        for attacks in self._by_family.values():
            yield from attacks.values()

    def to_document(self) -> dict[str, Any]:
        """The JSON document ``tools/catalogue.py`` writes (stable order, diff-friendly)."""
        return {
            "version": CATALOGUE_VERSION,
            "attacks": [info.model_dump(mode="json") for info in self],
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> AttackCatalogue:
        if doc.get("version") != CATALOGUE_VERSION or not isinstance(doc.get("attacks"), list):
            raise IntegrityError("attack catalogue: unknown version or layout")
        return cls(AttackInfo.model_validate(a) for a in doc["attacks"])


def catalogue_text(catalogue: AttackCatalogue) -> str:
    return json.dumps(catalogue.to_document(), indent=2) + "\n"


def load_catalogue() -> AttackCatalogue:
    """The catalogue shipped with this build (package data)."""
    text = resources.files("leakrange.catalogue").joinpath(CATALOGUE_FILE).read_text("utf-8")
    return AttackCatalogue.from_document(json.loads(text))
