"""Report figures as inline PNG data URIs (matplotlib ``Figure`` + Agg canvas; no pyplot state)."""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from leakrange.report.schema import AttackReport

LINESTYLES = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (3, 3)))
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MEMBER_COLOUR = "#d62728"
NONMEMBER_COLOUR = "#1f77b4"
_DPI = 110


def roc_plot(attacks: list[AttackReport]) -> str | None:
    """All attacks' ROC curves on one log-log plot with the chance diagonal; None if none scored."""
    scored = [a for a in attacks if a.metrics is not None]
    if not scored:
        return None
    fig = Figure(figsize=(6.4, 5.0), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    low = min(min(a.metrics.roc.fpr) for a in scored if a.metrics is not None)
    low = min(low, min(1.0 / a.metrics.n_members for a in scored if a.metrics is not None))
    ax.plot([low, 1.0], [low, 1.0], linestyle="--", color="#888888", label="chance (guessing)")
    for i, a in enumerate(scored):
        m = a.metrics
        assert m is not None
        tpr = np.maximum(np.asarray(m.roc.tpr), low)  # TPR 0 drawn on the bottom edge
        label = f"{a.label} (AUC {m.auc.value:.2f}"
        if "1%" in m.tpr_at_fpr:
            label += f", TPR@1% {m.tpr_at_fpr['1%'].value:.1%}"
        # Curves that coincide stay visible: each its own dash pattern, later ones thinner.
        ax.step(m.roc.fpr, tpr, where="post", color=PALETTE[i % len(PALETTE)],
                lw=max(2.6 - 0.4 * i, 1.0), linestyle=LINESTYLES[i % len(LINESTYLES)],
                alpha=0.9, label=label + ")")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, 1.0)
    ax.set_ylim(low, 1.0)
    ax.set_xlabel("False positive rate (non-members wrongly flagged)")
    ax.set_ylabel("True positive rate (members found)")
    ax.set_title("ROC curves, log-log (low false-positive region matters most)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _png_data_uri(fig)


def histogram_plot(attack: AttackReport) -> str | None:
    """Member vs non-member score histogram of one attack; None if it has none."""
    h = attack.score_histogram
    if h is None:
        return None
    fig = Figure(figsize=(5.2, 3.2), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    edges = np.asarray(h.bins)
    ax.stairs(h.nonmembers, edges, fill=True, alpha=0.45, color=NONMEMBER_COLOUR,
              label="non-members")
    ax.stairs(h.members, edges, fill=True, alpha=0.45, color=MEMBER_COLOUR, label="members")
    ax.set_xlabel("attack score (higher = more likely a member)")
    counts = np.asarray([*h.members, *h.nonmembers])
    nonzero = counts[counts > 0]
    if len(nonzero) and nonzero.max() > 20 * np.median(nonzero):
        # One spike (many tied scores) would flatten everything else: log counts show the rest.
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylabel("records (log scale)")
    else:
        ax.set_ylabel("records")
    ax.set_title(attack.label, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png_data_uri(fig)


def _png_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
