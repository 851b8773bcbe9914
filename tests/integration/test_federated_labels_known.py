"""``threat_model.knowledge.labels_known``: the range hands a server adversary the true labels
of each client batch it observes, and the attacks use them instead of recovering labels.

Without the grant no label tensor is in the adversary's view (checked on the serialised
``AdversaryData`` the attack service receives). With it the view carries the partitions'
labels, and the attacks run through the real Attack service with label recovery replaced by a
function that fails the attack: the runs still succeed, say the labels were given (result
metric ``labels_given``), and return exactly the granted labels. The same replacement makes the
attack fail without the grant, so the check can fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import import_module

import grpc
import numpy as np
import pytest

from leakrange.common.attack_info import RECORD_RECONSTRUCTION
from leakrange.common.tensors import from_proto
from leakrange.common.threat_model import Knowledge, ThreatModel
from leakrange.scoring.record_reconstruction import RecordReconstructionScorer
from tests.fixtures.federated import Exercise, run_federated, simulated_run

GRANTED = ThreatModel(knowledge=Knowledge(labels_known=True))
FAST = {"iterations": 30, "restarts": 1}


@pytest.fixture(scope="module")
def fedsgd_pairs():
    """FedSGD, two records per client: label recovery would have a batch to count."""
    return simulated_run(clients=2, records_per_client=2, batch_size=2, rounds=1)


@pytest.fixture
def no_label_recovery(monkeypatch):
    """Label recovery fails the attack (the Attack service runs in this process)."""
    def refuse(*_: object, **__: object) -> None:
        raise RuntimeError("label recovery ran")

    # the modules by name: the package exports functions of the same names (dlg, ...)
    for module, name in (("dlg", "batch_labels"), ("inverting_gradients", "batch_labels"),
                         ("fedavg_inversion", "fedavg_batch_labels")):
        monkeypatch.setattr(import_module(f"leakrange.fl_attacks.{module}"), name, refuse)


def _metrics(result) -> dict[str, float]:
    return {m.name: m.value for m in result.metrics}


def test_without_the_grant_the_view_has_no_labels(fedsgd_pairs) -> None:
    view = fedsgd_pairs.adversary_view(Exercise(), None)  # type: ignore[arg-type]
    assert not [n for n in view.data.audit.tensors if n.startswith("fl.labels")]
    assert b"fl.labels" not in view.data.SerializeToString()
    assert view.truth_for(RECORD_RECONSTRUCTION).setting["labels_known"] is False


def test_with_the_grant_the_view_has_each_observed_batchs_labels(fedsgd_pairs) -> None:
    view = fedsgd_pairs.adversary_view(Exercise(GRANTED), None)  # type: ignore[arg-type]
    names = sorted(n for n in view.data.audit.tensors if n.startswith("fl.labels"))
    assert names == ["fl.labels.r1.c0", "fl.labels.r1.c1"]
    for k, rows in enumerate(fedsgd_pairs.partitions):
        granted = from_proto(view.data.audit.tensors[f"fl.labels.r1.c{k}"])
        assert granted.dtype == np.int64
        assert granted.tolist() == sorted(fedsgd_pairs.data.y[rows].tolist())
    assert view.truth_for(RECORD_RECONSTRUCTION).setting["labels_known"] is True


@pytest.mark.parametrize("attack", ["idlg", "dlg", "inverting_gradients"])
def test_granted_labels_replace_label_recovery(federated_attack_stub, fedsgd_pairs,
                                               no_label_recovery, attack: str) -> None:
    out = run_federated(federated_attack_stub, fedsgd_pairs, attack, FAST,
                        threat_model=GRANTED)
    assert _metrics(out.result)["labels_given"] == 2.0  # both updates, no recovery run
    labels = from_proto(out.result.reconstructed_labels)
    clients = from_proto(out.result.outputs["client"])
    for k, rows in enumerate(fedsgd_pairs.partitions):
        assert sorted(labels[clients == k].tolist()) == sorted(fedsgd_pairs.data.y[rows].tolist())


def test_without_the_grant_the_attack_recovers_labels(federated_attack_stub, fedsgd_pairs,
                                                      no_label_recovery) -> None:
    """Control for the test above: the replaced recovery does run when labels are not given."""
    with pytest.raises(grpc.RpcError) as err:
        run_federated(federated_attack_stub, fedsgd_pairs, "idlg", FAST)
    assert err.value.code() == grpc.StatusCode.INTERNAL


def test_fedavg_inversion_uses_granted_labels(federated_attack_stub, no_label_recovery) -> None:
    run = simulated_run(clients=2, records_per_client=2, batch_size=1, rounds=1)  # 2 steps
    out = run_federated(federated_attack_stub, run, "fedavg_inversion",
                        {**FAST, "clients": [0]}, threat_model=GRANTED)
    assert _metrics(out.result)["labels_given"] == 1.0
    labels = from_proto(out.result.reconstructed_labels)
    assert sorted(labels.tolist()) == sorted(run.data.y[run.partitions[0]].tolist())


def test_report_states_the_labels_were_known(federated_attack_stub, fedsgd_pairs,
                                             range_store) -> None:
    from leakrange.report import build_report
    from leakrange.report.html import render_html
    from leakrange.scoring import AttackOutcome

    out = run_federated(federated_attack_stub, fedsgd_pairs, "idlg", FAST,
                        threat_model=GRANTED)
    truth = out.view.truth_for(RECORD_RECONSTRUCTION)
    scorer = RecordReconstructionScorer()
    accepted = scorer.accept(out.result, truth, range_store, n_bootstrap=20, seed=0)
    outcome = AttackOutcome(family="federated", attack="idlg", result_kind=RECORD_RECONSTRUCTION,
                            **scorer.evidence(range_store, accepted.artifact, truth))
    now = datetime.now(UTC)
    report = build_report(exercise_id="ex", name="fl", created=now, finished=now,
                          threat_model=GRANTED, target=fedsgd_pairs.report_info(out.view),
                          outcomes=[outcome], n_bootstrap=20, seed=0)
    assert "labels known to the attacker" in report.overall.summary
    assert "labels right" not in report.overall.summary
    assert "given the true labels" in report.threat_model.description
    html = " ".join(render_html(report).split())
    assert "clients attacked 0, 1; labels known to the attacker" in html
    assert "given (labels known to the attacker)" in html


def test_robbing_the_fed_takes_granted_labels(federated_attack_stub, range_store) -> None:
    run = simulated_run(clients=2, records_per_client=4, batch_size=4, rounds=1, model="cnn",
                        adversary={"role": "malicious_server", "bins": 64})
    out = run_federated(federated_attack_stub, run, "robbing_the_fed", threat_model=GRANTED)
    labels = from_proto(out.result.reconstructed_labels)
    clients = from_proto(out.result.outputs["client"])
    given = _metrics(out.result)["labels_given"]
    for k, rows in enumerate(run.partitions):
        if (clients == k).sum() == len(rows):  # every record had a bin of its own
            assert labels[clients == k].tolist() == sorted(run.data.y[rows].tolist())
    assert given >= 1 and given == sum(
        (clients == k).sum() == len(rows) for k, rows in enumerate(run.partitions))
