"""Anomaly evaluation: exact and streaming pixel metrics, SegmentMeIfYouCan
component metrics, the MMEngine metric and typed results."""
from .components import (
    aggregate_component_stats,
    best_f1_threshold,
    image_component_stats,
)
from .functional import (
    FPR_RULES,
    DegenerateSplitError,
    anomaly_metrics,
    binary_curve,
    metrics_from_counts,
)
from .histogram import ScoreHistogram
from .metrics import AnomalyMetric
from .results import MetricResult, SetResult

__all__ = [
    'FPR_RULES', 'AnomalyMetric', 'DegenerateSplitError', 'MetricResult',
    'ScoreHistogram', 'SetResult', 'aggregate_component_stats',
    'anomaly_metrics', 'best_f1_threshold', 'binary_curve',
    'image_component_stats', 'metrics_from_counts'
]
