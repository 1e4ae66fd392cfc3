"""Shared set-up of ``tools/train.py`` and ``tools/test.py``.

Config loading follows MMSeg's tools exactly (``--cfg-options``,
``--work-dir``, ``--launcher``); on top, a distributed run on a machine
without CUDA is prepared for gloo and BN, and the outlier-label guard hook
and the random-state hook (exact resume) are added to training runs that
lack them.
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from .distributed import setup_cpu_distributed

GUARD_HOOK = 'OutlierLabelGuardHook'
RANDOM_STATE_HOOK = 'RandomStateHook'


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """Add MMSeg's ``--work-dir``, ``--cfg-options``, ``--launcher`` and
    ``--local-rank`` arguments to a tool's parser."""
    parser.add_argument('--work-dir', help='the dir to save logs and outputs')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs, e.g. '
        'train_cfg.max_iters=1000 model.decode_head.num_classes=19')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None):
    """Parse a tool's arguments; export ``LOCAL_RANK`` as MMSeg does."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_run_config(config: str,
                    cfg_options: Optional[dict] = None,
                    launcher: str = 'none',
                    work_dir: Optional[str] = None) -> Config:
    """Load a config the way MMSeg's tools do, plus CPU-distributed set-up.

    Args:
        config (str): Config file path.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        work_dir (str, optional): ``--work-dir``; default: the config's
            ``work_dir`` or ``./work_dirs/<config name>``.

    Returns:
        Config: The config, ready for :func:`build_runner`.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'Config file {config!r} does not exist.')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    setup_cpu_distributed(cfg)
    return cfg


def _ensure_custom_hook(cfg: Config, hook_type: str) -> None:
    """Append ``dict(type=hook_type)`` to ``custom_hooks`` if absent."""
    hooks: Sequence[dict] = list(cfg.get('custom_hooks', None) or [])
    if not any(hook.get('type') in (hook_type, f'mmseg.{hook_type}')
               for hook in hooks):
        hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks


def ensure_guard_hook(cfg: Config) -> None:
    """Add :class:`OutlierLabelGuardHook` to ``custom_hooks`` if absent."""
    _ensure_custom_hook(cfg, GUARD_HOOK)


def ensure_random_state_hook(cfg: Config) -> None:
    """Add :class:`RandomStateHook` (exact ``--resume``) to
    ``custom_hooks`` if absent."""
    _ensure_custom_hook(cfg, RANDOM_STATE_HOOK)


def build_runner(cfg: Config) -> Runner:
    """Build MMEngine's Runner, or the registered one of ``runner_type``."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
