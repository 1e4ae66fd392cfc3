"""Anomaly evaluation: exact and streaming pixel metrics, SegmentMeIfYouCan
component metrics, the MMEngine metric and result tables."""
from .components import (SMIYC_TRACKS, aggregate_component_stats,
                         best_f1_threshold, image_component_stats)
from .functional import (FPR_RULES, DegenerateSplitError, anomaly_metrics,
                         binary_curve, metrics_from_counts)
from .histogram import ScoreHistogram
from .metrics import AnomalyMetric

__all__ = [
    'AnomalyMetric', 'DegenerateSplitError', 'FPR_RULES', 'SMIYC_TRACKS',
    'ScoreHistogram', 'aggregate_component_stats', 'anomaly_metrics',
    'best_f1_threshold', 'binary_curve', 'image_component_stats',
    'metrics_from_counts'
]
