"""The sweep's frontier figure: test accuracy (x) against the strongest attack's TPR at 0.1 %
FPR and its AUC (y), one point per variant, with 95 % intervals on both axes."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from leakrange.metrics.estimate import Estimate
from leakrange.report.plots import PALETTE, _png_data_uri
from leakrange.report.sweep_schema import SweepSection, SweepVariant

_DPI = 110


def _errors(e: Estimate) -> list[list[float]]:
    return [[e.value - e.lower], [e.upper - e.value]]


def _panel(ax: Axes, points: list[SweepVariant], metric: str, chance: float, label: str
           ) -> None:
    for i, v in enumerate(points):
        y = getattr(v, metric)
        assert v.test_accuracy is not None and y is not None
        colour = PALETTE[i % len(PALETTE)]
        ax.errorbar(v.test_accuracy.value, y.value, xerr=_errors(v.test_accuracy),
                    yerr=_errors(y), fmt="o", color=colour, ecolor=colour, capsize=3,
                    markersize=7, label=v.name)
        ax.annotate(v.name, (v.test_accuracy.value, y.value), textcoords="offset points",
                    xytext=(6, 6 - 11 * (i % 3)), fontsize=8, color=colour)  # no overlaps
    ax.axhline(chance, linestyle="--", color="#888888", lw=1.2, label="chance (guessing)")
    ax.set_xlabel("Test accuracy (utility, higher is better)")
    ax.set_ylabel(label)
    ax.grid(True, alpha=0.3)


def frontier_plot(sweep: SweepSection) -> str | None:
    """Two panels sharing the accuracy axis; None when no variant has both numbers."""
    points = [v for v in sweep.variants
              if v.test_accuracy is not None and v.tpr_at_01 is not None and v.auc is not None]
    if not points:
        return None
    fig = Figure(figsize=(10.0, 4.2), dpi=_DPI)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, sharex=True)
    _panel(left, points, "tpr_at_01", 0.001,
           "Strongest attack: TPR at 0.1 % FPR (lower is safer)")
    left.set_ylim(bottom=0.0)
    _panel(right, points, "auc", 0.5, "Strongest attack: AUC (0.5 = guessing)")
    right.legend(loc="best", fontsize=8)
    fig.suptitle("Privacy risk against utility, one point per training variant "
                 f"({sweep.confidence * 100:.0f} % intervals)", fontsize=10)
    fig.tight_layout()
    return _png_data_uri(fig)
