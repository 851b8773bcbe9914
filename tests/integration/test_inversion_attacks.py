"""Inversion attacks through real Attack and Target services on loopback, scored by the range's
scorers: reconstructions of an overfit CNN are recognised well above chance and those of a
noise-trained CNN are not; attribute inference beats its no-model baseline on a memorising
target and not on a control; white-box attacks are refused under black-box; budgets hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

import grpc
import numpy as np
import pytest

from leakrange.artifacts import MEDIA_MODEL
from leakrange.attacks.inversion.latent_search import LatentSearchParams, queries_needed
from leakrange.common.client import open_channel
from leakrange.common.server import ServerOptions
from leakrange.common.tensors import to_proto
from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.datasets import Dataset, Split, load_dataset, make_split
from leakrange.models import TrainRecipe, model_to_bytes, spec_from_name_or_json, train_model
from leakrange.orchestrator.inversion_truth import (
    ReconstructionTruth,
    attribute_truth,
    hidden_columns,
)
from leakrange.scoring import scorer_for
from leakrange.target.policy import AccessPolicy
from leakrange.target.service import TargetSettings, build_target_server
from leakrange.v1 import attack_pb2, attack_pb2_grpc

SECRET = "occupation"
FAST_GMI = {"restarts": 2, "steps": 100, "generator_epochs": 10}
FAST_CLASS = {"restarts": 2, "steps": 150}


@dataclass(frozen=True)
class Target:
    data: Dataset
    split: Split
    ref_uri: str
    spec_json: str


def _train(store, data: Dataset, split: Split, labels: np.ndarray, model: str,
           recipe: TrainRecipe, rows: np.ndarray | None = None) -> Target:
    rows = split.members if rows is None else rows
    spec = spec_from_name_or_json(model, list(data.input_shape), data.num_classes)
    net = train_model(spec, recipe, data.x[rows], labels[rows])
    ref = store.put_bytes(model_to_bytes(net, spec, {"dataset": data.name}), MEDIA_MODEL)
    return Target(replace(data, y=labels), split, ref.uri, spec.model_dump_json())


@pytest.fixture(scope="module")
def digits_targets(range_store) -> dict[str, Target]:
    """A CNN overfit on 300 digits, and one trained on the same images with shuffled labels."""
    data = load_dataset("digits")
    split = make_split(len(data.y), members=300, nonmembers=300, seed=0)
    recipe = TrainRecipe(lr=2e-3, epochs=40, batch_size=32, seed=0)
    noise = data.y.copy()
    noise[split.members] = np.random.default_rng(3).permutation(noise[split.members])
    return {"overfit": _train(range_store, data, split, data.y, "cnn", recipe),
            "noise": _train(range_store, data, split, noise, "cnn", recipe)}


@pytest.fixture(scope="module")
def adult_memorising(range_store) -> dict[str, Target]:
    """MLPs on 200 Adult records with random labels (they can only memorise records), one on
    the audited members and a control on other records."""
    data = load_dataset("adult")
    split = make_split(len(data.y), members=200, nonmembers=200, adversary=1000, seed=0)
    labels = np.random.default_rng(1).integers(0, 2, len(data.y)).astype(np.int64)
    recipe = TrainRecipe(lr=2e-3, epochs=80, batch_size=32, seed=0)
    used = np.concatenate([split.members, split.nonmembers, split.adversary])
    rest = np.setdiff1d(np.arange(len(data.y)), used)
    control_rows = np.random.default_rng(7).choice(rest, size=200, replace=False)
    return {"memorising": _train(range_store, data, split, labels, "mlp-wide", recipe),
            "control": _train(range_store, data, split, labels, "mlp-wide", recipe,
                              control_rows)}


@pytest.fixture
def services(range_store) -> Iterator:
    started = []

    def start(target: Target, policy: AccessPolicy):
        tserver = build_target_server(range_store, TargetSettings(target.ref_uri, policy),
                                      ServerOptions(port=0)).start()
        started.append(tserver)
        return tserver.address

    from leakrange.attacks.service import build_attack_server

    aserver = build_attack_server(range_store, "inversion", ServerOptions(port=0)).start()
    started.append(aserver)
    yield attack_pb2_grpc.AttackStub(open_channel(aserver.address)), start
    for server in started:
        server.stop(grace=0)


def _request(target: Target, address: str, attack: str, params: dict, access: Access,
             audit_rows: np.ndarray, hidden: np.ndarray | None = None) -> attack_pb2.RunRequest:
    data = target.data
    x = data.x[audit_rows].copy()
    request = attack_pb2.RunRequest(
        run_id=f"r-{attack}", attack=attack, params_json=json.dumps(params),
        threat_model=ThreatModel(access=access, knowledge=Knowledge()).to_proto(),
        target=attack_pb2.TargetEndpoint(address=address), seed=0,
        data=attack_pb2.AdversaryData(dataset=data.name, model_spec_json=target.spec_json),
    )
    if hidden is not None:
        x[:, hidden] = 0.0
        request.data.audit.tensors["hidden_columns"].CopyFrom(to_proto(hidden))
    request.data.audit.tensors["x"].CopyFrom(to_proto(x))
    request.data.audit.tensors["y"].CopyFrom(to_proto(data.y[audit_rows]))
    pop = target.split.adversary
    request.data.population.tensors["x"].CopyFrom(to_proto(data.x[pop]))
    request.data.population.tensors["y"].CopyFrom(to_proto(data.y[pop]))
    return request


def _result(stream) -> attack_pb2.AttackResult:
    results = [e.result for e in stream if e.HasField("result")]
    assert len(results) == 1
    return results[0]


def _reconstruction_accuracy(stub, start, target: Target, attack: str, params: dict,
                             range_store) -> float:
    address = start(target, AccessPolicy(output="logits", white_box=True))
    audit = target.split.members[:50]
    result = _result(stub.Run(_request(target, address, attack, params,
                                       Access(white_box=True, output="logits"), audit)))
    truth = ReconstructionTruth.of(load_dataset("digits"), target.split, 0)
    accepted = scorer_for("reconstruction").accept(result, truth, range_store, n_bootstrap=50,
                                                   seed=0)
    return dict(accepted.headline)["eval_accuracy"].value


@pytest.mark.timeout(600)  # trains the module's four targets on first use
@pytest.mark.parametrize(("attack", "params", "floor"),
                         [("gmi", FAST_GMI, 0.5), ("class_inversion", FAST_CLASS, 0.3)])
def test_reconstructions_of_overfit_cnn_beat_chance_noise_model_does_not(
        services, digits_targets, range_store, attack, params, floor):
    stub, start = services
    overfit = _reconstruction_accuracy(stub, start, digits_targets["overfit"], attack, params,
                                       range_store)
    noise = _reconstruction_accuracy(stub, start, digits_targets["noise"], attack, params,
                                     range_store)
    assert overfit >= floor, (attack, overfit)
    assert noise <= 0.3, (attack, noise)
    assert overfit > noise + 0.2


def _attribute_adds(stub, start, target: Target, attack: str, range_store
                    ) -> tuple[float, float]:
    """(what the model adds over the no-model baseline on members, its CI lower bound)."""
    address = start(target, AccessPolicy(output="probabilities"))
    split = target.split
    rows = np.concatenate([split.members, split.nonmembers])
    member = np.concatenate([np.ones(len(split.members), bool),
                             np.zeros(len(split.nonmembers), bool)])
    hidden = hidden_columns(target.data, SECRET)
    result = _result(stub.Run(_request(target, address, attack, {},
                                       Access(output="probabilities"), rows, hidden)))
    truth = attribute_truth(target.data, rows, member, split.adversary, SECRET)
    accepted = scorer_for("attribute").accept(result, truth, range_store, n_bootstrap=200,
                                              seed=0)
    adds = dict(accepted.headline)["model_adds"]
    return adds.value, adds.lower


def test_attribute_inference_beats_baseline_on_memorising_target_not_on_control(
        services, adult_memorising, range_store):
    stub, start = services
    adds, lower = _attribute_adds(stub, start, adult_memorising["memorising"], "attribute_map",
                                  range_store)
    assert lower > 0.0, adds
    control, _ = _attribute_adds(stub, start, adult_memorising["control"], "attribute_map",
                                 range_store)
    assert control <= 0.0, control


def test_white_box_attacks_refused_under_black_box(services, digits_targets):
    stub, start = services
    target = digits_targets["overfit"]
    address = start(target, AccessPolicy(output="probabilities"))
    for attack in ("class_inversion", "gmi"):
        with pytest.raises(grpc.RpcError) as err:
            _result(stub.Run(_request(target, address, attack, {}, Access(output="probabilities"),
                                      target.split.members[:10])))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "white-box" in err.value.details()


def test_latent_search_budget_holds(services, digits_targets):
    stub, start = services
    target = digits_targets["overfit"]
    params = {"classes": [0, 1], "restarts": 1, "steps": 3, "samples": 4,
              "generator_epochs": 2}
    needed = queries_needed(2, LatentSearchParams(**params))
    short = start(target, AccessPolicy(output="probabilities", query_budget=needed - 1))
    access = Access(output="probabilities", query_budget=needed - 1)
    with pytest.raises(grpc.RpcError) as err:
        _result(stub.Run(_request(target, short, "latent_search", params, access,
                                  target.split.members[:10])))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "query_budget" in err.value.details()
    enough = start(target, AccessPolicy(output="probabilities", query_budget=needed))
    result = _result(stub.Run(_request(target, enough, "latent_search", params,
                                       Access(output="probabilities", query_budget=needed),
                                       target.split.members[:10])))
    facts = {m.name: m.value for m in result.metrics}
    assert facts["queries"] == needed
    assert list(result.reconstructions.shape) == [2, 1, 8, 8]


def test_attribute_attacks_need_a_hidden_attribute(services, adult_memorising):
    stub, start = services
    target = adult_memorising["control"]
    address = start(target, AccessPolicy(output="probabilities"))
    with pytest.raises(grpc.RpcError) as err:
        _result(stub.Run(_request(target, address, "csmia", {}, Access(output="probabilities"),
                                  target.split.members[:10])))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "hidden_columns" in err.value.details()
