"""Config set-up of training and test runs (what ``mmseg-ood-train`` and
``mmseg-ood-test`` do before building MMEngine's Runner).

Config loading follows MMSeg's tools exactly (``--cfg-options``,
``--work-dir``, ``--launcher``); on top, a distributed run on a machine
without CUDA is prepared for gloo and BN, training runs get the
outlier-label guard hook and the random-state hook (exact resume), AMP and
``--resume`` are applied as MMSeg does (plus an auto-resume that prefers
the work dir over ``load_from`` and keeps the interrupted run's seed), and
test runs are pointed at named anomaly sets.
"""
import copy
import logging
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.device import (
    is_cuda_available,
    is_mlu_available,
    is_musa_available,
    is_npu_available,
)
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner import Runner, find_latest_checkpoint
from mmseg.registry import RUNNERS

from ..evaluation.metrics.anomaly_metric import AnomalyMetric
from ..utils.config_walk import find_configs, is_type, resolve_type
from .distributed import setup_cpu_distributed
from .hooks import OutlierLabelGuardHook, RandomStateHook

__all__ = [
    'TRAIN_HOOKS', 'apply_resume', 'build_runner', 'enable_amp',
    'ensure_custom_hooks', 'keep_curves', 'load_run_config',
    'prepare_test_config', 'prepare_train_config', 'select_test_sets'
]

#: Hooks every training run gets (unless the config lists them already).
TRAIN_HOOKS = (OutlierLabelGuardHook, RandomStateHook)
#: The loop that tests named anomaly sets.
SETS_LOOP = 'AnomalySetsTestLoop'


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


def ensure_custom_hooks(cfg: Config, hooks: Sequence[type]) -> None:
    """Append ``dict(type=<name>)`` to ``custom_hooks`` for every hook class
    the config does not list yet (by :func:`~mmseg_ood.utils.config_walk.
    is_type`)."""
    listed = list(cfg.get('custom_hooks', None) or [])
    for hook in hooks:
        if not any(is_type(item, hook) for item in listed):
            listed.append(dict(type=hook.__name__))
    cfg.custom_hooks = listed


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to AMP, as MMSeg's ``--amp`` does.

    ``AmpOptimWrapper`` with ``loss_scale='dynamic'``. MMEngine's AMP
    wrapper supports CUDA, NPU, MLU and MUSA devices, not the CPU, so on a
    machine without one this stops with a message instead of an assertion
    from inside the wrapper.

    Raises:
        RuntimeError: No accelerator.
        ValueError: An optimizer wrapper other than ``OptimWrapper`` /
            ``AmpOptimWrapper`` in the config.
    """
    if not (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available()):
        raise RuntimeError(
            '--amp needs a CUDA (or NPU/MLU/MUSA) device, and none is '
            "available here: MMEngine's AmpOptimWrapper does not run on the "
            'CPU. Train without --amp on this machine.')
    wrapper = cfg.optim_wrapper
    kind = resolve_type(wrapper.get('type', 'OptimWrapper'))
    if kind is not None and issubclass(kind, AmpOptimWrapper):
        print_log('AMP training is already enabled in the config.',
                  logger='current', level=logging.WARNING)
        return
    if kind is not OptimWrapper:
        raise ValueError(f'--amp works with optim_wrapper type OptimWrapper, '
                         f"but the config uses {wrapper.get('type')}.")
    wrapper.type = 'AmpOptimWrapper'
    wrapper.loss_scale = 'dynamic'


def apply_resume(cfg: Config, resume: Optional[str]) -> None:
    """Apply ``--resume``: a checkpoint path, or ``'auto'`` for the work
    dir's latest.

    MMEngine's own auto-resume ignores the work dir whenever ``load_from``
    is set (it would resume from the initial weights, e.g. a model-zoo
    checkpoint), so the latest checkpoint is looked up here. Without one,
    training starts from ``load_from`` as usual. The run keeps the seed of
    the interrupted run (:func:`keep_seed`).

    Raises:
        FileNotFoundError: A named checkpoint does not exist.
    """
    if resume is None:
        return
    if resume == 'auto':
        latest = find_latest_checkpoint(cfg.work_dir)
        if latest is None:
            print_log(f'--resume: no checkpoint in {cfg.work_dir} yet; '
                      'starting a new run.', logger='current')
            return
        resume = latest
    elif not osp.isfile(resume):
        raise FileNotFoundError(f'--resume {resume}: no such checkpoint.')
    cfg.resume = True
    cfg.load_from = resume
    keep_seed(cfg, resume)


def keep_seed(cfg: Config, checkpoint: str) -> None:
    """Resume with the seed of the interrupted run.

    MMEngine builds the train dataloader (sampler order, worker seeds)
    before it reads the checkpoint, with the config's seed, or a new random
    one when the config has none. Taking the seed from the checkpoint first
    makes the resumed run see the same data as an uninterrupted one.
    """
    randomness = dict(cfg.get('randomness', None) or {})
    meta = torch.load(checkpoint, map_location='cpu', mmap=True).get(
        'meta', {})
    seed = meta.get('seed')
    if seed is None or randomness.get('seed') == seed:
        return
    if randomness.get('seed') is not None:
        print_log(f'--resume: the checkpoint was trained with seed {seed}, '
                  f"the config says {randomness['seed']}; using {seed}.",
                  logger='current', level=logging.WARNING)
    cfg.randomness = dict(randomness, seed=seed)


def prepare_train_config(cfg: Config, amp: bool = False,
                         resume: Optional[str] = None) -> None:
    """Everything ``mmseg-ood-train`` does to a loaded config: AMP,
    ``--resume`` and the hooks of :data:`TRAIN_HOOKS`."""
    if amp:
        enable_amp(cfg)
    apply_resume(cfg, resume)
    ensure_custom_hooks(cfg, TRAIN_HOOKS)


def select_test_sets(cfg: Config,
                     names: Optional[Sequence[str]] = None) -> None:
    """Make ``cfg`` test named anomaly sets with ``AnomalySetsTestLoop``.

    A config with a single ``test_dataloader`` is tested as one set named
    ``test``. ``names`` picks sets from ``test_dataloader`` or from the
    config's ``anomaly_sets`` catalogue.

    Raises:
        KeyError: An unknown set, or a per-set evaluator without the set.
    """
    loaders: Dict[str, dict] = cfg.test_dataloader
    if 'dataset' in loaders:
        loaders = dict(test=loaders)
    if names:
        catalogue = dict(cfg.get('anomaly_sets', None) or {}, **loaders)
        unknown = [n for n in names if n not in catalogue]
        if unknown:
            raise KeyError(
                f'Unknown anomaly set(s) {unknown}; this config knows '
                f'{sorted(catalogue)} (test_dataloader and anomaly_sets).')
        loaders = {n: copy.deepcopy(catalogue[n]) for n in names}
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, dict) and 'type' not in evaluator:
            # one metric config per set: keep those of the chosen sets
            missing = [n for n in names if n not in evaluator]
            if missing:
                raise KeyError(
                    f'test_evaluator has one config per set but none for '
                    f'{missing}; add them or use one shared metric config.')
            cfg.test_evaluator = {n: evaluator[n] for n in names}
    cfg.test_dataloader = loaders
    cfg.test_cfg = dict(type=SETS_LOOP)


def keep_curves(cfg: Config) -> None:
    """Ask every ``AnomalyMetric`` of ``test_evaluator`` to keep its curve.
    """
    for metric in find_configs(cfg.test_evaluator, AnomalyMetric):
        metric['keep_curve'] = True


def prepare_test_config(cfg: Config,
                        checkpoint: str,
                        sets: Optional[Sequence[str]] = None,
                        curves: bool = False,
                        overlays: int = 0) -> None:
    """Everything ``mmseg-ood-test`` does to a loaded config: the
    checkpoint, the sets, curves and overlays.

    Raises:
        FileNotFoundError: A local checkpoint does not exist.
    """
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not exist.')
    cfg.load_from = checkpoint
    cfg.resume = False
    select_test_sets(cfg, sets)
    if curves:
        keep_curves(cfg)
    if overlays:
        hooks = list(cfg.get('custom_hooks', None) or [])
        hooks.append(dict(type='AnomalyOverlayHook', num_images=overlays))
        cfg.custom_hooks = hooks


def build_runner(cfg: Config) -> Runner:
    """Build MMEngine's Runner, or the registered one of ``runner_type``."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
