"""Train a segmentor with MMSeg semantics, plus what mmseg_ood needs.

Same arguments as MMSeg's ``tools/train.py``; in addition ``--resume`` takes
an optional checkpoint path, checkpoints the user names load under
torch >= 2.6, distributed runs on machines without CUDA use gloo and BN, and
a resumed run continues exactly: the checkpoints also hold the random state
(``RandomStateHook``), so an interrupted and resumed run in deterministic
mode ends with the same weights as an uninterrupted one.

Examples:
    python tools/train.py configs/deeplabv3plus_balanced_energy.py
    python tools/train.py CONFIG --resume                 # latest in work_dir
    python tools/train.py CONFIG --resume work_dirs/x/iter_4000.pth
    bash tools/dist_train.sh CONFIG 4 --amp
    GPUS=16 bash tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR
"""
import argparse
import logging
import os.path as osp

import torch
from mmengine.device import (is_cuda_available, is_mlu_available,
                             is_musa_available, is_npu_available)
from mmengine.logging import print_log
from mmengine.runner import find_latest_checkpoint

import mmseg_ood  # noqa: F401  (registers the project's modules)
from mmseg_ood.engine import (add_runner_arguments, build_runner,
                              ensure_guard_hook, ensure_random_state_hook,
                              load_run_config, model_checkpoint_paths,
                              parse_runner_args, trusted_checkpoints)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        metavar='CHECKPOINT',
        help='resume training: from the given checkpoint, or, without a '
        'value, from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training (fp16 autocast '
        'with a dynamic loss scale; needs a CUDA, NPU, MLU or MUSA device)')
    add_runner_arguments(parser)
    return parse_runner_args(parser, argv)


def enable_amp(cfg) -> None:
    """Switch the optimizer wrapper to AMP, as MMSeg's ``--amp`` does.

    ``AmpOptimWrapper`` with ``loss_scale='dynamic'``. MMEngine's AMP
    wrapper supports CUDA, NPU, MLU and MUSA devices, not the CPU, so on a
    machine without one this stops with a message instead of an assertion
    from inside the wrapper.

    Raises:
        SystemExit: no accelerator, or an optimizer wrapper other than
            ``OptimWrapper`` / ``AmpOptimWrapper`` in the config.
    """
    if not (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available()):
        raise SystemExit(
            '--amp needs a CUDA (or NPU/MLU/MUSA) device, and none is '
            "available here: MMEngine's AmpOptimWrapper does not run on the "
            'CPU. Train without --amp on this machine.')
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        print_log('AMP training is already enabled in the config.',
                  logger='current', level=logging.WARNING)
        return
    if wrapper != 'OptimWrapper':
        raise SystemExit(f'--amp works with optim_wrapper type OptimWrapper, '
                         f'but the config uses {wrapper}.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def set_resume(cfg, resume) -> None:
    """Apply ``--resume``: a path, or ``'auto'`` for the work dir's latest.

    MMEngine's own auto-resume ignores the work dir whenever ``load_from``
    is set (it would resume from the initial weights, e.g. a model-zoo
    checkpoint), so the latest checkpoint is looked up here. Without one,
    training starts from ``load_from`` as usual.
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
        raise SystemExit(f'--resume {resume}: no such checkpoint.')
    cfg.resume = True
    cfg.load_from = resume
    keep_seed(cfg, resume)


def keep_seed(cfg, checkpoint: str) -> None:
    """Resume with the seed of the interrupted run.

    MMEngine builds the train dataloader (sampler order, worker seeds)
    before it reads the checkpoint, with the config's seed, or a new random
    one when the config has none. Taking the seed from the checkpoint first
    makes the resumed run see the same data as an uninterrupted one.
    """
    randomness = dict(cfg.get('randomness', None) or {})
    meta = torch.load(
        checkpoint, map_location='cpu', weights_only=False,
        mmap=True).get('meta', {})
    seed = meta.get('seed')
    if seed is None or randomness.get('seed') == seed:
        return
    if randomness.get('seed') is not None:
        print_log(f'--resume: the checkpoint was trained with seed {seed}, '
                  f"the config says {randomness['seed']}; using {seed}.",
                  logger='current', level=logging.WARNING)
    cfg.randomness = dict(randomness, seed=seed)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
    if args.amp:
        enable_amp(cfg)
    set_resume(cfg, args.resume)
    ensure_guard_hook(cfg)
    ensure_random_state_hook(cfg)
    runner = build_runner(cfg)
    trusted = [cfg.get('load_from')] + model_checkpoint_paths(cfg.model)
    with trusted_checkpoints(files=trusted, dirs=[cfg.work_dir]):
        runner.train()


if __name__ == '__main__':
    main()
