"""Render a Report as one self-contained HTML page (inline CSS, plots as inline PNG data URIs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

import leakrange
from leakrange.metrics.estimate import Estimate
from leakrange.report.frontier_plot import frontier_plot
from leakrange.report.schema import AttackReport, Report
from leakrange.scoring import scorer_for

TEMPLATE = "report.html.j2"
SWEEP_GLOSSARY = (
    ("Training variant", "One version of the model, trained with one set of defences (for "
     "example DP-SGD at a given epsilon). A sweep trains every variant on the same records and "
     "runs the same attacks against each."),
    ("At chance", "The audit cannot tell the attack from guessing: every confidence interval "
     "of its success (TPR at 0.1 % and 1 % FPR, AUC) reaches the level a coin flip gets."),
    ("Disparate vulnerability", "How much more exposed the members of one group (for example "
     "one sex or race) are than another's, at the same rate of false accusations."),
)
RELEASE_GLOSSARY = (
    ("Generator", "The method that produced a synthetic table from the original records. A "
     "synthetic sweep fits every generator on the same original records and runs the same "
     "attacks against each release."),
    ("At chance (release)", "Every attack's confidence interval reaches the level of the same "
     "attack on control records the generator never saw (residual risk 0, AUC 0.5)."),
)
RISK_COLOURS = {
    "low": "#2e7d32",
    "medium": "#8a5a00",  # white text on it: contrast 5.9:1 (WCAG AA)
    "high": "#c2410c",
    "critical": "#a61e1e",
    "unknown": "#6b7280",
}


@dataclass(frozen=True)
class RenderedSection:
    """One result kind's part of the page: its scorer's template, attacks and context."""

    title: str
    template: str
    attacks: list[AttackReport]
    context: dict[str, Any]


def render_html(report: Report) -> str:
    """The report page for a data-protection officer (summary first, details below).

    Attacks are grouped by result kind, in the order they first appear; each group is drawn by
    its scorer's section template, and the glossary gathers the sections' entries."""
    env = _environment()
    sections = report_sections(report.attacks)
    kinds = dict.fromkeys(a.result_kind for a in report.attacks)
    glossary = list(dict.fromkeys([
        *(SWEEP_GLOSSARY if report.sweep is not None else ()),
        *(RELEASE_GLOSSARY if report.releases is not None else ()),
        *(entry for kind in kinds for entry in scorer_for(kind).section.glossary),
    ]))
    return env.get_template(TEMPLATE).render(
        r=report,
        sweep_plot=frontier_plot(report.sweep) if report.sweep is not None else None,
        sections=sections,
        glossary=glossary,
        risk_colours=RISK_COLOURS,
        version=leakrange.__version__,
    )


def report_sections(attacks: list[AttackReport]) -> list[RenderedSection]:
    by_kind: dict[str, list[AttackReport]] = {}
    for attack in attacks:
        by_kind.setdefault(attack.result_kind, []).append(attack)
    sections = []
    for kind, members in by_kind.items():
        scorer = scorer_for(kind)
        sections.append(RenderedSection(
            title=scorer.section.title, template=scorer.section.template, attacks=members,
            context=scorer.section_context(members),
        ))
    return sections


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("leakrange.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = pct
    env.filters["est_pct"] = estimate_pct
    env.filters["est"] = estimate_plain
    env.filters["duration"] = duration
    return env


def pct(value: float | None, digits: int = 1) -> str:
    """0.0361 -> "3.6 %"; None -> "n/a"."""
    if value is None:
        return "n/a"
    return f"{value * 100:.{digits}f} %"


def estimate_pct(e: Estimate | None) -> str:
    """A rate with its interval: "3.6 % (2.9-4.4 %)"."""
    if e is None:
        return "n/a"
    if e.ci_low is None or e.ci_high is None:
        return pct(e.value)
    return f"{pct(e.value)} ({e.ci_low * 100:.1f}\u2013{e.ci_high * 100:.1f} %)"


def estimate_plain(e: Estimate | None, digits: int = 3) -> str:
    """A number with its interval: "0.630 (0.621-0.642)"."""
    if e is None:
        return "n/a"
    if e.ci_low is None or e.ci_high is None:
        return f"{e.value:.{digits}f}"
    return f"{e.value:.{digits}f} ({e.ci_low:.{digits}f}\u2013{e.ci_high:.{digits}f})"


def duration(seconds: float) -> str:
    """3725 -> "1 h 2 min"; 185 -> "3 min 5 s"; 12.34 -> "12.3 s"."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
