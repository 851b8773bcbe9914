"""The helm CLI, run as a child process (argument lists, never a shell).

Only what the range needs: install or upgrade an exercise release and wait for it, uninstall it,
list the exercise releases of the namespace, and render a chart offline. Failures become
``RangeError``s carrying helm's own ``Error:`` line, shortened; the values helm sees hold no
secrets (tokens live in a Secret the orchestrator creates), so its messages cannot leak any.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from leakrange.common.errors import InvalidArgument, MissingDependency, RangeError, Unavailable

MAX_ERROR_CHARS = 300
# Seconds helm gets beyond its own --timeout before it is killed.
KILL_SLACK_S = 30.0
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class HelmResult:
    """How one helm command ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class HelmCall(Protocol):
    """A helm command that is running (a real process, or a test's stand-in)."""

    def poll(self) -> HelmResult | None: ...

    def wait(self, timeout: float | None = None) -> HelmResult | None: ...

    def kill(self) -> None: ...


class HelmClient(Protocol):
    """What ``KubernetesBackend`` needs from helm."""

    def start_upgrade_install(self, release: str, chart: Path, values_files: Sequence[Path],
                              timeout_s: float) -> HelmCall: ...

    def uninstall(self, release: str) -> None: ...

    def list_releases(self, prefix: str = "ex-", chart: str | None = None) -> list[str]: ...


def short_error(stderr: str) -> str:
    """helm's message from its first ``Error:`` line on, its lines joined with "; ", at most
    300 characters (helm's hint to use --debug is dropped)."""
    text = stderr.strip()
    start = text.find("Error:")
    if start >= 0:
        text = text[start + len("Error:"):]
    message = ""
    for line in (_WHITESPACE.sub(" ", raw).strip() for raw in text.splitlines()):
        if not line or line.startswith("Use --debug"):
            continue
        message += line if not message else (" " if message.endswith(":") else "; ") + line
    message = message or "no message"
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 3] + "..."


class HelmProcess:
    """One helm child process; its output is collected by a thread so pipes never fill."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        try:
            self._proc = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, env=dict(env),
            )
        except FileNotFoundError:
            raise MissingDependency(
                "the helm binary was not found: install it (python tools/install_helm.py) "
                "or pass --helm"
            ) from None
        self._result: HelmResult | None = None
        self._done = threading.Event()
        threading.Thread(target=self._collect, name="helm-output", daemon=True).start()

    def _collect(self) -> None:
        stdout, stderr = self._proc.communicate()
        self._result = HelmResult(self._proc.returncode, stdout, stderr)
        self._done.set()

    def poll(self) -> HelmResult | None:
        return self._result if self._done.is_set() else None

    def wait(self, timeout: float | None = None) -> HelmResult | None:
        self._done.wait(timeout)
        return self.poll()

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._done.wait(10.0)


# helm's storage driver for release records. "configmap": the orchestrator's Role then needs no
# access to Secrets with generated names (helm's "secret" driver names them
# sh.helm.release.v1.<release>.v<n>); exercise releases hold no secret values.
DEFAULT_DRIVER = "configmap"
DRIVERS = ("configmap", "secret")


class HelmRunner:
    """The helm binary ``helm_bin`` acting on one namespace, keeping its release records with
    ``driver`` (HELM_DRIVER)."""

    def __init__(self, helm_bin: str | Path = "helm", namespace: str = "default", *,
                 command_timeout_s: float = 120.0, driver: str = DEFAULT_DRIVER,
                 extra_env: Mapping[str, str] | None = None) -> None:
        if driver not in DRIVERS:
            raise InvalidArgument("helm_driver", "must be configmap or secret")
        self.helm_bin = str(helm_bin)
        self.namespace = namespace
        self.driver = driver
        self._command_timeout_s = command_timeout_s
        self._env = {**os.environ, **(extra_env or {}), "HELM_DRIVER": driver}

    # ------------------------------------------------------------- command lines

    def upgrade_install_argv(self, release: str, chart: Path, values_files: Sequence[Path],
                             timeout_s: float) -> list[str]:
        argv = [self.helm_bin, "upgrade", release, str(chart), "--install",
                "--wait=watcher", "--timeout", f"{max(1, int(timeout_s))}s",
                "--namespace", self.namespace]
        for path in values_files:
            argv += ["--values", str(path)]
        return argv

    def uninstall_argv(self, release: str) -> list[str]:
        return [self.helm_bin, "uninstall", release, "--namespace", self.namespace,
                "--ignore-not-found", "--timeout", f"{int(self._command_timeout_s)}s"]

    def list_argv(self, prefix: str) -> list[str]:
        return [self.helm_bin, "list", "--namespace", self.namespace, "--output", "json",
                "--filter", f"^{re.escape(prefix)}", "--max", "10000",
                "--deployed", "--failed", "--pending", "--uninstalling"]

    def template_argv(self, release: str, chart: Path, values_files: Sequence[Path],
                      kube_version: str | None = None) -> list[str]:
        argv = [self.helm_bin, "template", release, str(chart), "--namespace", self.namespace]
        if kube_version:
            argv += ["--kube-version", kube_version]
        for path in values_files:
            argv += ["--values", str(path)]
        return argv

    # ------------------------------------------------------------------ commands

    def start(self, argv: Sequence[str]) -> HelmProcess:
        return HelmProcess(argv, self._env)

    def _run(self, argv: Sequence[str], what: str, timeout_s: float | None = None) -> HelmResult:
        call = self.start(argv)
        result = call.wait(timeout_s or self._command_timeout_s)
        if result is None:
            call.kill()
            raise Unavailable(f"helm {what} did not finish in time")
        if not result.ok:
            raise Unavailable(f"helm {what} failed: {short_error(result.stderr)}")
        return result

    def start_upgrade_install(self, release: str, chart: Path, values_files: Sequence[Path],
                              timeout_s: float) -> HelmProcess:
        """Start ``helm upgrade --install --wait``; the caller follows it and may kill it."""
        return self.start(self.upgrade_install_argv(release, chart, values_files, timeout_s))

    def upgrade_install(self, release: str, chart: Path, values_files: Sequence[Path],
                        timeout_s: float) -> None:
        """Install or upgrade ``release`` and wait until its resources are ready."""
        self._run(self.upgrade_install_argv(release, chart, values_files, timeout_s),
                  "upgrade --install", timeout_s + KILL_SLACK_S)

    def uninstall(self, release: str) -> None:
        """Uninstall ``release``; a release that does not exist is not an error."""
        result = self.start(self.uninstall_argv(release)).wait(
            self._command_timeout_s + KILL_SLACK_S)
        if result is None:
            raise Unavailable("helm uninstall did not finish in time")
        if not result.ok and "not found" not in result.stderr:
            raise Unavailable(f"helm uninstall failed: {short_error(result.stderr)}")

    def list_releases(self, prefix: str = "ex-", chart: str | None = None) -> list[str]:
        """Names of the releases of the namespace that start with ``prefix`` (any status);
        with ``chart``, only releases of that chart (``helm list`` shows ``<chart>-<version>``)."""
        result = self._run(self.list_argv(prefix), "list")
        try:
            rows = [(str(row["name"]), str(row.get("chart", "")))
                    for row in json.loads(result.stdout or "[]")]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise RangeError("helm list printed something that is not a release list") from None
        return sorted(name for name, of_chart in rows if name.startswith(prefix)
                      and (chart is None or of_chart.startswith(f"{chart}-")))

    def template(self, release: str, chart: Path, values_files: Sequence[Path],
                 kube_version: str | None = None) -> str:
        """The chart rendered offline (``helm template``), as a multi-document YAML string."""
        return self._run(self.template_argv(release, chart, values_files, kube_version),
                         "template").stdout
