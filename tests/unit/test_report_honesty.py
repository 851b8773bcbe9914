"""Reports stay honest when scores tie (rounded outputs) and readable for everyone."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.report import AttackOutcome, TargetInfo, build_report, render_html
from leakrange.report.html import RISK_COLOURS

N = 500
THREAT = ThreatModel(access=Access(output="probabilities", rounding=1),
                     knowledge=Knowledge(data_fraction=0.5))


def _report(scores: np.ndarray, member: np.ndarray):
    return build_report(
        exercise_id="ex-t", name="ties", created=datetime(2026, 1, 1, tzinfo=UTC),
        finished=datetime(2026, 1, 1, 0, 5, tzinfo=UTC), threat_model=THREAT,
        target=TargetInfo(model_kind="mlp", dataset="adult", n_members=N, n_nonmembers=N,
                          train_size=5000),
        outcomes=[AttackOutcome("mia", "loss", scores, member)], n_bootstrap=50)


def _rounded_scores(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    member = rng.permutation(np.r_[np.ones(N, bool), np.zeros(N, bool)])
    raw = np.where(member, rng.normal(0.4, 1.0, 2 * N), rng.normal(0.0, 1.0, 2 * N))
    return np.round(raw, 0), member  # few distinct values, many ties


def test_ties_are_counted_explained_and_marked() -> None:
    scores, member = _rounded_scores()
    report = _report(scores, member)
    attack = report.attacks[0]
    assert attack.ties is not None
    _, counts = np.unique(scores, return_counts=True)
    assert attack.ties.tied_records == counts[counts > 1].sum()
    assert attack.ties.largest_group == counts.max()
    assert attack.ties.distinct_scores == len(counts)
    assert all(v.tied for v in attack.most_vulnerable)  # ten records, one shared top score
    html = render_html(report)
    assert "tied scores." in html and "counts a" in html
    assert "Ranks marked = are ties" in html and "<td class=\"num\">=1</td>" in html
    assert "Tied scores" in html  # glossary entry


def test_distinct_scores_have_no_tie_note() -> None:
    rng = np.random.default_rng(1)
    member = rng.permutation(np.r_[np.ones(N, bool), np.zeros(N, bool)])
    scores = rng.normal(size=2 * N) + member * 3.0
    report = _report(scores, member)
    assert report.attacks[0].ties is not None and report.attacks[0].ties.tied_records == 0
    assert not any(v.tied for v in report.attacks[0].most_vulnerable)
    html = render_html(report)
    assert "tie-note" not in html and "Ranks marked" not in html


def test_headline_count_of_people_carries_its_interval() -> None:
    rng = np.random.default_rng(2)
    member = rng.permutation(np.r_[np.ones(N, bool), np.zeros(N, bool)])
    scores = rng.normal(size=2 * N) + member * 2.5
    summary = _report(scores, member).overall.summary
    assert "that is about" in summary and "people (95% CI" in summary


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_badges_keep_white_text_readable() -> None:
    for level, colour in RISK_COLOURS.items():
        ratio = (1.05) / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, (level, round(ratio, 2))  # WCAG AA for normal text


def test_tables_scroll_on_narrow_screens() -> None:
    scores, member = _rounded_scores()
    html = render_html(_report(scores, member))
    assert html.count("<table") == html.count('<div class="scroll"><table')
