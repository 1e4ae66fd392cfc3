"""Config set-up of training and test runs (what ``mmseg-ood-train`` and
``mmseg-ood-test`` do before building MMEngine's Runner).

Config loading follows MMSeg's tools exactly (``--cfg-options``,
``--work-dir``, ``--launcher``); on top, a distributed run on a machine
without CUDA is prepared for gloo and BN, training runs get the
outlier-exposure checks and the random-state hook (exact resume), AMP and
``--resume`` are applied as MMSeg does (plus an auto-resume that prefers
the work dir over ``load_from`` and keeps the interrupted run's seed), and
test runs are pointed at named anomaly sets.

Bad input stops here, naming the key, the file or the value: a
``--cfg-options`` key under a set that the config does not have (a typo
would otherwise add an empty set, or be dropped by ``--sets``), a
``last_checkpoint`` that names a missing file, a truncated checkpoint.
Training runs also get :class:`NonFiniteLossHook` (a NaN loss stops the run
at once) and test runs :class:`CheckpointFitHook` (a checkpoint that does
not fit the model is an error).
"""
import copy
import logging
import os.path as osp
import re
from typing import Dict, Optional, Sequence

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

from ..configs.anomaly_sets import DELETE_KEY
from ..evaluation.metrics.anomaly_metric import AnomalyMetric
from ..utils.config_walk import find_configs, is_type, resolve_type
from .checkpoint import (
    CheckpointError,
    check_checkpoint_readable,
    read_checkpoint,
)
from .distributed import setup_cpu_distributed
from .hooks import (
    CheckpointFitHook,
    DataFilesCheckHook,
    NonFiniteLossHook,
    OutlierExposureCheckHook,
    RandomStateHook,
)
from .outlier_exposure_checks import (
    SWITCH_ON_HINT,
    OutlierExposureError,
    check_test_config,
    check_train_config,
)

__all__ = [
    'SET_CONTAINERS', 'TRAIN_HOOKS', 'apply_resume', 'build_runner',
    'check_set_options', 'enable_amp', 'ensure_custom_hooks', 'keep_curves',
    'load_run_config', 'prepare_test_config', 'prepare_train_config',
    'select_test_sets'
]

#: Hooks every training run gets (unless the config lists them already).
TRAIN_HOOKS = (OutlierExposureCheckHook, RandomStateHook, NonFiniteLossHook,
               DataFilesCheckHook)
#: Config keys that may hold one entry per anomaly set.
SET_CONTAINERS = ('val_dataloader', 'test_dataloader', 'val_evaluator',
                  'test_evaluator', 'anomaly_sets')
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
    cfg = _load_config(config)
    cfg.launcher = launcher
    if cfg_options:
        check_set_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    setup_cpu_distributed(cfg)
    return cfg


def _set_names(container) -> Optional[list]:
    """The set names of a per-set dict (dataloaders keyed by set, a metric
    config per set, the catalogue), or None for a single entry."""
    if not isinstance(container, dict):
        return None
    if 'dataset' in container or 'type' in container:
        return None  # one dataloader / one metric config
    return sorted(k for k in container if k != DELETE_KEY)


def check_set_options(cfg: Config, cfg_options: dict) -> None:
    """Refuse ``--cfg-options`` keys under an anomaly set the config does
    not have.

    MMEngine merges ``test_dataloader.fs_lfa.dataset.data_root=...`` (a
    typo of ``fs_laf``) into a new, incomplete set: ``--sets fs_laf`` then
    drops it without a word, and without ``--sets`` the run fails later on
    a dataloader without a dataset.

    Args:
        cfg (Config): The config before the options are merged.
        cfg_options (dict): ``--cfg-options``.

    Raises:
        KeyError: A key names an unknown set; the message lists the sets.
    """
    for key, value in cfg_options.items():
        parts = key.split('.')
        if parts[0] not in SET_CONTAINERS or len(parts) < 2:
            continue
        names = _set_names(cfg.get(parts[0], None))
        if names is None or parts[1] in names or parts[1] == DELETE_KEY:
            continue
        if len(parts) == 2 and isinstance(value, dict):
            continue  # a whole new set
        raise KeyError(
            f'--cfg-options {key}: {parts[0]} has no set {parts[1]!r}; its '
            f'sets are {names}. Fix the set name (a new set needs its whole '
            'config in the config file).')


def _load_config(config: str) -> Config:
    """``Config.fromfile``; bases that define the same keys, and a dict that
    cannot extend a key of the base (OCRNet's list of decode heads,
    BiSeNetV2's list of auxiliary heads, a head the base sets to None), fail
    with the key and the fix."""
    try:
        return Config.fromfile(config)
    except KeyError as error:
        if 'Duplicate key is not allowed among bases' not in str(error):
            raise
        raise OutlierExposureError(
            f'{config}: two of its bases define the same keys ({error}). '
            'MMEngine does not merge bases into each other: an MMSeg dataset '
            'base and configs/_base_/datasets/anomaly_sets.py both define '
            'val_dataloader, test_dataloader and their evaluators. Keep the '
            'MMSeg base and import the anomaly sets instead (after the '
            '`_base_` line): from mmseg_ood.configs import '
            'anomaly_catalogue, several_sets; anomaly_sets = '
            "anomaly_catalogue(); val_dataloader = several_sets(anomaly_sets, "
            "['fs_laf']) (docs/en/configs.md), or "
            f'{SWITCH_ON_HINT}.') from error
    except TypeError as error:
        found = re.match(
            r"(\w+)=.* is of type <class '(list|NoneType)'> in base config",
            str(error), re.S)
        if found is None:
            raise
        key, kind = found.groups()
        if kind == 'list':
            reason = (f'`{key}` is a list in the base config (several heads: '
                      'a cascade, or auxiliary heads) and the config gives a '
                      'dict for it; a dict cannot extend a list. Write the '
                      'whole list (one dict per head, each with its type)')
        else:
            reason = (f'`{key}` is None in the base config (the base model '
                      'has no such head) and the config extends it with a '
                      'dict that has no head type. Remove it from the config')
        raise OutlierExposureError(
            f'{config}: {reason}, or {SWITCH_ON_HINT}.') from error


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
        if not osp.isfile(latest):
            pointer = osp.join(cfg.work_dir, 'last_checkpoint')
            raise FileNotFoundError(
                f'--resume: {pointer} names {latest}, which does not exist '
                '(deleted or moved?). Pass the checkpoint to resume from, '
                '--resume CKPT, or delete that file to start a new run.')
        resume = latest
    elif not osp.isfile(resume):
        raise FileNotFoundError(f'--resume {resume}: no such checkpoint.')
    check_checkpoint_readable(resume)
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
    loaded = read_checkpoint(checkpoint, mmap=True, weights_only=True)
    if not isinstance(loaded, dict):
        raise CheckpointError(
            f'{checkpoint} holds {type(loaded).__name__}, not an MMEngine '
            'checkpoint; --resume needs one saved by a training run.')
    meta = loaded.get('meta') or {}
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
    """Everything ``mmseg-ood-train`` does to a loaded config: the checks
    that need nothing built (:func:`~mmseg_ood.engine.
    outlier_exposure_checks.check_train_config`), AMP, ``--resume`` and the
    hooks of :data:`TRAIN_HOOKS` (the rest of the checks run before the
    first iteration).

    Raises:
        OutlierExposureError: The config cannot train or validate what it
            says; the message names the key and the fix.
    """
    check_train_config(cfg)
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
    loaders = {k: v for k, v in loaders.items() if k != DELETE_KEY}
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
                        overlays: int = 0,
                        allow_partial: bool = False) -> None:
    """Everything ``mmseg-ood-test`` does to a loaded config: the
    checkpoint (checked to fit the model by :class:`CheckpointFitHook`),
    the sets, curves and overlays.

    Args:
        allow_partial (bool): Let a checkpoint that fits the model only
            partly load (the fit is recorded in the message hub).

    Raises:
        FileNotFoundError: A local checkpoint does not exist.
        CheckpointError: It is truncated or not a checkpoint.
        OutlierExposureError: ``test_evaluator`` has no anomaly metric.
    """
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not exist.')
    check_test_config(cfg)
    check_checkpoint_readable(checkpoint)
    hooks = [h for h in (cfg.get('custom_hooks', None) or [])
             if not is_type(h, CheckpointFitHook)]
    hooks.append(dict(type=CheckpointFitHook.__name__, checkpoint=checkpoint,
                      allow_partial=allow_partial))
    cfg.custom_hooks = hooks
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
