"""Anomaly evaluation: exact functional metrics and MMEngine metrics."""
from .functional import FPR_RULES, anomaly_metrics
from .metrics import AnomalyMetric

__all__ = ['AnomalyMetric', 'FPR_RULES', 'anomaly_metrics']
