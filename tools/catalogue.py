"""Generate the attack catalogue (``services/leakrange/catalogue/attacks.json``) from the attack
registries: what every family's Attack service publishes in ``ListAttacks``.

Usage: python tools/catalogue.py [--check]
--check fails if the committed catalogue differs from what the registries describe now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "services" / "leakrange" / "catalogue" / "attacks.json"


def build_text() -> str:
    from leakrange.attacks.registry import families, get_registry
    from leakrange.catalogue.attack_catalogue import AttackCatalogue, catalogue_text

    infos = [cls.describe() for family in families() for cls in get_registry(family)]
    return catalogue_text(AttackCatalogue(infos))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on drift, write nothing")
    args = parser.parse_args()
    text = build_text()
    if args.check:
        current = TARGET.read_text("utf-8") if TARGET.is_file() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run `make catalogue`",
                  file=sys.stderr)
            return 1
        print("attack catalogue up to date")
        return 0
    TARGET.write_text(text, "utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
