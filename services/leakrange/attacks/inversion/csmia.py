"""Confidence-score-based model inversion attribute inference (CSMIA).

Mehnaz, Dibbo, Kabir, Li, Bertino. "Are Your Sensitive Attributes Private? Novel Model
Inversion Attribute Inference Attacks on Classification Models." USENIX Security 2022, Sec. 4.
Each audit record is completed with every candidate value and queried. Case 1: exactly one
candidate makes the model predict the record's known label -> that value. Case 2: several do
-> the one with the highest confidence in the label. Case 3: none does -> the one with the
lowest confidence in its (wrong) predicted label.
"""

from __future__ import annotations

import numpy as np

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.inversion.candidates import HiddenAttribute
from leakrange.attacks.mia.signals import TargetOracle, from_output, require_outputs
from leakrange.common.attack_info import ATTRIBUTE


class CsmiaParams(AttackParams):
    pass


def csmia_choice(correct: np.ndarray, p_label: np.ndarray, p_predicted: np.ndarray
                 ) -> np.ndarray:
    """[n, k] masks and confidences -> one value per record by the paper's three cases."""
    any_correct = correct.any(axis=1)
    among_correct = np.where(correct, p_label, -np.inf).argmax(axis=1)
    least_wrong = p_predicted.argmin(axis=1)
    return np.where(any_correct, among_correct, least_wrong).astype(np.int64)


class CsmiaAttack(Attack):
    name = "csmia"
    family = "inversion"
    summary = "Picks the hidden value that makes the model confidently predict the known label."
    paper = ("Mehnaz et al., Are Your Sensitive Attributes Private? Novel Model Inversion "
             "Attribute Inference Attacks on Classification Models, USENIX Security 2022")
    Params = CsmiaParams
    supported_outputs = ("logits", "probabilities")
    result_kind = ATTRIBUTE

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        hidden = HiddenAttribute.of(ctx, self.name)
        oracle = TargetOracle(ctx)
        require_outputs(oracle.desc, self.supported_outputs, self.name)
        n, k = len(ctx.audit_x), hidden.n_values
        oracle.ensure_budget(n * k, self.name)
        out = oracle.outputs(hidden.completions(ctx.audit_x))
        y = np.repeat(ctx.audit_y, k)
        p_label = from_output(out, y, oracle.desc.num_classes).prob.reshape(n, k)
        predicted = np.asarray(out.outputs).argmax(axis=1)
        p_predicted = from_output(out, predicted, oracle.desc.num_classes).prob.reshape(n, k)
        correct = (predicted == y).reshape(n, k)
        guesses = csmia_choice(correct, p_label, p_predicted)
        return AttackOutput(outputs={"guesses": guesses,
                                     "confidence": p_label[np.arange(n), guesses]})
