"""Metrics: membership-inference ROC statistics with CIs, risk levels, image metrics."""

from leakrange.metrics.estimate import Estimate
from leakrange.metrics.image_metrics import label_accuracy, psnr, ssim
from leakrange.metrics.mia_metrics import (
    MiaMetrics,
    OperatingPoint,
    RocCurve,
    compute_mia_metrics,
    percent_key,
    ppv,
)
from leakrange.metrics.risk import RiskLevel, plain_summary, risk_level, synthetic_risk

__all__ = [
    "Estimate",
    "MiaMetrics",
    "OperatingPoint",
    "RiskLevel",
    "RocCurve",
    "compute_mia_metrics",
    "label_accuracy",
    "percent_key",
    "plain_summary",
    "ppv",
    "psnr",
    "risk_level",
    "ssim",
    "synthetic_risk",
]
