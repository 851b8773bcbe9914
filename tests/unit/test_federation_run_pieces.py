"""The small pieces of the Kubernetes range's federation run: the run Job's entry point (with a
stand-in ``flwr`` that records what it was given: Flower's CLI needs a SuperLink), the node
names in failure reasons, and the release values."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from leakrange.federation import submit_run
from leakrange.orchestrator.kubernetes.federation_pods import (
    federation_death,
    node_name,
    view_federation,
)
from leakrange.orchestrator.kubernetes.federation_run import federation_values

RELEASE = "ex-fed-1"


def _fake_flwr(tmp_path: Path, code: int) -> Path:
    script = tmp_path / "flwr"
    script.write_text("#!/bin/sh\n"
                      f'printf "%s\\n" "$@" > "{tmp_path}/argv"\n'
                      f'cat "$FLWR_HOME/config.toml" > "{tmp_path}/config"\n'
                      f'cp "$2/pyproject.toml" "{tmp_path}/pyproject"\n'
                      f"exit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.parametrize("code", [0, 3])
def test_the_run_job_submits_the_range_app_to_the_superlink(tmp_path: Path, code: int) -> None:
    flwr = _fake_flwr(tmp_path, code)
    rc = submit_run.main(["--superlink", "ex-fed-1-superlink:9092", "--store",
                          "s3://leakrange?endpoint=minio:9000&secure=false",
                          "--prefix", "federation/fed-1/run", "--flwr", str(flwr)])
    assert rc == code  # the Job completes or fails with flwr run
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[0] == "run" and argv[2:4] == ["range", "--stream"]
    assert argv[argv.index("--run-config") + 1] == (
        "store='s3://leakrange?endpoint=minio:9000&secure=false' "
        "store-prefix='federation/fed-1/run'")
    assert 'address = "ex-fed-1-superlink:9092"' in (tmp_path / "config").read_text()
    pyproject = (tmp_path / "pyproject").read_text()
    assert 'serverapp = "range_server:app"' in pyproject and 'store-prefix = ""' in pyproject


@pytest.mark.parametrize("prefix", ["a'b", "a\\b", ""])
def test_the_run_job_refuses_a_run_config_it_cannot_quote(tmp_path: Path, prefix: str,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    rc = submit_run.main(["--superlink", "s:1", "--store", "s3://b", "--prefix", prefix,
                          "--flwr", str(_fake_flwr(tmp_path, 0))])
    assert rc == 2 and "--prefix" in capsys.readouterr().err
    assert not (tmp_path / "argv").exists()


def _pod(component: str, index: int | None = None, **status: object) -> dict[str, object]:
    labels = {"app.kubernetes.io/component": component, "app.kubernetes.io/instance": RELEASE}
    if index is not None:
        labels["apps.kubernetes.io/pod-index"] = str(index)
    return {"metadata": {"name": f"{component}-{index}", "labels": labels}, "status": status}


READY = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}


def test_nodes_are_named_by_their_partition() -> None:
    from datetime import UTC, datetime

    pods = [_pod("superlink", **READY), _pod("supernode", 0, **READY), _pod("supernode", 1)]
    assert [node_name(p) for p in pods] == ["superlink", "supernode 0", "supernode 1"]
    assert node_name(_pod("adversary")) is None
    view = view_federation(pods, RELEASE, 2, datetime.now(UTC))
    assert not view.ready and view.waiting == ("supernode 1",)
    dead = _pod("supernode", 1, phase="Running", containerStatuses=[
        {"name": "supernode", "state": {"terminated": {"exitCode": 1}}}])
    assert federation_death([*pods[:2], dead], RELEASE, 2) == "supernode 1 terminated (exit code 1)"
    assert federation_death(pods[:2], RELEASE, 2) == "the pod of supernode 1 is gone"
    other = _pod("supernode", 1, **READY)
    other["metadata"]["labels"]["app.kubernetes.io/instance"] = "ex-other"  # type: ignore[index]
    assert federation_death([*pods[:2], other], RELEASE, 2) == "the pod of supernode 1 is gone"


def test_release_values_of_a_run() -> None:
    values = federation_values("fed-1", 3, "tokens", image="registry:5000/lr/federation:1.2",
                               run_name="r1a2b3c", run_deadline_s=90.5)
    assert values["adversaries"] == [] and values["target"]["enabled"] is False
    assert values["federation"] == {
        "enabled": True, "clients": 3, "partitionsPrefix": "federation/fed-1/partitions",
        "observationPrefix": "federation/fed-1/run",
        "image": {"repository": "registry:5000/lr/federation", "tag": "1.2"},
        "run": {"name": "r1a2b3c", "activeDeadlineSeconds": 90}}
    untagged = federation_values("fed-1", 2, "tokens", image="registry:5000/lr/federation")
    assert untagged["federation"]["image"] == {"repository": "registry:5000/lr/federation",
                                               "tag": ""}
    assert json.dumps(values)  # JSON for helm (no secrets in it)
    assert "tokens" not in json.dumps(values["federation"])
