"""Exercise reports: the JSON schema, building from scored attacks, HTML rendering, storing."""

from leakrange.report.builder import AttackOutcome, attacker_phrase, build_report
from leakrange.report.html import render_html
from leakrange.report.publish import write_report
from leakrange.report.schema import (
    SCHEMA_VERSION,
    AttackReport,
    ExerciseInfo,
    Overall,
    Report,
    ScoreHistogram,
    TargetInfo,
    ThreatModelSection,
    VulnerableRecord,
)

__all__ = [
    "SCHEMA_VERSION",
    "AttackOutcome",
    "AttackReport",
    "ExerciseInfo",
    "Overall",
    "Report",
    "ScoreHistogram",
    "TargetInfo",
    "ThreatModelSection",
    "VulnerableRecord",
    "attacker_phrase",
    "build_report",
    "render_html",
    "write_report",
]
