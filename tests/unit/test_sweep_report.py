"""The report's sweep part: per-variant utility against the strongest attack, the frontier
figure, the computed recommendation, and disparate vulnerability per subgroup; the page renders
in headless Chromium when it is installed."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.orchestrator.subgroups import Subgroups
from leakrange.report import AttackOutcome, Report, TargetInfo, build_report, render_html
from leakrange.report.sweep import VariantOutcomes, accuracy_estimate
from leakrange.scoring.subgroups import subgroup_findings

N = 1000  # members and non-members each
CREATED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
FINISHED = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
THREAT = ThreatModel(access=Access(output="probabilities"), knowledge=Knowledge())
RNG = np.random.default_rng(0)
MEMBER = RNG.permutation(np.r_[np.ones(N, bool), np.zeros(N, bool)])
# Subgroup 1 ("Female", a third of the records) leaks much more than subgroup 0 ("Male").
CODES = (RNG.random(2 * N) < 1 / 3).astype(np.int64)
GROUPS = Subgroups("sex", ("Male", "Female"), CODES, 0.05)


def _scores(shift: float, extra: float = 0.0, seed: str = "") -> np.ndarray:
    noise = np.random.default_rng(zlib.crc32(seed.encode())).normal(0.0, 1.0, 2 * N)
    return noise + MEMBER * (shift + extra * CODES)


def _variant(name: str, accuracy: float, shifts: tuple[float, ...], defences: dict,
             extra: float = 0.0) -> VariantOutcomes:
    target = TargetInfo(model_kind="mlp", dataset="adult", n_members=N, n_nonmembers=N,
                        train_size=N, train_accuracy=0.99, test_accuracy=accuracy,
                        test_size=4000, defences=defences)
    outcomes = [AttackOutcome("mia", f"{attack} [{name}]", _scores(s, extra, f"{name}:{attack}"),
                              MEMBER,
                              evidence={"subgroups": GROUPS})
                for attack, s in zip(("loss", "rmia"), shifts, strict=True)]
    return VariantOutcomes(name, {"privacy": None}, target, outcomes)


def _dp(eps: float) -> dict:
    return {"dp_sgd": {"claimed_epsilon": eps, "epsilon": eps * 0.99, "delta": 1e-5,
                       "max_grad_norm": 1.0}}


def _report(variants: list[VariantOutcomes]) -> Report:
    return build_report(
        exercise_id="ex", name="sweep", created=CREATED, finished=FINISHED, threat_model=THREAT,
        target=variants[0].target, outcomes=[o for v in variants for o in v.outcomes],
        n_bootstrap=100, seed=0, variants=variants)


def test_sweep_table_and_recommendation_follow_the_numbers() -> None:
    report = _report([
        _variant("no DP", 0.84, (0.6, 1.5), {}, extra=1.0),
        _variant("epsilon 8", 0.83, (0.0, 0.4), _dp(8)),
        _variant("epsilon 4", 0.8232, (0.0, 0.0), _dp(4)),
        _variant("epsilon 1", 0.76, (0.0, 0.0), _dp(1)),
    ])
    sweep = report.sweep
    assert sweep is not None and sweep.baseline == "no DP"
    by = {v.name: v for v in sweep.variants}
    assert [v.name for v in sweep.variants] == ["no DP", "epsilon 8", "epsilon 4", "epsilon 1"]
    base = by["no DP"]
    assert base.strongest_attack == "mia/rmia [no DP]" and base.at_chance is False
    assert base.auc is not None and base.auc.lower > 0.8
    assert by["epsilon 8"].at_chance is False  # AUC ~0.61: clearly above chance
    assert by["epsilon 4"].at_chance is True and by["epsilon 1"].at_chance is True
    assert by["epsilon 4"].accuracy_kept == pytest.approx(0.98)
    # 95 % Wilson interval of 0.8232 over 4,000 test records: about +-1.2 points.
    acc = by["epsilon 4"].test_accuracy
    assert acc is not None and acc.ci_low == pytest.approx(0.811, abs=2e-3)
    assert acc.ci_high == pytest.approx(0.835, abs=2e-3)
    text = sweep.recommendation
    assert text.startswith("epsilon 4 keeps 98 % of the accuracy of no DP (82.3 % against "
                           "84.0 %) and brings the strongest attack")
    assert "to chance within its 95 % confidence interval" in text
    assert "Also at chance, at lower accuracy: epsilon 1." in text
    assert "Comparing the variants: epsilon 4 keeps 98 %" in report.overall.summary
    assert report.overall.worst_attack == "mia/rmia [no DP]"
    # The strongest attack's subgroup findings travel with each variant.
    groups = base.subgroups
    assert groups is not None and groups["most_exposed"] == "Female" and groups["gap_clear"]


def test_recommendation_when_no_variant_or_every_variant_is_at_chance() -> None:
    leaky = _report([_variant("no DP", 0.84, (1.5, 2.0), {}),
                     _variant("epsilon 8", 0.83, (0.8, 1.0), _dp(8))]).sweep
    assert leaky is not None
    assert leaky.recommendation.startswith(
        "No variant brings the strongest attack to chance within its confidence interval. "
        "The least exposed is epsilon 8")
    better = _report([_variant("no DP", 0.82, (0.6, 1.5), {}),
                      _variant("epsilon 8", 0.83, (0.0, 0.0), _dp(8))]).sweep
    assert better is not None  # DP can regularise an overfit model: say so, not "keeps 101 %"
    assert better.recommendation.startswith(
        "epsilon 8 loses no accuracy against no DP (83.0 % against 82.0 %) and brings")
    safe = _report([_variant("no DP", 0.84, (0.0, 0.0), {}),
                    _variant("epsilon 1", 0.70, (0.0, 0.0), _dp(1))]).sweep
    assert safe is not None
    assert safe.recommendation.startswith("Even no DP, without defences, leaves the strongest "
                                          "attack")


def test_disparate_vulnerability_numbers() -> None:
    scores = _scores(0.3, extra=2.0)  # Female members: shift 2.3, Male members: 0.3
    found = subgroup_findings(scores, MEMBER, GROUPS.names, CODES, "sex", 0.05,
                              n_bootstrap=200, seed=0)
    male, female = found["groups"]
    assert (male["n_members"] + female["n_members"], male["n_nonmembers"]
            + female["n_nonmembers"]) == (N, N)
    # Within each group: TPR at 5 % FPR of a unit-variance shift d is 1 - Phi(1.645 - d).
    assert male["tpr"]["value"] == pytest.approx(0.09, abs=0.05)
    assert female["tpr"]["value"] == pytest.approx(0.74, abs=0.07)
    assert female["tpr"]["ci_low"] < female["tpr"]["value"] < female["tpr"]["ci_high"]
    assert found["most_exposed"] == "Female" and found["gap_clear"]
    assert found["gap"] == pytest.approx(female["tpr"]["value"] - male["tpr"]["value"])
    # A group too small to resolve the FPR is marked, not measured at a made-up point.
    tiny = np.where(np.arange(2 * N) < 30, 2, CODES)
    few = subgroup_findings(scores, MEMBER, ("Male", "Female", "Other"), tiny, "sex", 0.05,
                            n_bootstrap=0, seed=0)
    assert few["groups"][2]["resolvable"] is False
    # A leak-free attack shows no clear gap.
    flat = subgroup_findings(_scores(0.0), MEMBER, GROUPS.names, CODES, "sex", 0.05,
                             n_bootstrap=200, seed=0)
    assert flat["gap_clear"] is False


def test_accuracy_interval() -> None:
    assert accuracy_estimate(None, 10) is None
    e = accuracy_estimate(0.5, 100)
    assert e is not None and e.ci_low == pytest.approx(0.404, abs=1e-3)
    assert accuracy_estimate(0.9, None) == accuracy_estimate(0.9, 0)


@functools.cache
def _sweep_html() -> str:
    return render_html(_report([
        _variant("no DP", 0.84, (0.6, 1.5), {}, extra=1.0),
        _variant("epsilon 4", 0.8232, (0.0, 0.0), _dp(4)),
    ]))


def test_sweep_section_renders() -> None:
    html = _sweep_html()
    section = html.split('<section class="sweep">', 1)[1].split("</section>", 1)[0]
    assert "Which defence to use: risk against utility" in section
    assert "epsilon 4 keeps 98 % of the accuracy" in section
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{2000,}"', section)
    table = section.split('class="sweep-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 3  # header + two variants
    assert "DP-SGD &epsilon; 4 (accountant 3.96)" in table
    assert "Who is exposed: members found per sex, by variant" in section
    # The membership section's disparate-vulnerability table: one row per attack.
    subgroups = html.split('class="subgroups"', 1)[1].split("</table>", 1)[0]
    assert subgroups.count("<tr>") == 5 and "sex = Female" in subgroups
    assert "Female" in subgroups and "(clear: the intervals do not overlap)" in subgroups
    assert "Training variant" in html and "Disparate vulnerability" in html  # glossary


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="headless Chromium not installed (Debian package 'chromium')")
def test_sweep_section_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(_sweep_html(), encoding="utf-8")
    # Chromium renders the page and runs a script that reports what a reader would see: the
    # frontier image decoded (its natural width), the recommendation's text.
    probe = (
        "<script>window.onload = () => { const img = document.querySelector('.sweep img');"
        "document.title = 'probe:' + img.naturalWidth + ':' + img.complete + ':' +"
        "document.querySelector('.recommendation').innerText.slice(0, 40); };</script>")
    page.write_text(page.read_text().replace("</body>", probe + "</body>"), encoding="utf-8")
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
         "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-500:]
    match = re.search(r"<title>probe:(\d+):(\w+):([^<]*)</title>", result.stdout)
    assert match, result.stdout[:500]
    assert int(match.group(1)) == 1100 and match.group(2) == "true"  # 10 in x 110 dpi
    assert match.group(3).startswith("Recommendation. epsilon 4 keeps 98")
