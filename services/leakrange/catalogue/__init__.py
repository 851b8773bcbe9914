"""The attack catalogue: every attack the range's attack services serve, as they describe
themselves in ``ListAttacks``, generated at build time into ``attacks.json`` by
``tools/catalogue.py`` (``make check-catalogue`` fails on drift, like the protos).

The orchestrator and the CLI's offline ``validate`` check exercise specs against it, so they
import no attack code and their images carry no attack dependencies.
"""

from leakrange.catalogue.attack_catalogue import AttackCatalogue, load_catalogue
from leakrange.catalogue.params_schema import schema_problems

__all__ = ["AttackCatalogue", "load_catalogue", "schema_problems"]
