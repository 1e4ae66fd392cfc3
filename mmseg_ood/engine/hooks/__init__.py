"""Runner hooks."""
from .anomaly_overlay_hook import AnomalyOverlayHook
from .checkpoint_fit_hook import CheckpointFitHook
from .data_files_check_hook import DataFilesCheckHook
from .eval_mode_hook import EvalModeHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .outlier_exposure_check_hook import OutlierExposureCheckHook
from .outlier_label_guard_hook import (
                                       OutlierLabelError,
                                       OutlierLabelGuardHook,
                                       find_outlier_unaware_losses,
)
from .random_state_hook import RandomStateHook

__all__ = [
    'AnomalyOverlayHook', 'CheckpointFitHook', 'DataFilesCheckHook',
    'EvalModeHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'OutlierExposureCheckHook',
    'OutlierLabelError', 'OutlierLabelGuardHook', 'RandomStateHook',
    'find_outlier_unaware_losses'
]
