"""Training-data extraction (the adversary's half).

Carlini, Tramèr, Wallace, Jagielski, Herbert-Voss, Lee, Roberts, Brown, Song, Erlingsson,
Oprea, Raffel. "Extracting Training Data from Large Language Models." USENIX Security 2021.
Section 4-5: generate many samples from the model (here from the empty prompt, top-k sampling
with temperature), drop duplicates, rank them by a membership metric (the zlib ratio, the
paper's strongest single-model metric, or the plain loss) and return the best-ranked
``guesses`` as the extracted text. Under a label policy (generated text only) the samples
cannot be scored and are returned in generation order.

Canaries (Carlini et al. 2019, section 8): prompted with the public prefix of the canary
template, the target's greedy continuation (and sampled ones) are guesses of the secret. The
range checks both kinds of guess against the training set, which the adversary never sees
(result kind ``extraction``, ``scoring/extraction.py``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.text.oracle import SCORE_OUTPUTS, Documents, LmOracle
from leakrange.attacks.mia.text.scores import loss_score, zlib_score
from leakrange.common.attack_info import EXTRACTION


class ExtractionParams(AttackParams):
    samples: int = Field(default=200, ge=1, le=100_000, description="Generations to sample.")
    guesses: int = Field(default=50, ge=1, le=100_000,
                         description="Best-ranked generations returned as extracted text.")
    max_new_tokens: int = Field(default=40, ge=2, le=1024)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_k: int = Field(default=40, ge=0, le=1_000_000)
    rank_by: Literal["zlib", "loss"] = "zlib"
    canary_samples: int = Field(default=16, ge=0, le=10_000,
                                description="Sampled canary continuations besides the greedy.")


class ExtractionAttack(Attack):
    name = "extraction"
    family = "mia"
    summary = "Sample from the model and keep what looks memorised; complete canary prompts."
    paper = ("Carlini et al., Extracting Training Data from Large Language Models, USENIX "
             "Security 2021")
    Params = ExtractionParams
    supported_outputs = (*SCORE_OUTPUTS, "label")
    result_kind = EXTRACTION

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, ExtractionParams)
        oracle = LmOracle(ctx)
        desc = oracle.desc
        tok = oracle.tokenizer
        new = min(params.max_new_tokens, desc.max_new_tokens, desc.context - 1)
        oracle.ensure_budget(params.samples * (new + 1), self.name)
        prompts = np.full((params.samples, 1), tok.bos_id, dtype=np.int64)
        ctx.progress("generating", 0, params.samples, "sampling from the target")
        gen, lengths = oracle.client.generate(
            prompts, np.ones(params.samples, np.int64), new,
            min(params.temperature, desc.max_temperature), params.top_k, ctx.seed)
        ctx.check_cancelled()
        rows = _unique([[tok.bos_id, *gen[i, :int(n)].tolist()] for i, n in enumerate(lengths)])
        rows = [r for r in rows if len(r) >= 3]
        if rows and (desc.white_box or desc.output != "label"):
            ctx.progress("scoring", 0, len(rows), "ranking generations")
            t, n = _pad(rows, tok.pad_id)
            lps = oracle.log_probs(Documents(t, n))
            if params.rank_by == "zlib":
                scores = [zlib_score(lp, tok.decode(r)) for lp, r in zip(lps, rows, strict=True)]
            else:
                scores = [loss_score(lp) for lp in lps]
            order = np.argsort(-np.asarray(scores), kind="stable")
            rows = [rows[i] for i in order]
        guesses, _ = _pad(rows[:params.guesses] or [[tok.bos_id]], -1)
        outputs = {"generations": guesses}
        prefix = ctx.extras.get("canary_prefix")
        if prefix is not None:
            outputs["canary_guesses"] = self._canary_guesses(
                oracle, np.asarray(prefix, np.int64), int(ctx.extras["canary_secret_tokens"]),
                params, ctx.seed)
        return AttackOutput(outputs=outputs, facts={"samples": float(params.samples),
                                                    "distinct_generations": float(len(rows))})

    @staticmethod
    def _canary_guesses(oracle: LmOracle, prefix: np.ndarray, secret: int,
                        params: ExtractionParams, seed: int) -> np.ndarray:
        """Greedy then sampled continuations of the canary prefix: int64 [g, secret]."""
        n = 1 + params.canary_samples
        prompts = np.tile(prefix, (n, 1))
        lens = np.full(n, len(prefix), np.int64)
        greedy, _ = oracle.client.generate(prompts[:1], lens[:1], secret, 0.0, 0, seed)
        parts = [greedy]
        if params.canary_samples:
            sampled, _ = oracle.client.generate(prompts[1:], lens[1:], secret,
                                                min(1.0, oracle.desc.max_temperature),
                                                params.top_k, seed + 1)
            parts.append(sampled)
        return np.concatenate(parts).astype(np.int64)


def _unique(rows: list[list[int]]) -> list[list[int]]:
    seen: set[tuple[int, ...]] = set()
    out = []
    for row in rows:
        key = tuple(row)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _pad(rows: list[list[int]], pad: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    tokens = np.full((len(rows), width), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        tokens[i, :len(r)] = r
    return tokens, np.asarray([len(r) for r in rows], np.int64)
