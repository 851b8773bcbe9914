"""TLS in the charts: mutual TLS between the orchestrator and the exercise services, and probes
that still work (kubelet's native gRPC probes cannot speak TLS, so they go to the plaintext
health-only port the servers open with --health-port; tests/integration/test_tls.py shows that
port answers health and nothing else)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer

from leakrange.cli.main import app
from tests.helm.rendering import (
    EXERCISE_BASE,
    EXERCISE_CHART,
    EXERCISE_RELEASE,
    Manifests,
    helm_template,
    pod_spec,
    render,
)

HEALTH_PORT = 50052


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    return pod_spec(workload)["containers"][0]


def _flag(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def _secret_behind(workload: dict[str, Any], path: str) -> str:
    """The Secret whose volume holds the file at ``path`` in the first container."""
    spec = pod_spec(workload)
    mounts = [m for m in _container(workload)["volumeMounts"]
              if path.startswith(m["mountPath"].rstrip("/") + "/")]
    assert len(mounts) == 1, path
    assert mounts[0].get("readOnly") is True
    (volume,) = [v for v in spec["volumes"] if v["name"] == mounts[0]["name"]]
    return volume["secret"]["secretName"]


def _probe_ports(container: dict[str, Any]) -> set[int]:
    return {container[p]["grpc"]["port"]
            for p in ("startupProbe", "livenessProbe", "readinessProbe")}


def _parses(args: list[str]) -> None:
    """The rendered command line is one the real CLI accepts: parsed by its click commands
    (``serve <service>``, every option), not run."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("leakrange", ["serve", "--help"], resilient_parsing=True)
    serve = command.get_command(ctx, args[0])
    service = serve.get_command(ctx, args[1])
    assert service is not None, args[:2]
    service.make_context(args[1], list(args[2:]))  # raises click.UsageError on a bad option


def test_orchestrator_serves_tls_presents_its_certificate_and_probes_plaintext_health(
    control_renders: dict[str, Manifests],
) -> None:
    deployment = control_renders["tls"].named("Deployment", "range-leakrange-orchestrator")
    container = _container(deployment)
    args = container["args"]
    for flag in ("--tls-cert", "--tls-key", "--tls-client-ca"):
        assert _secret_behind(deployment, _flag(args, flag)) == "range-orchestrator-tls"
    assert int(_flag(args, "--health-port")) == HEALTH_PORT
    assert _probe_ports(container) == {HEALTH_PORT}
    env = {e["name"]: e.get("value") for e in container["env"]}
    for name in ("LEAKRANGE_CLIENT_TLS_CA", "LEAKRANGE_CLIENT_TLS_CERT",
                 "LEAKRANGE_CLIENT_TLS_KEY"):
        assert _secret_behind(deployment, env[name]) == "range-orchestrator-tls"
    _parses(args)
    # Without TLS: plaintext, probes on the gRPC port, no certificate anywhere.
    plain = _container(control_renders["defaults"].named(
        "Deployment", "range-leakrange-orchestrator"))
    assert "--tls-cert" not in plain["args"] and "--health-port" not in plain["args"]
    assert _probe_ports(plain) == {50051}


@pytest.mark.parametrize("with_target", [True, False], ids=["target", "no-target"])
def test_the_control_plane_turns_on_mutual_tls_in_every_exercise_pod(
    helm_bin: Path, control_renders: dict[str, Manifests], tmp_path: Path, with_target: bool,
) -> None:
    config = control_renders["tls"].named("ConfigMap", "range-leakrange-orchestrator")
    defaults = tmp_path / "exercise-values.yaml"
    defaults.write_text(config["data"]["exercise-values.yaml"])
    extra = [] if with_target else ["--set", "target.enabled=false"]
    manifests = render(helm_bin, EXERCISE_CHART, [defaults, EXERCISE_BASE], EXERCISE_RELEASE,
                       extra)
    workloads = list(manifests.workloads())
    assert len(workloads) == (2 if with_target else 1)
    for workload in workloads:
        kubernetes_validate.validate(workload, "1.35", strict=True)
        container = _container(workload)
        args = container["args"]
        adversary = workload["metadata"]["labels"]["app.kubernetes.io/component"] == "adversary"
        secret = "range-adversary-tls" if adversary else "range-exercise-tls"
        for flag in ("--tls-cert", "--tls-key", "--tls-client-ca"):
            assert _secret_behind(workload, _flag(args, flag)) == secret
        assert int(_flag(args, "--health-port")) == HEALTH_PORT
        assert _probe_ports(container) == {HEALTH_PORT}
        _parses(args)
    for adversary in manifests.kind("Deployment"):
        if adversary["metadata"]["labels"]["app.kubernetes.io/component"] != "adversary":
            continue
        env = {e["name"]: e.get("value") for e in _container(adversary)["env"]}
        # The adversary verifies the target with the CA and presents its certificate to it.
        for name in ("LEAKRANGE_CLIENT_TLS_CA", "LEAKRANGE_CLIENT_TLS_CERT",
                     "LEAKRANGE_CLIENT_TLS_KEY"):
            assert _secret_behind(adversary, env[name]) == "range-adversary-tls"


def test_exercise_pods_without_tls_probe_the_grpc_port(
    exercise_renders: dict[str, Manifests],
) -> None:
    for workload in exercise_renders["minimal"].workloads():
        container = _container(workload)
        assert "--tls-cert" not in container["args"]
        assert _probe_ports(container) == {50051}
        assert not any(e["name"].startswith("LEAKRANGE_CLIENT_TLS") for e in container["env"])


@pytest.mark.parametrize(
    ("chart_values", "message"),
    [(["--set", "tls.enabled=true"], "tls.secretName is required when tls.enabled is true"),
     (["--set", "tls.enabled=true", "--set", "tls.secretName=s", "--set",
       "tls.adversarySecretName=s"], "tls.adversarySecretName must differ from tls.secretName"),
     (["--set", "tls.enabled=true", "--set", "tls.secretName=s", "--set",
       "tls.adversarySecretName=a", "--set", "tls.healthPort=50051"],
      "tls.healthPort must differ from grpcPort")],
    ids=["no-secret", "shared-with-adversaries", "same-port"],
)
def test_incomplete_tls_values_fail_with_the_key(helm_bin: Path, chart_values: list[str],
                                                 message: str) -> None:
    proc = helm_template(helm_bin, EXERCISE_CHART, [EXERCISE_BASE], EXERCISE_RELEASE,
                         chart_values)
    assert proc.returncode != 0 and message in proc.stderr
