"""The generator comparison's plain-language summary is computed from the numbers only."""

from __future__ import annotations

from leakrange.metrics.estimate import Estimate
from leakrange.report.release_sweep import summary
from leakrange.report.sweep_schema import ReleaseCell, ReleaseVariant


def _variant(name: str, risk: Estimate, tstr: float) -> ReleaseVariant:
    cell = ReleaseCell(attack="linkability", measure="residual risk", estimate=risk,
                       at_chance=risk.lower <= 0.0)
    return ReleaseVariant(name=name, generator={"name": name}, cells=[cell],
                          strongest_attack="linkability", at_chance=cell.at_chance,
                          tstr_accuracy=tstr)


def test_summary_names_the_exposed_and_the_most_useful_release_at_chance() -> None:
    text = summary([_variant("copy", Estimate(value=0.4, ci_low=0.3, ci_high=0.5), 0.86),
                    _variant("dp 1", Estimate(value=0.01, ci_low=0.0, ci_high=0.05), 0.70),
                    _variant("dp 4", Estimate(value=0.02, ci_low=0.0, ci_high=0.06), 0.78)])
    assert text == (
        "Attacks beat the control records on copy (strongest linkability: residual risk "
        "40.0 % (30.0 %\u201350.0 %)). Every attack is at chance within its 95 % confidence "
        "interval on dp 1, dp 4; the most useful of them is dp 4 (a model trained on it scores "
        "78.0 % on real records).")


def test_summary_when_no_release_is_at_chance_or_measured() -> None:
    exposed = _variant("copy", Estimate(value=0.4, ci_low=0.3, ci_high=0.5), 0.86)
    assert summary([exposed]).endswith(
        "No generator brings every attack to chance within its confidence interval.")
    assert summary([]) == ("No attack finished on any generator, so the releases cannot be "
                           "compared.")
