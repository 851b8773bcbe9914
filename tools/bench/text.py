"""Benchmark: language-model targets (target.text) end to end, on the health tweets.

Trains the tiny transformer (lm-tiny unless --model) on ``--members`` tweets with canaries
planted 0, 1, 10 and 100 times, serves it with the real Target service on loopback under
``topk:100`` (what Min-K%++ needs; the other attacks read the given token's probability from
the top 100 or the remainder estimate) and runs every text attack through the real Attack
service. Measures:

- training seconds per epoch (and the member / non-member loss gap);
- ScoreTokens tokens per second over gRPC vs the same work in-process (``LmHost.score`` +
  the policy), alternating rounds, median counts;
- per membership attack: AUC, TPR at 1 % and 0.1 % FPR (with 95 % CIs) and wall time;
- canary exposure (sampled and extrapolated bits) at 0, 1, 10 and 100 insertions;
- extraction: share of generations that are training-only text, canaries recovered.

Prints one JSON object on the last line. ``--quick`` is a small run for smoke tests.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import interleaved_rates, peak_rss_mb, print_json

from leakrange.artifacts import FolderStore
from leakrange.attacks.service import build_attack_server
from leakrange.common.client import open_channel
from leakrange.common.server import ServerOptions
from leakrange.common.tensors import from_proto, to_proto
from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.datasets.canaries import CanarySpec
from leakrange.datasets.text_corpus import load_text_corpus
from leakrange.metrics import compute_mia_metrics
from leakrange.models.lm.spec import LmRecipe
from leakrange.orchestrator.spec import ExerciseSpec
from leakrange.orchestrator.target_kinds.text import load_text_target
from leakrange.scoring.exposure import canary_findings
from leakrange.scoring.extraction import extraction_findings
from leakrange.target.client import TargetClient
from leakrange.target.lm.client import LanguageModelClient
from leakrange.target.lm.host import LmHost
from leakrange.target.lm.sequence_policy import shape_token_scores
from leakrange.target.policy import AccessPolicy
from leakrange.target.service import TargetSettings, build_target_server
from leakrange.target.text_training import TextTrainingRequest, train_text_target
from leakrange.v1 import attack_pb2, attack_pb2_grpc, target_pb2

ATTACKS = (("lm_loss", {}), ("zlib_ratio", {}), ("min_k", {"k_percent": 20}),
           ("min_k_plus_plus", {"k_percent": 20}), ("lm_reference", {}))


def _run(stub, view, address: str, attack: str, params: dict) -> attack_pb2.AttackResult:
    threat = ThreatModel(access=Access(output="topk", top_k=100), knowledge=Knowledge())
    request = attack_pb2.RunRequest(run_id=attack, attack=attack, params_json=json.dumps(params),
                                    threat_model=threat.to_proto(), data=view.data, seed=0,
                                    target=attack_pb2.TargetEndpoint(address=address))
    results = [e.result for e in stub.Run(request) if e.HasField("result")]
    return results[0]


def _est(e) -> dict[str, float | None]:
    return {"value": round(e.value, 4), "ci_low": None if e.ci_low is None else round(e.ci_low, 4),
            "ci_high": None if e.ci_high is None else round(e.ci_high, 4)}


def measure(members: int, epochs: int, model: str, seconds: float, samples: int
            ) -> dict[str, object]:
    corpus = load_text_corpus("healthtweets")
    out: dict[str, object] = {"members": members, "epochs": epochs, "model": model}
    with tempfile.TemporaryDirectory(prefix="bench-text-") as tmp:
        store = FolderStore(Path(tmp))
        started = time.perf_counter()
        result = train_text_target(store, corpus, TextTrainingRequest(
            dataset="healthtweets", members=members, nonmembers=members,
            population=members * 4, model=model, vocab_size=2048,
            recipe=LmRecipe(epochs=epochs, batch_size=32, lr=3e-3),
            canaries=CanarySpec(insertions=[0, 1, 10, 100], candidates=2000)))
        out["train_seconds"] = round(time.perf_counter() - started, 2)
        out["seconds_per_epoch"] = round(result.seconds_per_epoch, 2)
        out["member_loss"] = round(result.member_loss, 3)
        out["nonmember_loss"] = round(result.nonmember_loss, 3)
        target = load_text_target(store, result.model_ref, corpus, min_tokens=8)
        spec = ExerciseSpec.model_validate({
            "name": "bench-text", "target": {"text": {"members": members}},
            "threat_model": {"access": {"output": "topk", "top_k": 100},
                             "knowledge": {"data_fraction": 0.5}},
            "adversaries": [{"family": "mia", "attacks": [{"name": "lm_loss"}]}]})
        view = target.adversary_view(spec, None)  # type: ignore[arg-type]
        is_member = np.asarray(view.truth_for("membership").is_member)

        policy = AccessPolicy.parse("topk:100")
        target_server = build_target_server(store, TargetSettings(result.model_ref.uri, policy),
                                            ServerOptions(port=0, grace_seconds=0.0)).start()
        attack_server = build_attack_server(store, "mia", ServerOptions(port=0)).start()
        try:
            host = LmHost.from_store(store, store.stat(result.model_ref.sha256))
            client = LanguageModelClient(TargetClient(target_server.address))
            tokens = from_proto(view.data.audit.tensors["tokens"])[:64]
            lengths = from_proto(view.data.audit.tensors["lengths"])[:64]
            batch = host.batch(to_proto(tokens), to_proto(lengths), "tokens", 2)
            n_tokens = int(lengths.sum())
            rates = interleaved_rates({
                "grpc": lambda: client.score(tokens, lengths),
                "inprocess": lambda: shape_token_scores(host.score(batch, 100), policy),
            }, seconds)
            out["score_tokens_per_s"] = {k: round(v * n_tokens, 1) for k, v in rates.items()}
            out["grpc_over_inprocess"] = round(rates["grpc"] / rates["inprocess"], 3)
            stub = attack_pb2_grpc.AttackStub(open_channel(attack_server.address))
            attacks: dict[str, object] = {}
            for name, params in ATTACKS:
                t0 = time.perf_counter()
                res = _run(stub, view, target_server.address, name, params)
                m = compute_mia_metrics(from_proto(res.scores), is_member, n_bootstrap=500,
                                        seed=0)
                attacks[name] = {"auc": _est(m.auc), "tpr_at_1pct_fpr": _est(m.tpr_at_fpr["1%"]),
                                 "tpr_at_0.1pct_fpr": _est(m.tpr_at_fpr["0.1%"])
                                 if "0.1%" in m.tpr_at_fpr else None,
                                 "seconds": round(time.perf_counter() - t0, 2)}
            out["attacks"] = attacks
            t0 = time.perf_counter()
            res = _run(stub, view, target_server.address, "canary_exposure", {})
            truth = view.truth_for("exposure")
            out["exposure"] = {str(r["insertions"]): {
                "rank": r["rank"], "sampled_bits": round(r["sampled_bits"], 2),
                "extrapolated_bits": round(r["extrapolated_bits"], 2)}
                for r in canary_findings(from_proto(res.scores), truth.insertions,
                                         truth.space_size)}
            out["exposure_seconds"] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            res = _run(stub, view, target_server.address, "extraction",
                       {"samples": samples, "guesses": samples // 3})
            f = extraction_findings(from_proto(res.outputs["generations"]),
                                    from_proto(res.outputs["canary_guesses"]),
                                    view.truth_for("extraction"))
            out["extraction"] = {"guesses": f["guesses"], "extracted": f["extracted"],
                                 "documents_reproduced": f["documents_reproduced"],
                                 "canaries_recovered": {str(c["insertions"]): c["recovered"]
                                                        for c in f["canaries"]},
                                 "seconds": round(time.perf_counter() - t0, 2)}
            info = TargetClient(target_server.address).stub.Describe(
                target_pb2.DescribeRequest())
            out["vocab_size"] = info.language_model.vocab_size
        finally:
            target_server.stop(grace=0)
            attack_server.stop(grace=0)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", default="lm-tiny")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="300 members, 4 epochs")
    args = parser.parse_args()
    if args.quick:
        args.members, args.epochs, args.seconds, args.samples = 300, 4, 1.0, 60
    print_json(measure(args.members, args.epochs, args.model, args.seconds, args.samples))


if __name__ == "__main__":
    main()
