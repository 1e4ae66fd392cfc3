"""Argument and error handling shared by the command-line tools."""
import argparse
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import torch.distributed as dist
from mmengine.config import DictAction
from mmengine.dist import init_dist
from mmengine.registry import init_default_scope

from mmseg_ood.apis import build_scene_dataloader, load_trained_model
from mmseg_ood.engine import load_run_config
from mmseg_ood.engine.checkpoint import check_checkpoint_readable
from mmseg_ood.utils.file_io import OutputWriteError

__all__ = [
    'add_converter_arguments', 'add_runner_arguments',
    'add_statistics_arguments', 'parse_runner_args', 'prepare_statistics_run',
    'print_dataset_config', 'user_errors', 'warn_partial_checkpoint'
]

#: Errors that mean the user's input is wrong; the tools print their
#: message (which names the file, value and fix) instead of a traceback.
USER_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError,
               KeyError, ValueError, OutputWriteError)


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


def add_converter_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the converters' ``--overwrite`` and ``--no-progress``."""
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an earlier output of this converter')
    parser.add_argument('--no-progress', action='store_true',
                        help='do not show a progress bar')


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None):
    """Parse a tool's arguments; export ``LOCAL_RANK`` as MMSeg does."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


@contextmanager
def user_errors(prog: str, *extra: type) -> Iterator[None]:
    """Turn the errors of bad input into ``prog: error: <message>`` and
    exit status 1 (``SystemExit``), without a traceback.

    Args:
        prog (str): The command's name.
        *extra (type): More exception types to report this way.
    """
    try:
        yield
    except USER_ERRORS + extra as error:
        message = error.args[0] if isinstance(error, KeyError) and \
            error.args else error
        sys.exit(f'{prog}: error: {message}')


def add_statistics_arguments(parser: argparse.ArgumentParser,
                             default_out: str, scenes: str) -> None:
    """Arguments of the tools that measure a trained model over its
    training set (``mmseg-ood-prior``, ``mmseg-ood-sml-statistics``)."""
    parser.add_argument('config', help='training config')
    parser.add_argument('checkpoint', help='trained model checkpoint')
    parser.add_argument(
        '--out', help=f'output JSON (default: <work_dir>/{default_out})')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the output file if it exists')
    parser.add_argument(
        '--num-samples',
        type=int,
        help=f'number of {scenes} (cycles over the frames; default: one '
        'per training frame)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the scenes')
    parser.add_argument(
        '--num-classes',
        type=int,
        help="number of inlier classes K (default: the training dataset's "
        'classes)')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument(
        '--num-workers', type=int, default=2, help='data loading workers')
    add_runner_arguments(parser)


def print_dataset_config(record: dict, out_dir: str) -> None:
    """Print the dataset config that reads a converter's output."""
    print("Use it in a config with (the image suffix "
          f"{record['img_suffix']!r} is read from DATASET.json):")
    print(f"    dict(type='AnomalyDataset', benchmark={record['key']!r}, "
          f'data_root={out_dir!r})')


def warn_partial_checkpoint(checkpoint: str, fit: Optional[dict],
                            recorded_in: str, outputs: str) -> None:
    """Print a warning if a checkpoint loaded with
    ``--allow-partial-checkpoint`` fits the model only partly (``fit``:
    :func:`~mmseg_ood.engine.checkpoint.check_checkpoint_fit`)."""
    if not fit or not fit['partial']:
        return
    print(f'WARNING: {checkpoint} fits the model only partly '
          f"({len(fit['missing'])} missing, {len(fit['unexpected'])} "
          f"unexpected, {len(fit['shape_mismatch'])} of another shape; see "
          f'checkpoint_fit in {recorded_in}); these {outputs} do not '
          'describe the trained model.')


def prepare_statistics_run(args, paste: bool, default_out: str) -> tuple:
    """Load the config and the model and build the scenes of a statistics
    tool; fails before any work if the output exists.

    Returns:
        tuple: ``(out, model, loader, num_classes, class_names or None)``.
    """
    check_checkpoint_readable(args.checkpoint)
    cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
    out = args.out or osp.join(cfg.work_dir, default_out)
    if not out.endswith('.json'):
        raise ValueError(f'--out {out}: the file must end in .json.')
    if osp.exists(out) and not args.overwrite:
        raise FileExistsError(f'{out} already exists. Pass --overwrite to '
                              'replace it, or choose another file with '
                              '--out.')
    if args.launcher != 'none' and not dist.is_initialized():
        init_dist(args.launcher,
                  **(cfg.get('env_cfg') or {}).get('dist_cfg', {}))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = load_trained_model(cfg, args.checkpoint)
    loader = build_scene_dataloader(
        cfg,
        paste=paste,
        num_samples=args.num_samples,
        seed=args.seed,
        batch_size=args.batch_size,
        num_workers=args.num_workers)
    classes = list(loader.dataset.metainfo.get('classes') or [])
    num_classes = args.num_classes or len(classes)
    if not num_classes:
        raise ValueError('The training dataset names no classes; pass '
                         '--num-classes.')
    return (out, model, loader, num_classes,
            classes if len(classes) == num_classes else None)
