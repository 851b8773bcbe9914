"""SmolLM2-135M fine-tuned as a text target on CPU, small: a by-hand check of the GPU-sized path.

The code of tests/integration/test_text_pretrained.py (requires_gpu) at a CPU size: 32 members,
2 epochs, batch 8, context 32; served under topk:10 over gRPC. Prints JSON (last line): member
and non-member loss, training wall time, peak RSS. Takes about 15 minutes on 2 busy cores.

    .venv/bin/python tools/bench/smollm2_cpu.py
"""

import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from leakrange.artifacts import FolderStore
from leakrange.common.server import ServerOptions
from leakrange.datasets.canaries import CanarySpec
from leakrange.datasets.text_corpus import load_text_corpus
from leakrange.models.lm.spec import LmRecipe
from leakrange.target.client import TargetClient
from leakrange.target.lm.client import LanguageModelClient
from leakrange.target.policy import AccessPolicy
from leakrange.target.service import TargetSettings, build_target_server
from leakrange.target.text_training import TextTrainingRequest, train_text_target


def main() -> None:
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp())
    store = FolderStore(tmp / "store")
    result = train_text_target(store, load_text_corpus("healthtweets"), TextTrainingRequest(
        dataset="healthtweets", members=32, nonmembers=32, population=128, base="smollm2-135m",
        context=32, recipe=LmRecipe(epochs=2, batch_size=8, lr=1e-4, warmup_steps=1),
        canaries=CanarySpec(insertions=[0, 10], candidates=50)))
    t1 = time.time()
    settings = TargetSettings(result.model_ref.uri, AccessPolicy.parse("topk:10"))
    server = build_target_server(store, settings, ServerOptions(port=0)).start()
    client = LanguageModelClient(TargetClient(server.address))
    tok = client.describe().tokenizer
    tokens, lengths = tok.pad_batch([tok.frame("my patient id is 1 2 3", 32)])
    out = client.score(tokens, lengths)
    server.stop(grace=0)
    print(json.dumps({
        "arch": result.spec.arch, "member_loss": float(result.member_loss),
        "nonmember_loss": float(result.nonmember_loss), "train_wall_s": round(t1 - t0, 1),
        "topk_shape": list(out.values.shape), "finite": bool(np.isfinite(out.values).all()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))


if __name__ == "__main__":
    main()
