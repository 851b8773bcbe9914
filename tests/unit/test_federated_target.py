"""The federated target's spec, partitions and role checks (no federation runs here)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from leakrange.federation.partitions import dirichlet_partitions, iid_partitions
from leakrange.orchestrator.spec_loading import load_spec as parse_spec
from leakrange.orchestrator.target_kinds.federated import FederatedSpec


def _labels(n: int = 2000, classes: int = 10) -> np.ndarray:
    return np.arange(n) % classes


def test_iid_partitions_are_disjoint_and_full() -> None:
    parts = iid_partitions(np.arange(1000), 4, 50, np.random.default_rng(0))
    assert [len(p) for p in parts] == [50] * 4
    assert len(np.unique(np.concatenate(parts))) == 200


def test_small_dirichlet_alpha_skews_labels_and_large_alpha_does_not() -> None:
    y = _labels()
    rows = np.arange(len(y))

    def classes_per_client(alpha: float) -> float:
        parts = dirichlet_partitions(rows, y, 5, 60, alpha, np.random.default_rng(1))
        assert len(np.unique(np.concatenate(parts))) == 300  # disjoint, every client full
        return float(np.mean([len(np.unique(y[p])) for p in parts]))

    assert classes_per_client(0.05) < 4 < classes_per_client(100.0)


def test_too_many_records_are_refused_by_field() -> None:
    with pytest.raises(Exception, match="records_per_client"):
        iid_partitions(np.arange(10), 3, 4, np.random.default_rng(0))


@pytest.mark.parametrize("partition",
                         ["iid", "dirichlet(0.5)", "dirichlet( 2 )", "dirichlet(1e-1)"])
def test_partition_forms(partition: str) -> None:
    spec = FederatedSpec(dataset="digits", records_per_client=4, partition=partition)
    assert (spec.dirichlet_alpha is None) == (partition == "iid")


@pytest.mark.parametrize("bad", [{"partition": "dirichlet(0)"}, {"partition": "shards"},
                                 {"adversary": {"role": "client", "client": 2}},
                                 {"adversary": {"role": "honest_server", "rounds": [3]}},
                                 {"framework": "tff"}])
def test_bad_specs_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        FederatedSpec.model_validate({"dataset": "digits", "records_per_client": 4, **bad})


def test_fedsgd_is_one_local_step() -> None:
    assert FederatedSpec(dataset="digits", records_per_client=4, batch_size=4).local_steps == 1
    assert FederatedSpec(dataset="digits", records_per_client=4, batch_size=2,
                         local_epochs=2).local_steps == 4


def _exercise(role: str, attack: str, **target) -> str:
    return yaml.safe_dump({"name": "fl", "target": {"federated": {
        "dataset": "digits", "records_per_client": 4, "adversary": {"role": role}, **target}},
        "adversaries": [{"family": "federated", "attacks": [{"name": attack}]}]})


@pytest.mark.parametrize(("role", "attack", "problem"), [
    ("client", "idlg", "a client adversary sees no other client's update"),
    ("honest_server", "client_loss", "a server adversary holds no records to score"),
])
def test_role_and_attack_must_fit(role: str, attack: str, problem: str) -> None:
    with pytest.raises(Exception, match=problem):
        parse_spec(_exercise(role, attack, model="cnn"))


def test_fitting_roles_validate() -> None:
    parse_spec(_exercise("client", "client_trajectory", rounds=2))
    parse_spec(_exercise("malicious_server", "robbing_the_fed", model="mlp"))
    # the imprint block goes in front of any model (it used to need an mlp's first layer)
    parse_spec(_exercise("malicious_server", "robbing_the_fed", model="cnn"))
    parse_spec(_exercise("honest_server", "inverting_gradients"))


def _with_labels_known(doc: str) -> str:
    spec = yaml.safe_load(doc)
    spec["threat_model"] = {"knowledge": {"labels_known": True}}
    return yaml.safe_dump(spec)


def test_labels_known_is_granted_to_a_server_only() -> None:
    from leakrange.orchestrator.spec_loading import SpecError

    spec = parse_spec(_with_labels_known(_exercise("honest_server", "idlg")))
    assert spec.threat_model.knowledge.labels_known
    parse_spec(_with_labels_known(_exercise("malicious_server", "robbing_the_fed")))
    with pytest.raises(SpecError) as err:
        parse_spec(_with_labels_known(_exercise("client", "client_loss", rounds=2)))
    assert [p for p, _ in err.value.problems] == ["threat_model.knowledge.labels_known"]
    assert "client adversary" in str(err.value)


def test_labels_known_is_refused_outside_a_federation() -> None:
    from leakrange.orchestrator.spec_loading import SpecError

    doc = yaml.safe_dump({"name": "mia", "target": {"train": {
        "dataset": "digits", "members": 100, "model": "mlp-small"}},
        "threat_model": {"knowledge": {"labels_known": True}},
        "adversaries": [{"family": "mia", "attacks": [{"name": "loss"}]}]})
    with pytest.raises(SpecError) as err:
        parse_spec(doc)
    assert err.value.problems == [("threat_model.knowledge.labels_known",
                                   "only a federated target's server adversary can be given "
                                   "labels (this target is train)")]
