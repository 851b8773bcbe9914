"""Scorer for attacks on a synthetic release, judged as in Anonymeter (Giomi et al., "A Unified
Framework for Quantifying Privacy Risk in Synthetic Data", PoPETs 2023).

Each evaluation compares the attack's success on original records (the generator's training
set) with its success on control records (never seen by the generator) and with a naive
baseline; residual risk = (attack - control) / (1 - control) with Wilson-based intervals
(``metrics.risk.synthetic_risk``). The evaluation is chosen by the output the result carries
(``EVALUATIONS``), never by attack name:

* ``predicate_*`` (singling out): a predicate succeeds if it matches exactly one record;
  original and control are compared on equal-size tables (the original cut into
  control-sized chunks; a small table is singled out more easily). Baseline: the same predicates'
  columns and operators with values drawn uniformly from the synthetic table's column ranges.
* ``links`` (linkability): the guess for target i is right if it names i's own second half.
  Baseline: a uniformly random row.
* ``guesses`` (attribute inference): right if equal to the secret. Baseline: the secret of a
  random synthetic record, compared with each target *by position* (Anonymeter's reference code
  compares by row label and reports a baseline far too low; ``baseline_hits`` pins ours).
* ``inpainted`` (in-painting): per target, the share of its hidden cells filled in right
  (categorical: equal; numeric: within 5 % of the true value, Anonymeter's tolerance), and per
  masked attribute. Baseline: the hidden cells of a random synthetic record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from leakrange.artifacts import ArtifactRef, ArtifactStore
from leakrange.common.attack_info import SYNTHETIC_RISK
from leakrange.common.errors import InvalidArgument
from leakrange.common.tensors import from_proto
from leakrange.metrics.estimate import Estimate
from leakrange.metrics.risk import RiskLevel, synthetic_risk, wilson
from leakrange.scoring.base import Accepted, Scorer, SectionSpec
from leakrange.scoring.findings import AttackReport
from leakrange.scoring.outcome import AttackOutcome
from leakrange.scoring.rates import Z95
from leakrange.scoring.tensor_results import load_arrays, store_arrays
from leakrange.synthetic.predicates import check_predicates, match_counts
from leakrange.v1 import attack_pb2

GLOSSARY = (
    ("Residual risk", "(attack success on the real records - success on control records) / "
     "(1 - control success): what the synthetic table leaks about the people in it beyond what "
     "it reveals about anyone. 0 = nothing, 1 = everything."),
    ("Control records", "Real records the generator never saw. An attack that works as well on "
     "them only uses what is true of everybody."),
    ("Singling out", "Writing a description that fits exactly one person in the real data."),
    ("Linkability", "Joining two files about the same people with the help of the synthetic "
     "table."),
    ("TSTR", "Train on synthetic, test on real: accuracy of a model trained on the synthetic "
     "table on real records, beside one trained on the real table (TRTR)."),
)

# Attack on originals, on controls, baseline; per trial 1 = success (control successes may be
# fractions: the share of equal-size chunks).
Hits = tuple[np.ndarray, np.ndarray, np.ndarray]


def _outputs(result: attack_pb2.AttackResult, names: tuple[str, ...], limit: int
             ) -> dict[str, np.ndarray]:
    return {n: from_proto(result.outputs[n], f"result.outputs.{n}", max_elements=limit)
            for n in names}


def _seed_rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, salt]))


def _matches(table: np.ndarray, col: np.ndarray, op: np.ndarray, value: np.ndarray
             ) -> np.ndarray:
    return (match_counts(table, col, op, value) == 1).astype(np.float64)


def chunked_matches(table: np.ndarray, size: int, col: np.ndarray, op: np.ndarray,
                    value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per predicate, the share of disjoint random ``size``-row chunks of ``table`` in which it
    matches exactly one row (a table of the control's size; leftover rows are not used)."""
    chunks = max(len(table) // size, 1)
    rows = rng.permutation(len(table))[:chunks * size].reshape(chunks, -1)
    return np.mean([_matches(table[r], col, op, value) for r in rows], axis=0)


def singling_out_hits(arrays: dict[str, np.ndarray], truth: Any, seed: int) -> Hits:
    """Predicates that single out one original record vs one control record, on tables of
    equal size: a predicate matches exactly one row far more often in a small table, so the
    original is cut into control-sized chunks (their average success per predicate).

    Why not Anonymeter's way (predicates judged on the whole original, the control's count
    scaled to the original's size by a curve fitted on control subsets of min(1000, n) to n
    rows): with a control of 1,000 rows or fewer all its subsets have one size and the fit is
    undetermined, and with a spread of sizes the extrapolation tried here gave a false
    positive on a release that never saw the members (8 %, CI 2.5-13 %, 3,000 originals vs
    1,000 controls). Chunking never inflates the risk; its cost is sensitivity: a predicate
    that isolates its source record counts in one chunk of ``len(original) // size``, so a
    noisy copy's signal is diluted that many times (a DPO should read a low singling-out risk
    beside linkability and in-painting, which have no such dilution)."""
    col, op, value = (arrays["predicate_columns"], arrays["predicate_ops"],
                      arrays["predicate_values"])
    rng = _seed_rng(seed, 0x5160)
    original, control = truth.original, truth.control
    size = min(len(original), len(control))
    low, high = truth.synthetic.min(axis=0), truth.synthetic.max(axis=0)
    c = np.maximum(col, 0)
    random_value = low[c] + rng.random(col.shape) * (high[c] - low[c])
    random_value = np.where(truth.columns.categorical[c], np.round(random_value), random_value)
    return (chunked_matches(original, size, col, op, value, _seed_rng(seed, 0xC4)),
            chunked_matches(control, size, col, op, value, _seed_rng(seed, 0xC5)),
            chunked_matches(original, size, col, op, random_value, _seed_rng(seed, 0xC4)))


def links_hits(arrays: dict[str, np.ndarray], truth: Any, seed: int) -> Hits:
    links = arrays["links"]
    hit = links == truth.link_answer
    guess = _seed_rng(seed, 0x11CC).integers(0, len(truth), len(truth))
    m = truth.is_member
    return hit[m], hit[~m], (guess == truth.link_answer)[m]


def baseline_hits(truth_secret: np.ndarray, synthetic_secret: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """The naive inference baseline: a random synthetic record's secret per target, compared
    with the target's secret by position (plain arrays, no index alignment)."""
    guess = synthetic_secret[rng.integers(0, len(synthetic_secret), len(truth_secret))]
    return np.asarray(guess) == np.asarray(truth_secret)


def guesses_hits(arrays: dict[str, np.ndarray], truth: Any, seed: int) -> Hits:
    secret = truth.audit[:, truth.secret].astype(np.int64)
    hit = arrays["guesses"] == secret
    m = truth.is_member
    base = baseline_hits(secret[m], truth.synthetic[:, truth.secret].astype(np.int64),
                         _seed_rng(seed, 0xBA5E))
    return hit[m], hit[~m], base


def _check_predicate_arrays(a: dict[str, np.ndarray], truth: Any) -> None:
    check_predicates(a["predicate_columns"], a["predicate_ops"], a["predicate_values"],
                     len(truth.columns.names))


def _check_per_target(name: str, low: int) -> Callable[[dict[str, np.ndarray], Any], None]:
    def check(a: dict[str, np.ndarray], truth: Any) -> None:
        v = a[name]
        if v.dtype.kind not in "iu" or v.shape != (len(truth),):
            raise InvalidArgument(f"result.outputs.{name}", "expected one integer per target")
        if v.size and (v.min() < low or v.max() >= max(len(truth), 1) * 1_000_000):
            raise InvalidArgument(f"result.outputs.{name}", "out of range")
    return check


def inpainted_hits(arrays: dict[str, np.ndarray], truth: Any, seed: int) -> Hits:
    """Per in-painting target, the share of its hidden cells filled in right (per masked
    attribute: ``inpainting_details``). Baseline: each original target's hidden cells filled
    from one random synthetic record."""
    cells = cell_hits(arrays["inpainted"], truth)
    guess = truth.synthetic[_seed_rng(seed, 0x1A7).integers(0, len(truth.synthetic),
                                                            len(truth.inpaint_rows))]
    base = cell_hits(guess, truth)
    hidden = ~truth.inpaint_known
    per_target = (cells * hidden).sum(axis=1) / np.maximum(hidden.sum(axis=1), 1)
    per_base = (base * hidden).sum(axis=1) / np.maximum(hidden.sum(axis=1), 1)
    m = truth.inpaint_member
    return per_target[m], per_target[~m], per_base[m]


NUMERIC_TOLERANCE = 0.05  # a numeric cell is right within 5 % of its true value (Anonymeter)


def cell_hits(filled: np.ndarray, truth: Any) -> np.ndarray:
    """targets x columns: categorical cells equal, numeric cells within the tolerance."""
    real = truth.inpaint_rows
    close = np.abs(filled - real) <= NUMERIC_TOLERANCE * np.abs(real) + 1e-12
    return np.where(truth.columns.categorical[None, :], filled == real, close)


def inpainting_details(arrays: dict[str, np.ndarray], truth: Any, seed: int
                       ) -> dict[str, Any]:
    """Per masked attribute: the residual risk over the targets that had it hidden."""
    cells = cell_hits(arrays["inpainted"], truth)
    hidden, m = ~truth.inpaint_known, truth.inpaint_member
    out: dict[str, Any] = {}
    for j, name in enumerate(truth.columns.names):
        a, c = cells[hidden[:, j] & m, j], cells[hidden[:, j] & ~m, j]
        if len(a) and len(c):
            est = risk_estimates((a.astype(float), c.astype(float), np.zeros(0)))
            out[name] = {k: est[k].model_dump() for k in ("risk", "attack_rate", "control_rate")}
    return {"per_attribute": out}


def _check_inpainted(a: dict[str, np.ndarray], truth: Any) -> None:
    v = a["inpainted"]
    if truth.inpaint_rows is None:
        raise InvalidArgument("result.outputs.inpainted", "this release has no in-painting targets")
    if v.dtype.kind != "f" or v.shape != truth.inpaint_rows.shape:
        raise InvalidArgument("result.outputs.inpainted",
                              "expected one row of numbers per in-painting target")
    if not np.isfinite(v).all():
        raise InvalidArgument("result.outputs.inpainted", "must be finite")


def _no_details(arrays: dict[str, np.ndarray], truth: Any, seed: int) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Evaluation:
    """One way of judging a result, chosen by the outputs it carries."""

    outputs: tuple[str, ...]
    what: str
    check: Callable[[dict[str, np.ndarray], Any], None]
    hits: Callable[[dict[str, np.ndarray], Any, int], Hits]
    details: Callable[[dict[str, np.ndarray], Any, int], dict[str, Any]] = _no_details


EVALUATIONS: tuple[Evaluation, ...] = (
    Evaluation(("predicate_columns", "predicate_ops", "predicate_values"), "singling out",
               _check_predicate_arrays, singling_out_hits),
    Evaluation(("links",), "linkability", _check_per_target("links", -1), links_hits),
    Evaluation(("guesses",), "attribute inference", _check_per_target("guesses", 0),
               guesses_hits),
    Evaluation(("inpainted",), "in-painting", _check_inpainted, inpainted_hits,
               inpainting_details),
)


def evaluation(keys: Sequence[str]) -> Evaluation:
    for ev in EVALUATIONS:
        if all(k in keys for k in ev.outputs):
            return ev
    raise InvalidArgument("result.outputs", "no predicates, links, guesses or in-painted rows")


def scaled_rate(values: np.ndarray) -> Estimate:
    """Mean success with a 95 % Wilson interval; successes may be fractional (chunk shares)."""
    n = len(values)
    if n == 0:
        return Estimate(value=0.0)
    value = min(float(np.mean(values)), 1.0)
    centre, half = wilson(round(value * n), n, Z95)
    return Estimate(value=value, ci_low=max(0.0, centre - half), ci_high=min(1.0, centre + half))


def risk_estimates(hits: Hits) -> dict[str, Estimate]:
    attack, control, baseline = hits
    n, nc = max(len(attack), 1), max(len(control), 1)
    a, c = float(np.mean(attack)) if len(attack) else 0.0, \
        float(np.mean(control)) if len(control) else 0.0
    return {"attack_rate": scaled_rate(attack), "control_rate": scaled_rate(control),
            "baseline_rate": scaled_rate(baseline),
            "risk": synthetic_risk(a, min(c, 1.0 - 1e-9), n, n_control=nc)}


def risk_level_of(risk: Estimate) -> RiskLevel:
    if risk.ci_low is None or risk.ci_low <= 0.0:
        return "low"
    if risk.value >= 0.5:
        return "critical"
    return "high" if risk.value >= 0.2 else "medium"


def _sentence(what: str, f: dict[str, Any]) -> str:
    r, a, c, b = (f["risk"], f["attack_rate"]["value"], f["control_rate"]["value"],
                  f["baseline_rate"]["value"])
    return (f"The {what} attack succeeded on {a:.0%} of real records the generator saw, "
            f"{c:.0%} of real records it never saw, and a naive guess on {b:.0%}; what the "
            f"synthetic table leaks about its people is a residual risk of {r['value']:.0%} "
            f"(95 % CI {r['ci_low']:.0%} to {r['ci_high']:.0%}).")


class SyntheticRiskScorer(Scorer):
    result_kind: ClassVar[str] = SYNTHETIC_RISK
    section: ClassVar[SectionSpec] = SectionSpec(
        title="Synthetic data release", template="sections/synthetic_risk.html.j2",
        glossary=GLOSSARY,
    )

    def accept(self, result: attack_pb2.AttackResult, truth: Any, store: ArtifactStore, *,
               n_bootstrap: int, seed: int) -> Accepted:
        ev = evaluation(list(result.outputs))
        arrays = _outputs(result, ev.outputs, 100_000 * 64)
        ev.check(arrays, truth)
        est = risk_estimates(ev.hits(arrays, truth, seed))
        return Accepted(artifact=store_arrays(store, arrays),
                        headline=tuple((k, est[k]) for k in ("risk", "attack_rate",
                                                              "control_rate")))

    def evidence(self, store: ArtifactStore, artifact: ArtifactRef, truth: Any
                 ) -> dict[str, Any]:
        from safetensors.numpy import load as load_tensors

        names = tuple(load_tensors(store.get_bytes(artifact)))
        return {"evidence": {"arrays": load_arrays(store, artifact, names), "truth": truth}}

    def attack_report(self, outcome: AttackOutcome, n_bootstrap: int, seed: int
                      ) -> AttackReport:
        common = outcome.common()
        ev = outcome.evidence
        if "arrays" not in ev:
            return AttackReport(status="failed", message="no result", **common)
        try:
            judged = evaluation(list(ev["arrays"]))
            hits = judged.hits(ev["arrays"], ev["truth"], seed)
            details = judged.details(ev["arrays"], ev["truth"], seed)
        except InvalidArgument as err:
            return AttackReport(status="failed", message=str(err), **common)
        est = risk_estimates(hits)
        findings: dict[str, Any] = {k: v.model_dump() for k, v in est.items()}
        findings.update(evaluation=judged.what, n_trials=len(hits[0]),
                        utility=ev["truth"].utility, generator=ev["truth"].generator, **details)
        findings["sentence"] = _sentence(judged.what, findings)
        return AttackReport(status="succeeded", risk_level=risk_level_of(est["risk"]),
                            findings=findings, **common)

    def strength(self, report: AttackReport) -> tuple[float, ...]:
        return (float(report.findings["risk"]["value"]),)

    def verdict(self, worst: AttackReport, *, train_size: int | None, attacker: str,
                n_scored: int) -> str:
        text = str(worst.findings["sentence"])
        if n_scored > 1:
            text += f" (Strongest of the {n_scored} attacks run: {worst.label}.)"
        return text

    def section_context(self, attacks: Sequence[AttackReport]) -> dict[str, Any]:
        utility = next((a.findings["utility"] for a in attacks if "utility" in a.findings), None)
        return {"utility": utility}
