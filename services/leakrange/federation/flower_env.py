"""Where the federated environment is: the virtualenv with Flower (``make setup`` builds
``.venv-federated`` from ``requirements/federated-lock.txt``; ``LEAKRANGE_FLOWER_VENV`` names
another one, e.g. the federated image's)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from leakrange.common.errors import MissingDependency

FLOWER_VENV_ENV = "LEAKRANGE_FLOWER_VENV"
DEFAULT_VENV = ".venv-federated"
TOOLS = ("flower-superlink", "flower-supernode", "flwr", "flwr-serverapp", "flwr-clientapp")


@dataclass(frozen=True)
class FlowerEnv:
    bin_dir: Path

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


def find_flower_env(env: dict[str, str] | None = None) -> FlowerEnv:
    values = env if env is not None else dict(os.environ)
    given = values.get(FLOWER_VENV_ENV)
    root = Path(given) if given else Path(__file__).resolve().parents[3] / DEFAULT_VENV
    bin_dir = root / "bin"
    missing = [t for t in TOOLS if not (bin_dir / t).is_file()]
    if missing:
        raise MissingDependency(
            f"the federated target needs Flower's environment ({DEFAULT_VENV}, built by "
            f"`make setup`, or {FLOWER_VENV_ENV}); not found: {missing[0]}")
    return FlowerEnv(bin_dir)
