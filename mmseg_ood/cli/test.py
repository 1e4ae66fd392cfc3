"""Evaluate a checkpoint on one or several anomaly sets; one table per run.

Prints one table (set, AUROC, AP, FPR95 and, for SegmentMeIfYouCan sets,
sIoU_gt, PPV, mean F1) and writes it as JSON and CSV in the run's log
folder (``<work_dir>/<timestamp>/``). On request it also draws ROC and
precision-recall curves per set and anomaly heat-map overlays.

An existing ``--out-json`` / ``--out-csv`` is never replaced without
``--overwrite`` (checked before the run). A checkpoint that does not fit the
model of the config stops the run, naming the tensors;
``--allow-partial-checkpoint`` evaluates it anyway with the tensors that fit
and records the mismatch in the JSON (``checkpoint_fit``).

Examples:
    mmseg-ood-test CONFIG CHECKPOINT
    mmseg-ood-test CONFIG CHECKPOINT --sets fs_laf road_anomaly \
        --curves --overlays 4
    mmseg-ood-test CONFIG CHECKPOINT \
        --cfg-options test_evaluator.fpr_rule=nearest
    torchrun --nproc_per_node=4 -m mmseg_ood.cli.test CONFIG CHECKPOINT \
        --launcher pytorch
"""
import argparse
import os.path as osp
import sys

from mmengine.dist import is_main_process

from mmseg_ood.apis.run_manifest import provenance
from mmseg_ood.engine import (
    build_runner,
    load_run_config,
    prepare_test_config,
)
from mmseg_ood.engine.checkpoint import (
    CheckpointError,
    CheckpointMismatchError,
)
from mmseg_ood.engine.hooks.checkpoint_fit_hook import CHECKPOINT_FIT_INFO
from mmseg_ood.evaluation.results import write_sets_csv, write_sets_json
from mmseg_ood.visualization import save_result_curves

from .common import (
    add_runner_arguments,
    parse_runner_args,
    user_errors,
    warn_partial_checkpoint,
)

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-test'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG, description='Evaluate a model on anomaly sets')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--sets',
        nargs='+',
        metavar='NAME',
        help="evaluate these sets: names of the config's test_dataloader "
        'or of its `anomaly_sets` catalogue (default: all test sets)')
    parser.add_argument(
        '--out-json',
        help='where to write the results as JSON (default: '
        '<work_dir>/<timestamp>/anomaly_sets.json)')
    parser.add_argument(
        '--out-csv',
        help='where to write the results as CSV (default: next to the '
        'JSON file, anomaly_sets.csv)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing --out-json / --out-csv files')
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='evaluate a checkpoint that fits the model only partly (the '
        'other tensors keep their initial values); the JSON records which '
        'tensors did not fit')
    parser.add_argument(
        '--curves',
        action='store_true',
        help='draw ROC and precision-recall curves per set '
        '(<log_dir>/curves/<set>.png)')
    parser.add_argument(
        '--overlays',
        type=int,
        default=0,
        metavar='N',
        help='write anomaly heat-map overlays of the first N images of '
        'each set (<log_dir>/overlays/<set>/)')
    add_runner_arguments(parser)
    args = parse_runner_args(parser, argv)
    if args.overlays < 0:
        parser.error('--overlays must be >= 0')
    return args


def _check_outputs(args) -> None:
    """Refuse existing output files before the run (not after it)."""
    if args.overwrite:
        return
    paths = [args.out_json, args.out_csv]
    if args.out_json and not args.out_csv:
        paths[1] = osp.join(osp.dirname(osp.abspath(args.out_json)),
                            'anomaly_sets.csv')
    for option, path in zip(('--out-json', '--out-csv'), paths):
        if path and osp.lexists(path):
            raise FileExistsError(
                f'{option} {path} already exists; pass --overwrite to '
                'replace it, or choose another file.')


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        _check_outputs(args)
        cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                              args.work_dir)
        prepare_test_config(cfg, args.checkpoint, args.sets, args.curves,
                            args.overlays, args.allow_partial_checkpoint)
    runner = build_runner(cfg)
    try:
        metrics = runner.test()
    except (CheckpointMismatchError, CheckpointError) as error:
        sys.exit(f'{PROG}: error: {error}')
    if not is_main_process():
        return metrics
    results = runner.test_loop.results
    out_json = args.out_json or osp.join(runner.log_dir, 'anomaly_sets.json')
    out_csv = args.out_csv or osp.join(
        osp.dirname(osp.abspath(out_json)), 'anomaly_sets.csv')
    fit = runner.message_hub.get_info(CHECKPOINT_FIT_INFO)
    warn_partial_checkpoint(args.checkpoint, fit, 'the JSON', 'results')
    write_sets_json(
        out_json,
        results,
        config=args.config,
        checkpoint=args.checkpoint,
        provenance=provenance(args.config, args.checkpoint,
                              args.cfg_options),
        checkpoint_fit=fit,
        metrics={k: float(v) for k, v in metrics.items()})
    write_sets_csv(out_csv, results)
    print(f'results written to {out_json} and {out_csv}')
    if args.curves:
        for item in results:
            if item.result.curve is not None:
                stem = save_result_curves(item,
                                          osp.join(runner.log_dir, 'curves'))
                print(f'curves of {item.key} written to {stem}.png and '
                      f'{stem}.npz')
    return metrics


if __name__ == '__main__':
    main()
