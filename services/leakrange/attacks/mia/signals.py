"""Per-record membership signals from target outputs (or local logits under white-box access).

Carlini et al. (2022) recommend the logit-scaled confidence ``phi = log(p_y / (1 - p_y))``,
computed stably from logits as ``z_y - logsumexp(z_{j != y})``. From probabilities, the
non-true mass is the sum of the other classes' probabilities (not ``1 - p_y``, which a float32
``p_y`` rounds to 0 once the margin passes ~16) and zeros are clipped to the smallest positive
float32, so a float32 API output loses no phi range that float32 can carry.

Reference models' logits are shaped by the target's own access policy before their signals are
taken (``policy_signals``), so the target's and the references' phi are computed the same way
(same dtype, rounding, top-k and clipping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from leakrange.attacks.context import RunContext
from leakrange.common.errors import FailedPrecondition
from leakrange.common.query_budget import remaining_is_limited
from leakrange.common.threat_model import OutputKind
from leakrange.target.client import PredictOutput, TargetDescription
from leakrange.target.policy import AccessPolicy, shape_outputs

EPS = float(np.finfo(np.float32).smallest_subnormal)
"""Smallest positive float32 (1.4e-45): a zero output is clipped here, log(EPS) = -103.3."""


@dataclass(frozen=True)
class Signals:
    """True-class probability, its log and the logit-scaled confidence, one per record."""

    prob: np.ndarray
    log_prob: np.ndarray
    phi: np.ndarray


def from_logits(logits: np.ndarray, y: np.ndarray) -> Signals:
    """``logits`` [..., n, C] (any leading dims, e.g. reference models), ``y`` [n]."""
    logits = np.asarray(logits, dtype=np.float64)
    idx = np.broadcast_to(y, logits.shape[:-1])[..., None]
    true = np.take_along_axis(logits, idx, axis=-1)[..., 0]
    lse_all = logsumexp(logits, axis=-1)
    others = logits.copy()
    np.put_along_axis(others, idx, -np.inf, axis=-1)
    lse_rest = logsumexp(others, axis=-1)
    log_prob = true - lse_all
    return Signals(prob=np.exp(log_prob), log_prob=log_prob, phi=true - lse_rest)


def from_probabilities(probs: np.ndarray, y: np.ndarray) -> Signals:
    probs = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
    idx = np.broadcast_to(y, probs.shape[:-1])[..., None]
    p_y = np.take_along_axis(probs, idx, -1)[..., 0]
    others = probs.copy()
    np.put_along_axis(others, idx, 0.0, axis=-1)
    return _from_true_and_rest(p_y, others.sum(axis=-1))


def from_topk(values: np.ndarray, indices: np.ndarray, y: np.ndarray, num_classes: int) -> Signals:
    """Top-k probabilities: p_y if y is returned, else the unreturned mass spread evenly."""
    values = np.asarray(values, dtype=np.float64)
    hit = indices == y[:, None]
    k = values.shape[1]
    unreturned = np.clip(1.0 - values.sum(axis=1), 0.0, 1.0)
    fallback = unreturned / max(1, num_classes - k)
    returned = hit.any(axis=1)
    p_y = np.where(returned, (values * hit).sum(axis=1), fallback)
    # Non-true mass: the other returned values plus what was not returned (exact when y is
    # returned, no 1 - p_y cancellation); 1 - p_y when y was not returned.
    rest = np.where(returned, (values * ~hit).sum(axis=1) + unreturned, 1.0 - p_y)
    return _from_true_and_rest(p_y, np.clip(rest, 0.0, 1.0))


def _from_true_and_rest(p_y: np.ndarray, rest: np.ndarray) -> Signals:
    p = np.clip(p_y, EPS, 1.0)
    r = np.clip(rest, EPS, 1.0)
    return Signals(prob=p, log_prob=np.log(p), phi=np.log(p) - np.log(r))


def break_ties(fractions: np.ndarray, key: np.ndarray, bins: int) -> np.ndarray:
    """Order records that share a quantile score (``fractions`` in steps of ``1 / bins``) by a
    monotone ``key`` (higher = more member-like), without moving any record across bins."""
    return fractions + 1e-6 * (0.5 + np.arctan(key) / np.pi) / bins


def policy_signals(
    logits: np.ndarray, y: np.ndarray, policy: AccessPolicy, num_classes: int
) -> Signals:
    """Signals of reference logits ``[..., n, C]`` seen through ``policy``, exactly as the
    target's own outputs are (``shape_outputs`` then ``from_output``)."""
    arr = np.asarray(logits)
    lead = arr.shape[:-2]
    flat = arr.reshape(-1, arr.shape[-1])
    labels = np.broadcast_to(y, arr.shape[:-1]).reshape(-1)
    values, indices = shape_outputs(flat, policy)
    out = PredictOutput(policy.output, values, indices, -1, len(flat))
    sig = from_output(out, labels, num_classes)
    shape = (*lead, arr.shape[-2])
    return Signals(sig.prob.reshape(shape), sig.log_prob.reshape(shape), sig.phi.reshape(shape))


def from_output(out: PredictOutput, y: np.ndarray, num_classes: int) -> Signals:
    if out.kind == "logits":
        return from_logits(out.outputs, y)
    if out.kind == "probabilities":
        return from_probabilities(out.outputs, y)
    if out.kind == "topk" and out.indices is not None:
        return from_topk(out.outputs, out.indices, y, num_classes)
    raise FailedPrecondition("threat_model.access.output: target returns only labels")


def require_outputs(desc: TargetDescription, allowed: tuple[OutputKind, ...], attack: str) -> None:
    """Check the access the target actually grants (not only what the request claims)."""
    if desc.white_box:
        return
    if desc.output not in allowed:
        raise FailedPrecondition(
            f"threat_model.access.output: attack '{attack}' cannot run on the target's "
            f"'{desc.output}' outputs"
        )


class TargetOracle:
    """The adversary's view of the target: queries through the API, or local logits when the
    policy is white-box (weights fetched with GetWeights)."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self.desc = ctx.target.describe()
        self._local = None
        if self.desc.white_box:
            from leakrange.models import model_from_bytes

            ref = ctx.target.get_weights()
            self._local, _, _ = model_from_bytes(ctx.store.get_bytes(ref))

    @property
    def white_box(self) -> bool:
        return self._local is not None

    @property
    def policy(self) -> AccessPolicy:
        """How the adversary sees the target's outputs (white-box: raw logits)."""
        if self.white_box:
            return AccessPolicy("logits")
        return AccessPolicy(self.desc.output, self.desc.top_k, self.desc.rounding)

    def reference_signals(self, logits: np.ndarray, y: np.ndarray) -> Signals:
        """Signals of reference-model logits computed as the target's are (same policy)."""
        return policy_signals(logits, y, self.policy, self.desc.num_classes)

    def outputs(self, x: np.ndarray, phase: str = "querying") -> PredictOutput:
        """What the adversary sees for ``x``: local logits under white-box, else the API's."""
        if self._local is not None:
            from leakrange.models import predict_logits

            return PredictOutput("logits", predict_logits(self._local, x), None, -1, len(x))
        return self.query(x, phase)

    def signals(self, x: np.ndarray, y: np.ndarray, phase: str = "querying") -> Signals:
        return from_output(self.outputs(x, phase), y, self.desc.num_classes)

    def labels(self, x: np.ndarray, phase: str = "querying") -> np.ndarray:
        out = self.outputs(x, phase)
        if out.kind == "label":
            return out.outputs.astype(np.int64)
        if out.kind == "topk" and out.indices is not None:
            return out.indices[:, 0]
        return out.outputs.argmax(axis=1)

    def ensure_budget(self, needed: int, attack: str) -> None:
        """Fail before any work when the query budget cannot cover the attack."""
        if self.white_box:
            return
        left = self.desc.remaining_budget
        if remaining_is_limited(left) and needed > left:
            raise FailedPrecondition(
                f"threat_model.access.query_budget: attack '{attack}' needs {needed} queries, "
                f"{left} left"
            )

    def query(self, x: np.ndarray, phase: str = "querying") -> PredictOutput:
        """Query in chunks so progress and cancellation are reported between batches."""
        ctx = self._ctx
        chunk = max(1, self.desc.max_batch)
        parts: list[PredictOutput] = []
        for start in range(0, len(x), chunk):
            ctx.check_cancelled()
            parts.append(ctx.target.predict(x[start:start + chunk]))
            ctx.progress(phase, min(start + chunk, len(x)), len(x), "records queried")
        indices = [p.indices for p in parts if p.indices is not None]
        return PredictOutput(
            kind=parts[0].kind,
            outputs=np.concatenate([p.outputs for p in parts]),
            indices=np.concatenate(indices) if indices else None,
            remaining_budget=parts[-1].remaining_budget,
            records=len(x),
        )

