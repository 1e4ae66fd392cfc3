"""Anomaly evaluation: exact and streaming pixel metrics, SegmentMeIfYouCan
component metrics and its own binned computation, the MMEngine metric and
typed results."""
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
from .smiyc import frame_bins, smiyc_metrics, smiyc_pixel_metrics

__all__ = [
    'FPR_RULES', 'AnomalyMetric', 'DegenerateSplitError', 'MetricResult',
    'ScoreHistogram', 'SetResult', 'aggregate_component_stats',
    'anomaly_metrics', 'best_f1_threshold', 'binary_curve', 'frame_bins',
    'image_component_stats', 'metrics_from_counts', 'smiyc_metrics',
    'smiyc_pixel_metrics'
]
