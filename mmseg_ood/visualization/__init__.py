"""Pictures: ROC / precision-recall curves and anomaly heat-map overlays.

Used by ``mmseg-ood-test --curves/--overlays`` (through
:class:`~mmseg_ood.engine.AnomalyOverlayHook`) and by the demo comparison;
matplotlib is imported only when a curve is drawn.
"""
from .curves import (
    plot_curves,
    pr_points,
    roc_points,
    save_result_curves,
    thin_counts,
    thin_curve,
)
from .overlays import (
                     anomaly_boundary,
                     anomaly_overlay,
                     colorbar,
                     colorize_scores,
                     save_anomaly_overlay,
                     score_range,
                     void_hatching,
)

__all__ = [
    'anomaly_boundary', 'anomaly_overlay', 'colorbar', 'colorize_scores',
    'plot_curves', 'pr_points', 'roc_points', 'save_anomaly_overlay',
    'save_result_curves',
    'score_range', 'thin_counts', 'thin_curve', 'void_hatching'
]
