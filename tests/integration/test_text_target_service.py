"""The Target API for language models over real gRPC on loopback: ScoreTokens and Generate
under every output policy, rounding, token budgets, and bad input (INVALID_ARGUMENT naming
the field, never echoing values)."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
import torch

from leakrange.common.client import open_channel
from leakrange.common.tensors import from_proto, to_proto
from leakrange.models.lm.lm_io import lm_from_bytes
from leakrange.models.lm.transformer import token_log_probs
from leakrange.target.client import TargetClient
from leakrange.target.lm.client import LanguageModelClient
from leakrange.target.policy import AccessPolicy
from leakrange.v1 import common_pb2, target_pb2, target_pb2_grpc

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def lm(text_targets):
    t = text_targets.target
    model, _spec, tok, _ = lm_from_bytes(text_targets.store.get_bytes(t.model_ref))
    docs = [tok.frame(t.corpus.texts[i], t.spec.context) for i in t.split.members[:8]]
    tokens, lengths = tok.pad_batch(docs)
    return text_targets.store, t, model, tok, tokens, lengths


def _stub(server) -> target_pb2_grpc.TargetStub:
    return target_pb2_grpc.TargetStub(open_channel(server.address))


def _score_request(tokens, lengths=None):
    req = target_pb2.ScoreTokensRequest(tokens=to_proto(np.asarray(tokens)))
    if lengths is not None:
        req.lengths.CopyFrom(to_proto(np.asarray(lengths, np.int64)))
    return req


def test_describe_publishes_the_tokenizer_and_bounds(serve_target, lm):
    store, t, _model, tok, _tokens, _lengths = lm
    info = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("logits"))).Describe(
        target_pb2.DescribeRequest())
    assert info.model_kind == "causal-lm" and info.input_dtype == common_pb2.DTYPE_INT64
    meta = info.language_model
    assert meta.vocab_size == tok.vocab_size and meta.max_sequence_length == t.spec.context
    assert meta.eos_token_id == tok.eos_id and meta.max_new_tokens == t.spec.context - 1
    text = "new flu vaccine guidance for clinics"
    from leakrange.models.lm.tokenizer import TextTokenizer

    assert TextTokenizer.from_json(meta.tokenizer_json).encode(text) == tok.encode(text)


def test_logits_policy_returns_the_models_exact_token_log_probs(serve_target, lm):
    store, t, model, _tok, tokens, lengths = lm
    stub = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("logits")))
    resp = stub.ScoreTokens(_score_request(tokens, lengths))
    values = from_proto(resp.values)
    with torch.inference_mode():
        want = token_log_probs(model, torch.from_numpy(tokens)).numpy()
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(values[i, :n - 1], want[i, :n - 1], atol=1e-4)
        assert (values[i, n - 1:] == 0).all()
    assert resp.tokens_charged == int(lengths.sum()) and resp.remaining_budget == -1


def test_probabilities_are_rounded_and_topk_returns_only_k_next_tokens(serve_target, lm):
    store, t, _model, _tok, tokens, lengths = lm
    probs = from_proto(_stub(serve_target(
        store, t.model_ref, AccessPolicy.parse("probabilities", rounding=2))).ScoreTokens(
        _score_request(tokens, lengths)).values)
    assert np.allclose(probs, np.round(probs, 2)) and probs.max() <= 1.0
    resp = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("topk:5"))).ScoreTokens(
        _score_request(tokens, lengths))
    values, indices = from_proto(resp.values), from_proto(resp.indices)
    assert values.shape == (len(tokens), tokens.shape[1] - 1, 5) == indices.shape
    real = values[0, :lengths[0] - 1]
    assert (np.diff(real, axis=1) <= 1e-7).all() and (real.sum(axis=1) <= 1.0 + 1e-5).all()


def test_label_policy_serves_generated_text_only(serve_target, lm):
    store, t, _model, tok, tokens, lengths = lm
    stub = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("label")))
    with pytest.raises(grpc.RpcError) as err:
        stub.ScoreTokens(_score_request(tokens, lengths))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    resp = stub.Generate(target_pb2.GenerateRequest(
        prompts=to_proto(np.full((2, 1), tok.bos_id, np.int64)), max_new_tokens=5))
    assert from_proto(resp.tokens).shape == (2, 5)
    assert set(resp.DESCRIPTOR.fields_by_name) == {"tokens", "lengths", "remaining_budget",
                                                   "tokens_charged"}


def test_budget_counts_tokens_and_generation_refunds_what_it_did_not_generate(
        serve_target, lm):
    store, t, _model, tok, tokens, lengths = lm
    budget = int(lengths[:2].sum()) + 3
    server = serve_target(store, t.model_ref,
                          AccessPolicy.parse("logits", query_budget=budget))
    stub = _stub(server)
    resp = stub.ScoreTokens(_score_request(tokens[:2], lengths[:2]))
    assert resp.remaining_budget == 3
    with pytest.raises(grpc.RpcError) as err:
        stub.ScoreTokens(_score_request(tokens[:1], lengths[:1]))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "tokens left" in err.value.details()
    gen = stub.Generate(target_pb2.GenerateRequest(
        prompts=to_proto(np.full((1, 1), tok.bos_id, np.int64)), max_new_tokens=2))
    assert gen.tokens_charged == 1 + int(from_proto(gen.lengths)[0])
    assert gen.remaining_budget == 3 - gen.tokens_charged
    client = LanguageModelClient(TargetClient(server.address))
    assert client.describe().remaining_budget == gen.remaining_budget


def test_greedy_generation_is_deterministic_and_sampling_follows_the_seed(serve_target, lm):
    store, t, _model, tok, _tokens, _lengths = lm
    client = LanguageModelClient(TargetClient(serve_target(
        store, t.model_ref, AccessPolicy.parse("logits")).address))
    prompts = np.full((4, 1), tok.bos_id, np.int64)
    ones = np.ones(4, np.int64)
    a, _ = client.generate(prompts, ones, 12, 0.0)
    b, _ = client.generate(prompts, ones, 12, 0.0)
    assert (a == b).all() and (a == a[0]).all()
    s1, _ = client.generate(prompts, ones, 12, 1.0, seed=5)
    s2, _ = client.generate(prompts, ones, 12, 1.0, seed=5)
    assert (s1 == s2).all()


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda tok, x: x.astype(np.float32), "tokens.dtype"),
    (lambda tok, x: np.where(x == x[0, 0], tok.vocab_size + 7, x), "tokens"),
    (lambda tok, x: np.full((1, 500), tok.bos_id, np.int64), "tokens.shape[1]"),
    (lambda tok, x: np.zeros((0, 5), np.int64), "tokens"),
    (lambda tok, x: x[:, :1], "tokens.shape[1]"),
    (lambda tok, x: x[0], "tokens.shape"),
])
def test_bad_token_batches_are_invalid_argument_naming_the_field(serve_target, lm, mutate,
                                                                 field):
    store, t, _model, tok, tokens, _lengths = lm
    stub = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("logits")))
    with pytest.raises(grpc.RpcError) as err:
        stub.ScoreTokens(_score_request(mutate(tok, tokens)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(field + ":"), err.value.details()
    assert str(tok.vocab_size + 7) not in err.value.details()


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": 10_000}, "max_new_tokens"),
    ({"max_new_tokens": 4, "temperature": 5.0}, "temperature"),
    ({"max_new_tokens": 4, "temperature": float("nan")}, "temperature"),
    ({"max_new_tokens": 4, "top_k": -1}, "top_k"),
])
def test_generation_bounds(serve_target, lm, request_fields, field):
    store, t, _model, tok, _tokens, _lengths = lm
    stub = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("logits")))
    with pytest.raises(grpc.RpcError) as err:
        stub.Generate(target_pb2.GenerateRequest(
            prompts=to_proto(np.full((1, 1), tok.bos_id, np.int64)), **request_fields))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(field + ":")


def test_lengths_must_fit_their_rows(serve_target, lm):
    store, t, _model, _tok, tokens, _lengths = lm
    stub = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("logits")))
    with pytest.raises(grpc.RpcError) as err:
        stub.ScoreTokens(_score_request(tokens, np.full(len(tokens), tokens.shape[1] + 1)))
    assert err.value.details().startswith("lengths:")


def test_predict_on_a_language_model_is_failed_precondition(serve_target, lm):
    store, t, *_ = lm
    stub = _stub(serve_target(store, t.model_ref, AccessPolicy.parse("logits")))
    with pytest.raises(grpc.RpcError) as err:
        stub.Predict(target_pb2.PredictRequest(inputs=to_proto(np.zeros((1, 4), np.float32))))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_white_box_weights_reach_the_adversary_store_with_their_media_type(
        tmp_path, lm):
    from leakrange.artifacts import MEDIA_LM, FolderStore
    from leakrange.common.server import ServerOptions
    from leakrange.target.service import TargetSettings, build_target_server

    store, t, *_ = lm
    adversary = FolderStore(tmp_path / "adv")
    server = build_target_server(store, TargetSettings(
        t.model_ref.uri, AccessPolicy.parse("logits", white_box=True), weights_store=adversary),
        ServerOptions(port=0)).start()
    try:
        ref = TargetClient(server.address).get_weights()
        assert adversary.stat(ref.sha256).media_type == MEDIA_LM
    finally:
        server.stop(grace=0)
