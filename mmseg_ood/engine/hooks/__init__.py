"""Runner hooks."""
from .outlier_label_guard_hook import (OutlierLabelError,
                                       OutlierLabelGuardHook,
                                       find_outlier_unaware_losses)

__all__ = [
    'OutlierLabelError', 'OutlierLabelGuardHook',
    'find_outlier_unaware_losses'
]
