"""The common shape of the membership attacks on language models: score every audit document
through the ``LmOracle`` and return one score per document (result kind ``membership``)."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.text.oracle import SCORE_OUTPUTS, Documents, LmOracle, documents
from leakrange.common.threat_model import OutputKind


class TextMembershipAttack(Attack):
    family = "mia"
    supported_outputs: ClassVar[tuple[OutputKind, ...]] = SCORE_OUTPUTS

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        oracle = LmOracle(ctx)
        oracle.require(self.supported_outputs, self.name)
        docs = documents(ctx, "audit")
        oracle.ensure_budget(self.tokens_needed(ctx, docs), self.name)
        ctx.progress("querying", 0, len(docs), "scoring audit documents")
        scores = self.score(ctx, oracle, docs, params)
        ctx.progress("querying", len(docs), len(docs), "done")
        return AttackOutput(scores=np.asarray(scores, dtype=np.float64),
                            facts={"documents": float(len(docs))})

    def tokens_needed(self, ctx: RunContext, docs: Documents) -> int:
        return docs.token_count

    @abstractmethod
    def score(self, ctx: RunContext, oracle: LmOracle, docs: Documents,
              params: AttackParams) -> list[float]:
        """One score per audit document, higher = more likely a member."""
