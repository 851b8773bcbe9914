"""Report: building from scores, the JSON schema, the self-contained HTML page, storing both."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from markupsafe import escape

from leakrange.artifacts import FolderStore
from leakrange.common.errors import InvalidArgument
from leakrange.common.threat_model import Access, Knowledge, ThreatModel
from leakrange.report import (
    AttackOutcome,
    Report,
    TargetInfo,
    attacker_phrase,
    build_report,
    render_html,
    write_report,
)
from leakrange.report.html import duration, estimate_pct

N = 400  # members and non-members each
CREATED = datetime(2026, 11, 3, 10, 0, 0, tzinfo=UTC)
FINISHED = datetime(2026, 11, 3, 10, 42, 5, tzinfo=UTC)
THREAT = ThreatModel(access=Access(output="probabilities", query_budget=10_000),
                     knowledge=Knowledge(data_fraction=0.5))


def _audit(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    member = rng.permutation(np.r_[np.ones(N, bool), np.zeros(N, bool)])
    strong = np.where(member, rng.normal(2.5, 1.0, 2 * N), rng.normal(0.0, 1.0, 2 * N))
    weak = rng.normal(0.0, 1.0, 2 * N)
    return member, {"strong": strong, "weak": weak}


def _target() -> TargetInfo:
    return TargetInfo(model_kind="mlp", dataset="adult", n_members=N, n_nonmembers=N,
                      train_size=20_000, train_accuracy=0.97, test_accuracy=0.81)


def _report(name: str = "Adult MLP audit") -> tuple[Report, np.ndarray, dict[str, np.ndarray]]:
    member, scores = _audit()
    report = build_report(
        exercise_id="ex-1", name=name, created=CREATED, finished=FINISHED,
        threat_model=THREAT, target=_target(), n_bootstrap=50,
        outcomes=[
            AttackOutcome("mia", "lira", scores["strong"], member, {"n_reference": 8}, 12.5,
                          800, 8),
            AttackOutcome("mia", "loss", scores["weak"], member, {}, 1.0, 800, 0),
            AttackOutcome("mia", "shadow", error="target unavailable", seconds=3.0),
        ],
    )
    return report, member, scores


def test_build_report_scores_every_attack() -> None:
    report, _, _ = _report()
    assert report.schema_version == "1.0"
    assert report.exercise.duration_s == 42 * 60 + 5
    assert report.threat_model.description == THREAT.describe()
    assert report.threat_model.to_threat_model() == THREAT
    lira, loss, shadow = report.attacks
    assert lira.status == loss.status == "succeeded"
    assert lira.metrics is not None and loss.metrics is not None
    assert lira.metrics.auc.value > 0.9 and lira.risk_level in ("high", "critical")
    assert loss.metrics.auc.lower < 0.5 < loss.metrics.auc.upper and loss.risk_level == "low"
    assert (lira.queries_used, lira.reference_models, lira.params) == (800, 8, {"n_reference": 8})
    assert shadow.status == "failed" and shadow.metrics is None
    assert shadow.message == "target unavailable" and shadow.score_histogram is None
    assert report.overall.risk_level == lira.risk_level
    assert report.overall.worst_attack == "mia/lira"
    assert report.overall.summary.startswith(
        "An attacker with API access to the model's probabilities can pick out about"
    )
    assert "20,000 training records" in report.overall.summary


def test_histograms_and_most_vulnerable_records() -> None:
    report, member, scores = _report()
    lira = report.attacks[0]
    h = lira.score_histogram
    assert h is not None
    assert len(h.bins) == len(h.members) + 1 == len(h.nonmembers) + 1
    assert sum(h.members) == N and sum(h.nonmembers) == N
    assert h.bins[0] == pytest.approx(scores["strong"].min())
    assert h.bins[-1] == pytest.approx(scores["strong"].max())

    top = lira.most_vulnerable
    assert [v.rank for v in top] == list(range(1, 11))
    assert all(member[v.record_index] for v in top)
    expected = np.sort(scores["strong"][member])[::-1][:10]
    assert [v.score for v in top] == pytest.approx(expected.tolist())
    assert all(scores["strong"][v.record_index] == v.score for v in top)


def test_json_roundtrip() -> None:
    report, _, _ = _report()
    text = report.model_dump_json()
    again = Report.model_validate_json(text)
    assert again == report
    doc = json.loads(text)
    assert doc["exercise"]["created"].startswith("2026-11-03T10:00:00")
    assert set(doc["attacks"][0]["metrics"]["tpr_at_fpr"]) == {"10%", "1%", "0.1%", "0%"}
    assert doc["overall"]["worst_attack"] == "mia/lira"


def test_bad_scores_make_a_failed_attack_and_no_attacks_mean_unknown() -> None:
    member, scores = _audit()
    broken = scores["strong"].copy()
    broken[3] = np.nan
    report = build_report(
        exercise_id="ex-2", name="broken", created=CREATED, finished=FINISHED,
        threat_model=THREAT, target=_target(), n_bootstrap=0,
        outcomes=[AttackOutcome("mia", "lira", broken, member)],
    )
    attack = report.attacks[0]
    assert attack.status == "failed" and attack.message == "scores: must be finite"
    assert report.overall.risk_level == "unknown" and report.overall.worst_attack is None
    assert "could not be assessed" in report.overall.summary
    html = render_html(report)
    assert "could not be assessed" in html and "scores: must be finite" in html
    with pytest.raises(InvalidArgument, match="finished"):
        build_report(exercise_id="x", name="x", created=FINISHED, finished=CREATED,
                     threat_model=THREAT, target=_target(), outcomes=[])


def test_attacker_phrase_follows_threat_model() -> None:
    assert attacker_phrase(ThreatModel(access=Access(white_box=True))) == (
        "with a copy of the model's weights"
    )
    assert "labels only" in attacker_phrase(ThreatModel(access=Access(output="label")))
    assert "top-3" in attacker_phrase(ThreatModel(access=Access(output="topk", top_k=3)))


def test_html_is_self_contained_and_complete() -> None:
    report, _, _ = _report(name="Adult <MLP> & co")
    html = render_html(report)
    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "<script" not in lowered and "<link" not in lowered and "@import" not in lowered
    assert re.search(r"src=\"(?!data:)", html) is None
    # Summary first, escaped; the exercise name is escaped too.
    assert str(escape(report.overall.summary)) in html
    assert "Adult &lt;MLP&gt; &amp; co" in html and "<MLP>" not in html
    assert html.index("Privacy risk: ") < html.index("What the attacker could do")
    # One ROC plot + one histogram per scored attack, all inline PNGs that decode.
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    assert all(base64.b64decode(img).startswith(b"\x89PNG\r\n\x1a\n") for img in images)
    # The metrics table with CIs and the precision table.
    assert "<table" in html and "TPR at 0.1 % FPR" in html
    lira = report.attacks[0].metrics
    assert lira is not None
    assert str(escape(estimate_pct(lira.tpr_at_fpr["1%"]))) in html
    assert "Precision, prior 1 %" in html
    assert "did not finish: target unavailable" in html
    assert str(escape(report.threat_model.description)) in html
    assert "Glossary" in html and "AUC (area under the ROC curve)" in html
    assert f"#{report.attacks[0].most_vulnerable[0].record_index}" in html


def test_write_report_stores_json_and_html(tmp_path: Path) -> None:
    report, _, _ = _report()
    store = FolderStore(tmp_path / "store")
    json_ref, html_ref = write_report(report, store)
    assert json_ref.media_type == "application/json" and html_ref.media_type == "text/html"
    assert Report.model_validate_json(store.get_bytes(json_ref)) == report
    assert store.get_bytes(html_ref).decode("utf-8") == render_html(report)
    # Rendering is deterministic, so rewriting stores the same blobs.
    assert write_report(report, store) == (json_ref, html_ref)


def test_duration_format() -> None:
    assert duration(12.34) == "12.3 s"
    assert duration(185) == "3 min 5 s"
    assert duration(3725) == "1 h 2 min"
