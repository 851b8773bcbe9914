"""Shadow-model attack with a learned attack classifier.

Shokri, Stronati, Song, Shmatikov. "Membership Inference Attacks Against Machine Learning
Models." IEEE S&P 2017.

Shadow models are trained on random halves of the adversary's data, imitating the target. Their
outputs on their own training records (label "in") and on the other half ("out") train an
attack classifier per class (one global classifier with the class as a feature when a class has
too few shadow records). Shadow outputs are shaped exactly like the target's API output
(probabilities, logits, top-k, rounding), so the classifier sees what the target will show it.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.special import softmax
from sklearn.ensemble import HistGradientBoostingClassifier

from leakrange.attacks.base import Attack, AttackOutput, AttackParams
from leakrange.attacks.context import RunContext
from leakrange.attacks.mia.common_params import ReferenceParams, population
from leakrange.attacks.mia.reference_models import (
    reference_recipe,
    reference_spec,
    train_references,
)
from leakrange.attacks.mia.signals import (
    TargetOracle,
    from_output,
    require_outputs,
)
from leakrange.target.client import PredictOutput
from leakrange.target.policy import shape_outputs

MIN_PER_CLASS = 200


class ShadowParams(ReferenceParams):
    reference_models: int = Field(default=4, ge=1, le=256, description="Shadow models.")
    max_iter: int = Field(default=100, ge=10, le=1000,
                          description="Boosting iterations of each attack classifier.")


def features(out: PredictOutput, y: np.ndarray, num_classes: int) -> np.ndarray:
    """Attack-classifier features from one API output: true-class signals + sorted outputs."""
    sig = from_output(out, y, num_classes)
    values = np.asarray(out.outputs, dtype=np.float64)
    if out.kind == "logits":
        values = softmax(values, axis=1)
    top = -np.sort(-values, axis=1)[:, : min(values.shape[1], 10)]
    entropy = -(np.clip(top, 1e-12, 1) * np.log(np.clip(top, 1e-12, 1))).sum(axis=1)
    return np.column_stack([sig.log_prob, sig.phi, top, entropy])


class ShadowAttack(Attack):
    name = "shadow"
    family = "mia"
    summary = "Attack classifier trained on shadow models' outputs on their in/out records."
    paper = ("Shokri et al., Membership Inference Attacks Against Machine Learning Models, "
             "IEEE S&P 2017")
    Params = ShadowParams
    supported_outputs = ("logits", "probabilities", "topk")
    uses_reference_models = True

    def run(self, ctx: RunContext, params: AttackParams) -> AttackOutput:
        assert isinstance(params, ShadowParams)
        pop_x, pop_y = population(ctx, self.name, minimum=20)
        oracle = TargetOracle(ctx)
        desc = oracle.desc
        require_outputs(desc, self.supported_outputs, self.name)
        oracle.ensure_budget(len(ctx.audit_x), self.name)
        spec = reference_spec(ctx, desc.input_shape, desc.num_classes)
        pool_refs = train_references(
            ctx, n_models=params.reference_models, pool_x=pop_x, pool_y=pop_y,
            extra_x=pop_x[:0], spec=spec, recipe=reference_recipe(ctx, params.epochs),
            seed=ctx.seed, strategy=params.strategy, precision=params.precision,
            train_size=params.train_size, tag="shadow",
        )
        refs = pool_refs.load_all()  # at most 256 shadow models
        policy = oracle.policy  # shadow outputs shaped like the target's (white-box: logits)
        feats, labels, classes = [], [], []
        for m in range(params.reference_models):
            ctx.check_cancelled()
            values, indices = shape_outputs(refs.pool[m], policy)
            out = PredictOutput(policy.output, values, indices, -1, len(pop_x))
            feats.append(features(out, pop_y, desc.num_classes))
            labels.append(refs.masks[m])
            classes.append(pop_y)
        train_f, train_l, train_c = np.concatenate(feats), np.concatenate(labels), \
            np.concatenate(classes)
        audit_f = features(oracle.outputs(ctx.audit_x), ctx.audit_y, desc.num_classes)
        ctx.progress("attack_classifier", 0, desc.num_classes, "training attack classifiers")
        scores = self._classify(train_f, train_l, train_c, audit_f, ctx.audit_y, params, ctx)
        return AttackOutput(scores=scores, facts={
            "reference_models": float(params.reference_models),
            "reference_cache_hit": float(refs.cache_hit), **refs.facts})

    @staticmethod
    def _classify(
        train_f: np.ndarray, train_l: np.ndarray, train_c: np.ndarray, audit_f: np.ndarray,
        audit_c: np.ndarray, params: ShadowParams, ctx: RunContext,
    ) -> np.ndarray:
        def fit(f: np.ndarray, lab: np.ndarray) -> HistGradientBoostingClassifier:
            clf = HistGradientBoostingClassifier(max_iter=params.max_iter,
                                                 random_state=ctx.seed % 2**32)
            return clf.fit(f, lab)

        onehot = np.eye(int(max(train_c.max(), audit_c.max())) + 1)
        global_clf = fit(np.column_stack([train_f, onehot[train_c]]), train_l)
        scores = global_clf.predict_proba(np.column_stack([audit_f, onehot[audit_c]]))[:, 1]
        for c in np.unique(audit_c):
            ctx.check_cancelled()
            sel = train_c == c
            if sel.sum() < MIN_PER_CLASS or len(np.unique(train_l[sel])) < 2:
                continue
            clf = fit(train_f[sel], train_l[sel])
            scores[audit_c == c] = clf.predict_proba(audit_f[audit_c == c])[:, 1]
        return scores
