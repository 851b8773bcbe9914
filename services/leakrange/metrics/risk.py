"""Risk levels and plain-language summaries for non-experts, and Anonymeter's residual risk.

Membership-inference risk levels use the *lower* 95 % confidence bounds, so a level is only
claimed when the data support it, and they look first at TPR at low FPR (can the attacker
confidently single out some records?) and only then at AUC (average-case distinguishability):

============  ===============================================================================
critical      TPR at 0.1 % FPR, lower bound > 10 %: at 1 false accusation per 1,000 non-members
              the attacker finds more than 100 of every 1,000 training records (100x chance).
high          TPR at 0.1 % FPR lower bound > 1 % (10x chance), or TPR at 1 % FPR lower bound
              > 5 % (5x chance), or AUC lower bound > 0.70.
medium        TPR at 1 % FPR lower bound > 2 % (2x chance), or AUC lower bound > 0.55.
low           none of the above: no measurable advantage over guessing at this audit size.
============  ===============================================================================

Chance level is TPR = FPR. With fewer than 1,000 non-members TPR at 0.1 % FPR equals TPR at 0 %
FPR, which only makes the critical/high tests stricter.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal

from leakrange.common.errors import InvalidArgument
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.mia_metrics import MiaMetrics, OperatingPoint

RiskLevel = Literal["low", "medium", "high", "critical"]
RISK_ORDER: tuple[RiskLevel, ...] = ("low", "medium", "high", "critical")

CRITICAL_TPR_AT_01 = 0.10
HIGH_TPR_AT_01 = 0.01
HIGH_TPR_AT_1 = 0.05
HIGH_AUC = 0.70
MEDIUM_TPR_AT_1 = 0.02
MEDIUM_AUC = 0.55
# The summary quotes the 0.1 % operating point when it finds at least 5 in 1,000 (5x chance).
_QUOTE_01_MIN_TPR = 0.005


def risk_level(m: MiaMetrics) -> RiskLevel:
    """The risk level of one attack's metrics (thresholds in the module docstring)."""
    t01 = _tpr(m, "0.1%").lower
    t1 = _tpr(m, "1%").lower
    auc = m.auc.lower
    if t01 > CRITICAL_TPR_AT_01:
        return "critical"
    if t01 > HIGH_TPR_AT_01 or t1 > HIGH_TPR_AT_1 or auc > HIGH_AUC:
        return "high"
    if t1 > MEDIUM_TPR_AT_1 or auc > MEDIUM_AUC:
        return "medium"
    return "low"


def plain_summary(m: MiaMetrics, n_members_total: int, threat_text: str) -> str:
    """A few sentences for a non-expert.

    ``threat_text`` completes "An attacker ...", e.g. "with API access to probabilities";
    ``n_members_total`` is the size of the training set the audit set was drawn from.
    """
    if n_members_total < 0:
        raise InvalidArgument("n_members_total", "must be >= 0")
    who = f"An attacker {threat_text.strip()}" if threat_text.strip() else "An attacker"
    level = risk_level(m)
    auc = m.auc
    if level == "low":
        auc_text = _ci_text(auc, 2, m.confidence)
        return (
            f"{who} could not reliably tell training records apart from other records: "
            f"the attack did no measurably better than guessing (AUC {auc_text}, "
            f"where 0.50 is guessing). Risk level: low."
        )
    key, op = _quoted_point(m)
    found = _per_thousand(op.tpr)
    if op.fpr == 0.0:
        false_part = (
            f"without falsely accusing any of the {m.n_nonmembers:,} non-members it was tested on"
        )
    else:
        false_part = f"while falsely accusing only {_false_rate_text(op.fpr)} non-members"
    sentences = [f"{who} can pick out about {found} of every 1,000 training records {false_part}."]
    if n_members_total > 0:
        people = round(op.tpr * n_members_total)
        text = f"Across all {n_members_total:,} training records that is about {people:,} people"
        estimate = m.tpr_at_fpr.get(key)
        if estimate is not None and estimate.ci_low is not None and estimate.ci_high is not None:
            low, high = (round(b * n_members_total) for b in (estimate.ci_low, estimate.ci_high))
            text += f" ({m.confidence:.0%} CI {low:,} to {high:,})"
        sentences.append(text + ".")
    precision = op.precision.get("10%")
    if precision is not None:
        sentences.append(
            f"If only 1 in 10 of the people it checks were in the training data, about "
            f"{precision:.0%} of its accusations would be right."
        )
    sentences.append(f"Risk level: {level}.")
    return " ".join(sentences)


def synthetic_risk(
    attack_rate: float,
    control_rate: float,
    n: int,
    *,
    n_control: int | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Residual privacy risk of an attack on synthetic data, as in Anonymeter.

    risk = (attack - control) / (1 - control): the attack's success on the training records beyond
    its success on a control set the generator never saw, relative to the room left above the
    control. Method of Giomi et al., "A Unified Framework for Quantifying Privacy Risk in
    Synthetic Data", PoPETs 2023 (Anonymeter): each rate is a Wilson score estimate (centre and
    half-width) from its number of trials, the half-widths are propagated to the risk to first
    order, and value and bounds are clipped to [0, 1] (a control more attackable than the
    training set gives risk 0).

    ``attack_rate`` and ``control_rate`` are success fractions over ``n`` attack trials
    (``n_control`` control trials; defaults to ``n``).
    """
    nc = n if n_control is None else n_control
    if n < 1 or nc < 1:
        raise InvalidArgument("n", "must be >= 1")
    for field, rate in (("attack_rate", attack_rate), ("control_rate", control_rate)):
        if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
            raise InvalidArgument(field, "must be a fraction in [0, 1]")
    if not 0.0 < confidence < 1.0:
        raise InvalidArgument("confidence", "must be in (0, 1)")
    z = NormalDist().inv_cdf(0.5 * (1.0 + confidence))
    attack, attack_err = wilson(round(attack_rate * n), n, z)
    control, control_err = wilson(round(control_rate * nc), nc, z)
    if control >= 1.0:
        raise InvalidArgument("control_rate", "leaves no room for residual risk")
    residual = (attack - control) / (1.0 - control)
    d_attack = 1.0 / (1.0 - control)
    d_control = (attack - 1.0) / (1.0 - control) ** 2
    error = math.hypot(attack_err * d_attack, control_err * d_control)
    return Estimate(
        value=_clip01(residual), ci_low=_clip01(residual - error), ci_high=_clip01(residual + error)
    )


def wilson(n_success: int, n_total: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a binomial rate as (centre, half-width) (Wilson 1927)."""
    z2 = z * z
    denominator = n_total + z2
    centre = (n_success + 0.5 * z2) / denominator
    half = (z / denominator) * math.sqrt(n_success * (n_total - n_success) / n_total + 0.25 * z2)
    return centre, half


def _tpr(m: MiaMetrics, key: str) -> Estimate:
    if key not in m.tpr_at_fpr:
        raise InvalidArgument("metrics.tpr_at_fpr", "needs the 1% and 0.1% FPR points")
    return m.tpr_at_fpr[key]


def _quoted_point(m: MiaMetrics) -> tuple[str, OperatingPoint]:
    low = m.precision_at_prior.get("0.1%")
    if low is not None and m.n_nonmembers >= 1000 and low.tpr >= _QUOTE_01_MIN_TPR:
        return "0.1%", low
    if "1%" in m.precision_at_prior:
        return "1%", m.precision_at_prior["1%"]
    if low is not None:
        return "0.1%", low
    raise InvalidArgument("metrics.precision_at_prior", "needs the 1% or 0.1% operating point")


def _per_thousand(rate: float) -> str:
    v = rate * 1000.0
    if v >= 9.5:
        return f"{round(v):,}"
    if v < 0.05:
        return "0"
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _false_rate_text(fpr: float) -> str:
    """0.01 -> "10 in 1,000"; 0.0005 -> "1 in 2,000" (rates under 1 in 1,000 read as 1 in N)."""
    if fpr * 1000.0 >= 0.95:
        return f"{_per_thousand(fpr)} in 1,000"
    return f"1 in {int(float(f'{1.0 / fpr:.2g}')):,}"


def _ci_text(e: Estimate, digits: int, confidence: float) -> str:
    if e.ci_low is None or e.ci_high is None:
        return f"{e.value:.{digits}f}"
    return (
        f"{e.value:.{digits}f}, {confidence:.0%} CI {e.ci_low:.{digits}f} to {e.ci_high:.{digits}f}"
    )


def _clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)
