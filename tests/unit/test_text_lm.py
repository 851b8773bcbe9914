"""Language-model building blocks: tokenizer, spec, safetensors files (pickles refused), the
llama code path (a tiny random config, no download), exposure and verbatim matching, and the
document split's same-distribution property."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch

from leakrange.common.errors import InvalidArgument
from leakrange.datasets import make_split
from leakrange.datasets.canaries import CanarySpec, make_canaries, reference_secrets
from leakrange.metrics.exposure import exposure
from leakrange.metrics.extraction import VerbatimIndex
from leakrange.models import pick_device
from leakrange.models.lm.lm_io import lm_from_bytes, lm_header_from_bytes, lm_to_bytes
from leakrange.models.lm.spec import LmRecipe, LmSpec, lm_spec
from leakrange.models.lm.tokenizer import TextTokenizer, train_tokenizer
from leakrange.models.lm.trainer import fit_lm, sequence_log_probs
from leakrange.models.lm.transformer import build_lm, token_log_probs

pytestmark = pytest.mark.usefixtures("torch_one_thread")


TEXTS = [f"patient {i} reports mild fever and cough after {i % 7} days" for i in range(200)]


@pytest.fixture(scope="module")
def tokenizer() -> TextTokenizer:
    return train_tokenizer(TEXTS, 400)


def test_tokenizer_splits_digits_and_round_trips_through_json(tokenizer):
    ids = tokenizer.encode("my patient id is 4 1 9")
    assert tokenizer.decode(ids) == "my patient id is 4 1 9"
    digits = [tokenizer.tokenizer.id_to_token(i) for i in ids[-5:]]
    assert [d for d in digits if d.strip("Ġ")] == ["4", "1", "9"]
    again = TextTokenizer.from_json(tokenizer.to_json())
    assert again.encode("cough 12") == tokenizer.encode("cough 12")
    assert tokenizer.frame("fever", 3)[0] == tokenizer.bos_id and len(tokenizer.frame("a " * 9,
                                                                                     3)) == 3
    with pytest.raises(InvalidArgument, match=r"^tokenizer:"):
        TextTokenizer.from_json("{not json")


def test_lm_spec_rejects_bad_shapes_and_names_the_field():
    with pytest.raises(InvalidArgument, match=r"^model:"):
        lm_spec("lm-huge", 512)
    with pytest.raises(InvalidArgument, match=r"^model\.vocab_size:"):
        lm_spec({"vocab_size": 100}, 512)
    with pytest.raises(InvalidArgument, match=r"^model"):
        lm_spec({"d_model": 30, "n_heads": 4}, 512)


def test_model_file_round_trips_and_pickles_are_refused(tokenizer):
    spec = lm_spec({"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "context": 16},
                   tokenizer.vocab_size)
    model = build_lm(spec)
    blob = lm_to_bytes(model, spec, tokenizer, {"dataset": "x"})
    assert blob == lm_to_bytes(model, spec, tokenizer, {"dataset": "x"})  # canonical header
    loaded, spec2, tok2, meta = lm_from_bytes(blob)
    ids = torch.tensor([tokenizer.frame("fever and cough", 16)])
    assert torch.allclose(token_log_probs(model.eval(), ids), token_log_probs(loaded, ids))
    assert spec2 == spec and meta == {"dataset": "x"} and tok2.vocab_size == tokenizer.vocab_size
    assert lm_header_from_bytes(blob)[0] == spec
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    with pytest.raises(InvalidArgument, match="pickled models are refused"):
        lm_from_bytes(buf.getvalue())


def test_training_lowers_the_loss_of_its_documents_only(tokenizer):
    spec = lm_spec({"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "context": 24},
                   tokenizer.vocab_size)
    train = [tokenizer.frame(t, 24) for t in TEXTS[:40]]
    fitted = fit_lm(spec, LmRecipe(epochs=10, batch_size=16, lr=1e-2, warmup_steps=2), train,
                    tokenizer.pad_id, pick_device())
    held = [tokenizer.frame(f"visitor {i} shares {i * 13} vaccine tips", 24) for i in range(40)]
    seen = np.mean([-lp.mean() for lp in sequence_log_probs(fitted.model, train,
                                                             tokenizer.pad_id, pick_device())])
    unseen = np.mean([-lp.mean() for lp in sequence_log_probs(fitted.model, held,
                                                               tokenizer.pad_id, pick_device())])
    assert seen < unseen - 0.5


def test_llama_arch_from_a_config_trains_and_serialises(tokenizer):
    """The fine-tuning code path (arch llama) with a tiny random Llama, no GGUF needed."""
    pytest.importorskip("transformers")
    config = {"vocab_size": tokenizer.vocab_size, "hidden_size": 32, "intermediate_size": 64,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "max_position_embeddings": 32, "tie_word_embeddings": True}
    spec = LmSpec(arch="llama", vocab_size=tokenizer.vocab_size, context=24, d_model=32,
                  n_layers=2, n_heads=4, d_ff=64, hf_config=config)
    from leakrange.models.lm.pretrained import freeze_all_but_last

    model = build_lm(spec)
    freeze_all_but_last(model, 1)  # type: ignore[arg-type]
    trainable = {n.split(".")[3] if ".layers." in n else n for n, p in model.named_parameters()
                 if p.requires_grad}
    assert "0" not in trainable and "1" in trainable
    docs = [tokenizer.frame(t, 24) for t in TEXTS[:16]]
    fitted = fit_lm(spec, LmRecipe(epochs=1, batch_size=8), docs, tokenizer.pad_id,
                    pick_device(), model=model)
    loaded, spec2, _tok, _ = lm_from_bytes(lm_to_bytes(fitted.model, spec, tokenizer))
    ids = torch.tensor([docs[0]])
    assert spec2.arch == "llama"
    assert torch.allclose(token_log_probs(fitted.model, ids), token_log_probs(loaded, ids),
                          atol=1e-5)


def test_canaries_are_distinct_and_references_exclude_them():
    spec = CanarySpec(digits=4, insertions=[0, 1, 10], candidates=50, seed=1)
    canaries = make_canaries(spec)
    assert len({c.secret for c in canaries}) == 3
    assert [c.insertions for c in canaries] == [0, 1, 10]
    refs = reference_secrets(spec, [c.secret for c in canaries])
    assert len(set(refs)) == 50 and not set(refs) & {c.secret for c in canaries}
    with pytest.raises(ValueError, match="secret"):
        CanarySpec(template="no placeholder here")


def test_exposure_by_sampling_and_extrapolation():
    rng = np.random.default_rng(0)
    refs = rng.normal(-30.0, 2.0, size=999)
    top = exposure(-5.0, refs, 10**6)
    assert top.rank == 1 and math.isclose(top.sampled_bits, math.log2(1000))
    assert top.extrapolated_bits > 15 and top.extrapolated_bits <= math.log2(10**6)
    typical = exposure(float(np.median(refs)), refs, 10**6)
    assert 0.5 < typical.sampled_bits < 1.5 and typical.extrapolated_bits < 2
    with pytest.raises(InvalidArgument):
        exposure(0.0, np.array([1.0]), 10)


def test_verbatim_index_counts_only_training_only_windows():
    training = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]
    others = [[20, 1, 2, 3, 21]]  # 1 2 3 is common language, not memorisation
    index = VerbatimIndex(training, others, 3)
    assert not index.match([1, 2, 3, 30]).extracted
    hit = index.match([0, 8, 9, 10, 0, 4, 5, 6])
    assert hit.extracted and hit.documents == {0, 1}
    with pytest.raises(InvalidArgument, match=r"^min_tokens"):
        VerbatimIndex(training, others, 1)


def test_document_split_draws_members_and_nonmembers_from_the_same_sources_and_time(
        health_corpus):
    """Duan et al. 2024: a split by time or source would make MIA measure the shift."""
    from scipy import stats

    split = make_split(len(health_corpus), members=2000, nonmembers=2000, seed=0,
                       population=8000)
    src_m = health_corpus.sources[split.members]
    src_n = health_corpus.sources[split.nonmembers]
    names = sorted(set(src_m) | set(src_n))
    table = np.array([[np.sum(src_m == s) for s in names], [np.sum(src_n == s) for s in names]])
    assert stats.chi2_contingency(table).pvalue > 0.001
    t_m = health_corpus.time_key[split.members]
    t_n = health_corpus.time_key[split.nonmembers]
    assert stats.ks_2samp(t_m, t_n).pvalue > 0.001
    assert len(set(health_corpus.texts)) == len(health_corpus)  # duplicates dropped
    assert json.dumps(health_corpus.name) == '"healthtweets"'
