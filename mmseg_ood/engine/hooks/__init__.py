"""Runner hooks."""
from .anomaly_overlay_hook import AnomalyOverlayHook
from .eval_mode_hook import EvalModeHook
from .outlier_label_guard_hook import (
                                       OutlierLabelError,
                                       OutlierLabelGuardHook,
                                       find_outlier_unaware_losses,
)
from .random_state_hook import RandomStateHook

__all__ = [
    'AnomalyOverlayHook', 'EvalModeHook', 'OutlierLabelError',
    'OutlierLabelGuardHook', 'RandomStateHook', 'find_outlier_unaware_losses'
]
