"""Evaluate a checkpoint on one or several anomaly sets; one table per run.

Prints one table (set, AUROC, AP, FPR95 and, for SegmentMeIfYouCan sets,
sIoU_gt, PPV, mean F1) and writes it as JSON and CSV in the run's log
folder (``<work_dir>/<timestamp>/``). On request it also draws ROC and
precision-recall curves per set and anomaly heat-map overlays.

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

from mmengine.dist import is_main_process

from mmseg_ood.engine import (
    build_runner,
    load_run_config,
    prepare_test_config,
)
from mmseg_ood.evaluation.results import write_sets_csv, write_sets_json
from mmseg_ood.visualization import save_result_curves

from .common import add_runner_arguments, parse_runner_args, user_errors

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


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                              args.work_dir)
        prepare_test_config(cfg, args.checkpoint, args.sets, args.curves,
                            args.overlays)
    runner = build_runner(cfg)
    metrics = runner.test()
    if not is_main_process():
        return metrics
    results = runner.test_loop.results
    out_json = args.out_json or osp.join(runner.log_dir, 'anomaly_sets.json')
    out_csv = args.out_csv or osp.join(
        osp.dirname(osp.abspath(out_json)), 'anomaly_sets.csv')
    write_sets_json(
        out_json,
        results,
        config=args.config,
        checkpoint=args.checkpoint,
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
