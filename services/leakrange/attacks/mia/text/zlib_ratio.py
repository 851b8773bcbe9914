"""zlib-entropy ratio membership inference.

Carlini, Tramèr, Wallace, Jagielski, Herbert-Voss, Lee, Roberts, Brown, Song, Erlingsson,
Oprea, Raffel. "Extracting Training Data from Large Language Models." USENIX Security 2021,
section 5.1 ("zlib"): the ratio of the target's log-perplexity to the zlib entropy of the text
calibrates away text that is merely repetitive or formulaic.
"""

from __future__ import annotations

from leakrange.attacks.base import AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.text.base import TextMembershipAttack
from leakrange.attacks.mia.text.oracle import Documents, LmOracle
from leakrange.attacks.mia.text.scores import zlib_score


class ZlibParams(AttackParams):
    pass


class ZlibRatioAttack(TextMembershipAttack):
    name = "zlib_ratio"
    summary = "Perplexity relative to how well zlib compresses the text."
    paper = ("Carlini et al., Extracting Training Data from Large Language Models, USENIX "
             "Security 2021")
    Params = ZlibParams

    def score(self, ctx: RunContext, oracle: LmOracle, docs: Documents,
              params: AttackParams) -> list[float]:
        tok = oracle.tokenizer
        return [zlib_score(lp, tok.decode(row))
                for lp, row in zip(oracle.log_probs(docs), docs.rows(), strict=True)]
