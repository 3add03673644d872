"""Utility and risk metrics computed from equivalence-class statistics."""

from veil.metrics.risk import RiskSummary, risk_summary
from veil.metrics.utility import (
    METRIC_NAMES,
    ClassTable,
    MetricContext,
    MetricName,
    QIInfo,
    all_metrics,
    metric_bounds,
    metric_value,
)

__all__ = [
    "METRIC_NAMES",
    "ClassTable",
    "MetricContext",
    "MetricName",
    "QIInfo",
    "RiskSummary",
    "all_metrics",
    "metric_bounds",
    "metric_value",
    "risk_summary",
]
