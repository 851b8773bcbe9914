"""Text attacks through the real Attack service against real Target services on loopback.

The target is a tiny transformer overfit on 160 health tweets with four canaries (planted 0,
1, 10 and 100 times); the control was trained on other tweets of the same corpus, so the
audited "members" are as unseen to it as the non-members. Membership attacks must clearly
beat chance on the target and sit at chance (the AUC's 95 % interval holds 0.5) on the
control; the 100-times canary must be exposed and the never-planted one not.
"""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.common.client import open_channel
from leakrange.common.server import ServerOptions
from leakrange.common.tensors import from_proto
from leakrange.metrics import compute_mia_metrics
from leakrange.scoring.exposure import canary_findings
from leakrange.scoring.extraction import extraction_findings
from leakrange.target.policy import AccessPolicy
from leakrange.v1 import attack_pb2_grpc
from tests.fixtures.text import audit_labels, result_of, text_run_request, text_view

pytestmark = pytest.mark.usefixtures("torch_one_thread")


MEMBERSHIP_ATTACKS = [("lm_loss", {}, "logits"), ("zlib_ratio", {}, "logits"),
                      ("min_k", {"k_percent": 20}, "logits"),
                      ("min_k_plus_plus", {"k_percent": 20}, "topk"),
                      ("lm_reference", {"epochs": 3}, "logits")]


@pytest.fixture(scope="module")
def mia_stub(range_store):
    from leakrange.attacks.service import build_attack_server

    server = build_attack_server(range_store, "mia", ServerOptions(port=0)).start()
    yield attack_pb2_grpc.AttackStub(open_channel(server.address))
    server.stop(grace=0)


@pytest.fixture(scope="module")
def served(text_targets):
    """logits and topk:64 servers for the target and the control."""
    from leakrange.target.service import TargetSettings, build_target_server

    servers = {}
    for name, model in (("target", text_targets.target), ("control", text_targets.control)):
        for output in ("logits", "topk:64"):
            settings = TargetSettings(model.model_ref.uri, AccessPolicy.parse(output))
            servers[name, output] = build_target_server(
                text_targets.store, settings, ServerOptions(port=0)).start()
    yield {k: s.address for k, s in servers.items()}
    for s in servers.values():
        s.stop(grace=0)


def _auc(stub, view, address, attack, params, output):
    result = result_of(stub.Run(text_run_request(view, address, attack, params,
                                                 output="topk" if output == "topk" else output,
                                                 top_k=64)))
    scores = from_proto(result.scores)
    return compute_mia_metrics(scores, audit_labels(view), n_bootstrap=200, seed=0).auc


@pytest.mark.parametrize(("attack", "params", "output"), MEMBERSHIP_ATTACKS)
def test_membership_attacks_beat_chance_on_the_overfit_lm_only(
        mia_stub, served, text_targets, attack, params, output):
    key = "topk:64" if output == "topk" else "logits"
    view = text_view(text_targets.target, data_fraction=0.5)
    auc = _auc(mia_stub, view, served["target", key], attack, params, output)
    assert auc.value > 0.75 and auc.lower > 0.6, (attack, auc)
    control_view = text_view(text_targets.control, data_fraction=0.5)
    control = _auc(mia_stub, control_view, served["control", key], attack, params, output)
    assert control.lower < 0.5 < control.upper, (attack, control)


def test_canary_exposure_planted_100_times_is_high_and_never_planted_is_chance(
        mia_stub, served, text_targets):
    view = text_view(text_targets.target)
    result = result_of(mia_stub.Run(text_run_request(view, served["target", "logits"],
                                                     "canary_exposure")))
    truth = view.truth_for("exposure")
    rows = {r["insertions"]: r for r in canary_findings(
        from_proto(result.scores), truth.insertions, truth.space_size)}
    assert rows[100]["rank"] == 1 and rows[100]["extrapolated_bits"] > 10
    assert rows[0]["sampled_bits"] < 4  # chance: ~1 bit on average, 4 bits = top 6 %
    assert rows[100]["extrapolated_bits"] > rows[0]["extrapolated_bits"] + 6


def test_extraction_recovers_the_canary_and_training_text(mia_stub, served, text_targets):
    view = text_view(text_targets.target)
    request = text_run_request(view, served["target", "logits"], "extraction",
                               {"samples": 60, "guesses": 30, "max_new_tokens": 30})
    result = result_of(mia_stub.Run(request))
    gens = from_proto(result.outputs["generations"])
    guesses = from_proto(result.outputs["canary_guesses"])
    findings = extraction_findings(gens, guesses, view.truth_for("extraction"))
    recovered = {c["insertions"]: c["recovered"] for c in findings["canaries"]}
    assert recovered[100] and not recovered[0]
    assert findings["extracted"] >= 5 and findings["documents_reproduced"] >= 3


def test_extraction_on_the_control_reproduces_no_training_text(mia_stub, served, text_targets):
    view = text_view(text_targets.control)
    request = text_run_request(view, served["control", "logits"], "extraction",
                               {"samples": 60, "guesses": 30, "max_new_tokens": 30})
    gens = from_proto(result_of(mia_stub.Run(request)).outputs["generations"])
    findings = extraction_findings(gens, None, view.truth_for("extraction"))
    assert findings["extracted_rate"]["value"] < 0.1


def test_min_k_plus_plus_refuses_scalar_log_probs_before_any_query(
        mia_stub, served, text_targets):
    import grpc

    view = text_view(text_targets.target)
    with pytest.raises(grpc.RpcError) as err:
        result_of(mia_stub.Run(text_run_request(view, served["target", "logits"],
                                                "min_k_plus_plus")))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "threat_model.access.output" in err.value.details()
    assert np.isfinite(1.0)
