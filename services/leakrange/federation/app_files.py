"""The range's Flower app as ``flwr run`` submits it (a folder: pyproject.toml and two modules
that name the ServerApp and ClientApp), and the Flower CLI's configuration naming the
SuperLink. Written by the local launcher and by the Kubernetes range's run Job
(``submit_run.py``). Run config keys: ``settings-file`` (local range) or ``store`` and
``store-prefix`` (Kubernetes range; see ``server_app.py``)."""

from __future__ import annotations

from pathlib import Path

FEDERATION = "range"
APP_PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "leakrange-federation"
version = "1.0.0"
description = "The LeakPro Range federation (FedAvg over the range's ClientApp)"
license = "Apache-2.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "leakrange"

[tool.flwr.app.components]
serverapp = "range_server:app"
clientapp = "range_client:app"

[tool.flwr.app.config]
settings-file = ""
store = ""
store-prefix = ""
"""
APP_MODULES = {
    "range_server.py": "from leakrange.federation.server_app import app\n\n__all__ = ['app']\n",
    "range_client.py": "from leakrange.federation.client_app import app\n\n__all__ = ['app']\n",
}


def write_app(app: Path) -> Path:
    """The app folder ``flwr run`` builds its FAB from."""
    app.mkdir(parents=True, exist_ok=True)
    (app / "pyproject.toml").write_text(APP_PYPROJECT, encoding="utf-8")
    for name, text in APP_MODULES.items():
        (app / name).write_text(text, encoding="utf-8")
    return app


def write_flwr_config(home: Path, address: str) -> Path:
    """``$FLWR_HOME/config.toml`` with one SuperLink, ``range``, at ``address`` (insecure: the
    exercise's NetworkPolicies allow only the range's own pods to reach it)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(f'[superlink]\ndefault = "{FEDERATION}"\n\n[superlink.{FEDERATION}]\n'
                    f'address = "{address}"\ninsecure = true\n', encoding="utf-8")
    return path
