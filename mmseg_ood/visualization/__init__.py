"""Pictures: ROC / precision-recall curves and anomaly heat-map overlays.

Not imported by ``import mmseg_ood`` (nothing here is registered); import
``mmseg_ood.visualization`` where pictures are needed.
"""
from .curves import (plot_curves, pr_points, roc_points, thin_counts,
                     thin_curve)
from .overlays import (anomaly_boundary, anomaly_overlay, colorbar,
                       colorize_scores, save_anomaly_overlay, score_range,
                       void_hatching)

__all__ = [
    'anomaly_boundary', 'anomaly_overlay', 'colorbar', 'colorize_scores',
    'plot_curves', 'pr_points', 'roc_points', 'save_anomaly_overlay',
    'score_range', 'thin_counts', 'thin_curve', 'void_hatching'
]
