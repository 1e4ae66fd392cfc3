"""Engine: hooks, checkpoint loading, CPU distributed and runner set-up."""
from .checkpoint import model_checkpoint_paths, trusted_checkpoints
from .distributed import replace_sync_bn, setup_cpu_distributed
from .hooks import *  # noqa: F401,F403
from .loops import AnomalySetsTestLoop, AnomalySetsValLoop
from .runner_setup import (add_runner_arguments, build_runner,
                           ensure_guard_hook, ensure_random_state_hook,
                           load_run_config, parse_runner_args)

__all__ = [
    'AnomalySetsTestLoop', 'AnomalySetsValLoop',
    'add_runner_arguments', 'build_runner', 'ensure_guard_hook',
    'ensure_random_state_hook',
    'load_run_config', 'model_checkpoint_paths', 'parse_runner_args',
    'replace_sync_bn',
    'setup_cpu_distributed', 'trusted_checkpoints'
]
