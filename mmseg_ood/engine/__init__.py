"""Engine: loops over anomaly sets, hooks, checkpoint loading, CPU
distributed runs and the set-up of training and test runs."""
from .checkpoint import allow_mmengine_checkpoints
from .distributed import replace_sync_bn, setup_cpu_distributed
from .hooks import (
    AnomalyOverlayHook,
    EvalModeHook,
    OutlierExposureCheckHook,
    OutlierLabelError,
    OutlierLabelGuardHook,
    RandomStateHook,
)
from .loops import AnomalySetsTestLoop, AnomalySetsValLoop
from .outlier_exposure_checks import (
    OutlierExposureError,
    check_test_config,
    check_train_config,
)
from .runner_setup import (
    build_runner,
    load_run_config,
    prepare_test_config,
    prepare_train_config,
)
from .schedulers import ClampedPolyLR

__all__ = [
    'AnomalyOverlayHook', 'AnomalySetsTestLoop', 'AnomalySetsValLoop',
    'ClampedPolyLR',
    'EvalModeHook', 'OutlierExposureCheckHook', 'OutlierExposureError',
    'OutlierLabelError', 'OutlierLabelGuardHook', 'RandomStateHook',
    'allow_mmengine_checkpoints', 'build_runner', 'check_test_config',
    'check_train_config', 'load_run_config', 'prepare_test_config',
    'prepare_train_config', 'replace_sync_bn', 'setup_cpu_distributed'
]
