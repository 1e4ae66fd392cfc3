"""Train a segmentor with MMSeg semantics, plus what mmseg_ood needs.

Same arguments as MMSeg's ``tools/train.py``; in addition ``--resume``
takes an optional checkpoint path, distributed runs on machines without
CUDA use gloo and BN, and a resumed run continues exactly: the checkpoints
also hold the random state (``RandomStateHook``), so an interrupted and
resumed run in deterministic mode ends with the same weights as an
uninterrupted one. A loss that becomes NaN or infinite stops the run at
that iteration, naming the loss term (``NonFiniteLossHook``).

Examples:
    mmseg-ood-train configs/deeplabv3plus_balanced_energy.py
    mmseg-ood-train CONFIG --resume                 # latest in work_dir
    mmseg-ood-train CONFIG --resume work_dirs/x/iter_4000.pth
    torchrun --nproc_per_node=4 -m mmseg_ood.cli.train CONFIG \
        --launcher pytorch --amp
"""
import argparse
import sys

from mmseg_ood.engine import (
    OutlierExposureError,
    OutlierLabelError,
    build_runner,
    load_run_config,
    prepare_train_config,
)
from mmseg_ood.engine.checkpoint import CheckpointError
from mmseg_ood.engine.hooks import NonFiniteLossError
from mmseg_ood.utils.constants import LabelRoleError
from mmseg_ood.utils.image_files import ImageFileError

from .common import add_runner_arguments, parse_runner_args, user_errors

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-train'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG,
                                     description='Train a segmentor')
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


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG, RuntimeError):
        cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                              args.work_dir)
        prepare_train_config(cfg, amp=args.amp, resume=args.resume)
    runner = build_runner(cfg)
    try:
        runner.train()
    except (OutlierExposureError, OutlierLabelError, LabelRoleError,
            NonFiniteLossError, CheckpointError, ImageFileError) as error:
        # the checks of a run: the key and the fix, without a traceback
        sys.exit(f'{PROG}: error: {error}')


if __name__ == '__main__':
    main()
