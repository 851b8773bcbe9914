"""Membership-inference attacks through real Attack and Target services on loopback."""

from __future__ import annotations

import json
import threading

import grpc
import numpy as np
import pytest
from sklearn.metrics import roc_curve

from leakrange.metrics import compute_mia_metrics
from leakrange.target.policy import AccessPolicy
from leakrange.v1 import attack_pb2
from tests.fixtures.attacks import collect, make_audit, run_request

N_AUDIT = 250  # members and as many non-members
FAST = {"loss": {}, "population": {}, "label_only": {},
        "lira": {"reference_models": 8, "train_size": 250},
        "rmia": {"reference_models": 4, "train_size": 250},
        "shadow": {"reference_models": 4}}


def _tpr_at(scores: np.ndarray, member: np.ndarray, fpr_max: float) -> float:
    fpr, tpr, _ = roc_curve(member, scores)
    return float(tpr[fpr <= fpr_max].max())


@pytest.fixture(scope="module")
def overfit_results(request):
    """Every attack against the overfit target (module-scoped: trained once)."""
    adult_target = request.getfixturevalue("adult_target")
    return _run_all(request, adult_target)


def _run_all(request, target) -> dict:
    from leakrange.attacks.service import build_attack_server
    from leakrange.common.client import open_channel
    from leakrange.common.server import ServerOptions
    from leakrange.target.service import TargetSettings, build_target_server
    from leakrange.v1 import attack_pb2_grpc

    store = target.store
    adult = request.getfixturevalue("adult_target")
    tserver = build_target_server(store, TargetSettings(target.ref.uri, AccessPolicy()),
                                  ServerOptions(port=0)).start()
    aserver = build_attack_server(store, "mia", ServerOptions(port=0)).start()
    stub = attack_pb2_grpc.AttackStub(open_channel(aserver.address))
    audit = make_audit(adult, N_AUDIT)
    out = {}
    try:
        for attack, params in FAST.items():
            res = collect(stub.Run(run_request(adult, audit, tserver.address, attack, params)))
            out[attack] = (res, audit.is_member)
    finally:
        aserver.stop(0)
        tserver.stop(0)
    return out


def test_list_attacks_returns_json_schemas(attack_server):
    infos = attack_server.ListAttacks(attack_pb2.ListAttacksRequest()).attacks
    assert {i.name for i in infos} == {"loss", "population", "shadow", "lira", "rmia",
                                       "label_only", "lm_loss", "zlib_ratio", "min_k",
                                       "min_k_plus_plus", "lm_reference", "canary_exposure",
                                       "extraction"}
    for info in infos:
        schema = json.loads(info.params_schema_json)
        assert schema["type"] == "object"
        assert schema.get("additionalProperties") is False
        assert info.paper and info.family == attack_pb2.FAMILY_MIA
    lira = next(i for i in infos if i.name == "lira")
    assert "reference_models" in json.loads(lira.params_schema_json)["properties"]
    assert lira.uses_reference_models


def test_every_attack_is_oriented_higher_means_member(overfit_results):
    for attack, (res, member) in overfit_results.items():
        m = compute_mia_metrics(res.scores, member, n_bootstrap=100)
        assert m.auc.value > 0.55, attack
        assert res.scores.shape == member.shape


def test_lira_and_rmia_beat_loss_and_chance(overfit_results):
    loss_scores, member = overfit_results["loss"]
    loss_tpr = _tpr_at(loss_scores.scores, member, 0.05)
    for attack in ("lira", "rmia"):
        res, _ = overfit_results[attack]
        m = compute_mia_metrics(res.scores, member, n_bootstrap=200)
        assert m.auc.ci_low > 0.55, attack  # well above chance
        assert m.auc.value > compute_mia_metrics(loss_scores.scores, member).auc.value
        assert _tpr_at(res.scores, member, 0.05) > loss_tpr + 0.05, attack


def test_control_target_is_at_chance(request, control_target):
    """A target trained on none of the audited "members": every AUC CI contains 0.5.

    Six attacks are checked at once, so each CI is at 99 % (Bonferroni: family-wise ~95 %).
    """
    results = _run_all(request, control_target)
    for attack, (res, member) in results.items():
        m = compute_mia_metrics(res.scores, member, n_bootstrap=400, seed=1, confidence=0.99)
        assert m.auc.ci_low <= 0.5 <= m.auc.ci_high, (attack, m.auc)


def test_reference_cache_hit_and_miss(adult_target, serve_target, attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 60)
    params = {"reference_models": 2, "epochs": 2}
    first = collect(attack_server.Run(run_request(adult_target, audit, server.address, "rmia",
                                                  params, seed=11)))
    again = collect(attack_server.Run(run_request(adult_target, audit, server.address, "rmia",
                                                  params, seed=11, run_id="r2")))
    other = collect(attack_server.Run(run_request(adult_target, audit, server.address, "rmia",
                                                  params, seed=12, run_id="r3")))
    assert first.facts["reference_cache_hit"] == 0.0
    assert again.facts["reference_cache_hit"] == 1.0
    np.testing.assert_array_equal(first.scores, again.scores)
    assert other.facts["reference_cache_hit"] == 0.0


def test_cancel_stops_reference_training(adult_target, serve_target, attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 100)
    request = run_request(adult_target, audit, server.address, "lira",
                          {"reference_models": 64, "epochs": 500, "strategy": "sequential"},
                          run_id="cancel-me")
    stream = attack_server.Run(request)
    first = next(stream)  # the run has started
    assert first.HasField("progress")
    assert attack_server.Cancel(attack_pb2.CancelRunRequest(run_id="cancel-me")).cancelled
    # 64 references x 500 epochs would take hours: ending CANCELLED (within the test's
    # timeout) shows the training loop itself stopped. No wall-clock assertion here.
    with pytest.raises(grpc.RpcError) as err:
        for _ in stream:
            pass
    assert err.value.code() == grpc.StatusCode.CANCELLED
    assert not attack_server.Cancel(attack_pb2.CancelRunRequest(run_id="cancel-me")).cancelled


@pytest.mark.parametrize(("attack", "params", "field"), [
    ("nope", {}, "attack"),
    ("lira", {"reference_model": 4}, "params.reference_model"),
    ("lira", {"reference_models": 0}, "params.reference_models"),
    ("lira", {"online": True, "reference_models": 1}, "params"),
    ("rmia", {"offline_a": 2.0}, "params.offline_a"),
    ("lira", {"augmentations": 3}, "params.augmentations"),
])
def test_bad_attack_or_params_are_invalid_argument(adult_target, serve_target, attack_server,
                                                   attack, params, field):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 20)
    with pytest.raises(grpc.RpcError) as err:
        list(attack_server.Run(run_request(adult_target, audit, server.address, attack, params)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(field), err.value.details()


def test_threat_model_mismatch_is_failed_precondition(adult_target, serve_target,
                                                      attack_server):
    label_server = serve_target(adult_target.store, adult_target.ref, AccessPolicy("label"))
    audit = make_audit(adult_target, 20)
    # The request admits the label-only threat model: refused before any work.
    with pytest.raises(grpc.RpcError) as err:
        list(attack_server.Run(run_request(adult_target, audit, label_server.address, "lira",
                                           {"reference_models": 2}, output="label")))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.details().startswith("threat_model.access.output")
    # The request claims probabilities but the target only gives labels: still refused.
    with pytest.raises(grpc.RpcError) as err:
        list(attack_server.Run(run_request(adult_target, audit, label_server.address, "loss")))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_label_only_respects_the_query_budget(adult_target, serve_target, attack_server):
    audit = make_audit(adult_target, 50)  # 100 records
    server = serve_target(adult_target.store, adult_target.ref,
                          AccessPolicy("label", query_budget=450), tokens={"tok": "adv"})
    res = collect(attack_server.Run(run_request(
        adult_target, audit, server.address, "label_only", {"perturbations": 12},
        output="label", token="tok")))
    assert res.facts["perturbations"] == 3.0  # (450 // 100) - 1
    assert res.facts["queries"] <= 450
    m = compute_mia_metrics(res.scores, audit.is_member, n_bootstrap=50)
    assert m.n_members == 50
    tight = serve_target(adult_target.store, adult_target.ref,
                         AccessPolicy("label", query_budget=150), tokens={"tok": "adv"})
    with pytest.raises(grpc.RpcError) as err:
        list(attack_server.Run(run_request(adult_target, audit, tight.address, "label_only",
                                           output="label", token="tok")))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "query_budget" in err.value.details()


def test_target_disappearing_is_unavailable_and_cache_survives(adult_target, serve_target,
                                                               attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 40)
    request = run_request(adult_target, audit, server.address, "lira",
                          {"reference_models": 2, "epochs": 3}, seed=99)
    stream = attack_server.Run(request)
    for event in stream:  # stop the target once reference training has finished
        if event.HasField("progress") and event.progress.phase == "reference_training" \
                and event.progress.done == event.progress.total and event.progress.done:
            server.stop(grace=0)
            break
    with pytest.raises(grpc.RpcError) as err:
        for _ in stream:
            pass
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    cached = [n for n in adult_target.store.list_manifests("cache/mia/references/")]
    assert cached  # finished reference outputs stay in the store


def test_two_runs_in_one_process_do_not_interfere(adult_target, serve_target, attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 50)
    results: dict[str, np.ndarray] = {}

    def run(run_id: str, seed: int) -> None:
        req = run_request(adult_target, audit, server.address, "population",
                          {"population_queries": 200}, seed=seed, run_id=run_id)
        results[run_id] = collect(attack_server.Run(req)).scores

    threads = [threading.Thread(target=run, args=(f"p{i}", i % 2)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(results["p0"], results["p2"])
    np.testing.assert_array_equal(results["p1"], results["p3"])
    assert not np.array_equal(results["p0"], results["p1"])


def test_online_rmia_trains_every_audit_record_into_half_of_the_references(
        adult_target, serve_target, attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 40)
    res = collect(attack_server.Run(run_request(
        adult_target, audit, server.address, "rmia",
        {"reference_models": 4, "epochs": 2, "online": True, "train_size": 100,
         "z_samples": 20}, run_id="rmia-online-half")))
    assert res.facts["reference_in_fraction"] == 0.5
    # Pool cut to about twice train_size (80 audit + 20 z + 100 population rows).
    assert res.facts["reference_pool_records"] == 200.0
    assert res.facts["reference_train_records"] == 100.0


def test_offline_references_that_shrink_say_so(adult_target, serve_target, attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 20)
    res = collect(attack_server.Run(run_request(
        adult_target, audit, server.address, "rmia",
        {"reference_models": 2, "epochs": 1, "train_size": 2500}, run_id="rmia-shrunk")))
    # 1,000 population rows, 500 held out as z-samples: at most 500 per model, not 2,500.
    assert res.facts["reference_train_size_requested"] == 2500.0
    assert res.facts["reference_train_records"] <= 500.0
    assert res.facts["reference_train_shortfall"] >= 2000.0
    logs = [e.log.message for e in res.events if e.HasField("log")]
    assert any("not the requested 2500" in m for m in logs), logs


def test_online_lira_needs_no_population_when_the_audit_fills_the_pool(
        adult_target, serve_target, attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 50)
    request = run_request(adult_target, audit, server.address, "lira",
                          {"reference_models": 2, "epochs": 1, "train_size": 50},
                          run_id="lira-no-pop")
    request.data.ClearField("population")
    res = collect(attack_server.Run(request))
    assert res.scores.shape == (100,)
    assert res.facts["reference_pool_records"] == 100.0  # the audit records alone
    assert res.facts["reference_in_fraction"] == 0.5


def test_run_uses_the_cores_given_and_says_how_many(adult_target, serve_target):
    from leakrange.attacks.service import build_attack_server
    from leakrange.common.client import open_channel
    from leakrange.common.server import ServerOptions
    from leakrange.v1 import attack_pb2_grpc

    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 30)
    for cores in (1, 2):
        aserver = build_attack_server(adult_target.store, "mia", ServerOptions(port=0),
                                      cores=cores).start()
        try:
            stub = attack_pb2_grpc.AttackStub(open_channel(aserver.address))
            res = collect(stub.Run(run_request(
                adult_target, audit, server.address, "lira",
                {"reference_models": 2, "epochs": 1}, seed=40 + cores, run_id=f"c{cores}")))
        finally:
            aserver.stop(0)
        assert res.facts["reference_workers"] == float(cores)
        assert res.facts["threads"] >= 1.0


def test_reference_shards_resume_after_a_lost_shard(adult_target, serve_target, attack_server):
    server = serve_target(adult_target.store, adult_target.ref)
    audit = make_audit(adult_target, 30)
    params = {"reference_models": 66, "epochs": 1, "online": False, "train_size": 100}
    first = collect(attack_server.Run(run_request(adult_target, audit, server.address, "lira",
                                                  params, seed=77, run_id="s1")))
    store = adult_target.store
    shards = sorted(n for n in store.list_manifests("cache/mia/references/") if "shard-" in n)
    tail = [n for n in shards if n.endswith("shard-00064-00066")]
    assert tail and any(n.endswith("shard-00000-00064") for n in shards)
    store.delete_manifest(tail[-1])
    again = collect(attack_server.Run(run_request(adult_target, audit, server.address, "lira",
                                                  params, seed=77, run_id="s2")))
    assert first.facts["reference_cache_hit"] == 0.0
    assert again.facts["reference_cache_hit"] == 0.0
    progress = [e.progress for e in again.events if e.HasField("progress")
                and e.progress.phase == "reference_training"]
    assert progress[0].done == 0 and min(p.done for p in progress[1:]) >= 64  # 64 were kept
    np.testing.assert_allclose(again.scores, first.scores)
