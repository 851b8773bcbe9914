"""Label-only model inversion attribute inference (LOMIA).

Mehnaz et al., USENIX Security 2022, Sec. 5. Only predicted labels are needed: every audit
record is completed with each candidate value; where exactly one candidate reproduces the
record's known label, that value is taken as a pseudo-label. An attack model (logistic
regression) learns attribute-from-(other features, label) on those records and predicts the
attribute of every audit record.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from sklearn.linear_model import LogisticRegression

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.inversion.candidates import HiddenAttribute
from leakrange.attacks.mia.signals import TargetOracle
from leakrange.common.attack_info import ATTRIBUTE
from leakrange.common.errors import FailedPrecondition


class LomiaParams(AttackParams):
    c: float = Field(default=1.0, gt=0.0, le=1e6,
                     description="Inverse regularisation of the attack model.")


def attack_features(x: np.ndarray, y: np.ndarray, hidden: HiddenAttribute,
                    num_classes: int) -> np.ndarray:
    rest = np.delete(x, hidden.columns, axis=1)
    return np.hstack([rest, np.eye(num_classes, dtype=np.float32)[y]])


class LomiaAttack(Attack):
    name = "lomia"
    family = "inversion"
    summary = "Learns the hidden value from records whose label only one value reproduces."
    paper = ("Mehnaz et al., Are Your Sensitive Attributes Private? Novel Model Inversion "
             "Attribute Inference Attacks on Classification Models, USENIX Security 2022")
    Params = LomiaParams
    supported_outputs = ("logits", "probabilities", "topk", "label")
    result_kind = ATTRIBUTE

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, LomiaParams)
        hidden = HiddenAttribute.of(ctx, self.name)
        oracle = TargetOracle(ctx)
        n, k = len(ctx.audit_x), hidden.n_values
        oracle.ensure_budget(n * k, self.name)
        predicted = oracle.labels(hidden.completions(ctx.audit_x)).reshape(n, k)
        correct = predicted == ctx.audit_y[:, None]
        unique = correct.sum(axis=1) == 1
        pseudo = correct.argmax(axis=1)
        if unique.sum() < 2 or len(np.unique(pseudo[unique])) < 2:
            raise FailedPrecondition("data.audit: too few records with one consistent value "
                                     "to train the attack model")
        features = attack_features(ctx.audit_x, ctx.audit_y, hidden, oracle.desc.num_classes)
        model = LogisticRegression(C=params.c, max_iter=500)
        model.fit(features[unique], pseudo[unique])
        proba = model.predict_proba(features)
        guesses = np.asarray(model.classes_, np.int64)[proba.argmax(axis=1)]
        guesses = np.where(unique, pseudo, guesses)
        return AttackOutput(outputs={"guesses": guesses.astype(np.int64),
                                     "confidence": proba.max(axis=1)},
                            facts={"consistent_records": float(unique.sum())})
