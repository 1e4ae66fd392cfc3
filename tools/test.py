"""Evaluate a checkpoint on one or several anomaly sets; one table per run.

Prints one table (set, AUROC, AP, FPR95 and, for SegmentMeIfYouCan sets,
sIoU_gt, PPV, mean F1) and writes it as JSON and CSV in the run's log
folder (``<work_dir>/<timestamp>/``). On request it also draws ROC and
precision-recall curves per set and anomaly heat-map overlays.

Examples:
    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --sets fs_laf road_anomaly \
        --curves --overlays 4
    python tools/test.py CONFIG CHECKPOINT \
        --cfg-options test_evaluator.fpr_rule=nearest
    bash tools/dist_test.sh CONFIG CHECKPOINT 4
"""
import argparse
import copy
import os.path as osp

import numpy as np

from mmengine.dist import is_main_process

import mmseg_ood  # noqa: F401  (registers the project's modules)
from mmseg_ood.engine import (add_runner_arguments, build_runner,
                              load_run_config, model_checkpoint_paths,
                              parse_runner_args, trusted_checkpoints)
from mmseg_ood.evaluation.report import write_sets_csv, write_sets_json
from mmseg_ood.utils.file_io import atomic_output
from mmseg_ood.visualization import plot_curves, thin_counts

SETS_LOOP = 'AnomalySetsTestLoop'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate a model on anomaly sets')
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


def select_sets(cfg, names=None) -> None:
    """Make ``cfg`` test named anomaly sets with :class:`AnomalySetsTestLoop`.

    A config with a single ``test_dataloader`` is tested as one set named
    ``test``. ``names`` picks sets from ``test_dataloader`` or from the
    config's ``anomaly_sets`` catalogue.
    """
    loaders = cfg.test_dataloader
    if 'dataset' in loaders:
        loaders = dict(test=loaders)
    if names:
        catalogue = dict(cfg.get('anomaly_sets', None) or {}, **loaders)
        unknown = [n for n in names if n not in catalogue]
        if unknown:
            raise SystemExit(
                f'Unknown anomaly set(s) {unknown}; this config knows '
                f'{sorted(catalogue)} (test_dataloader and anomaly_sets).')
        loaders = {n: copy.deepcopy(catalogue[n]) for n in names}
        evaluator = cfg.test_evaluator
        if isinstance(evaluator, dict) and 'type' not in evaluator:
            # one metric config per set: keep those of the chosen sets
            missing = [n for n in names if n not in evaluator]
            if missing:
                raise SystemExit(
                    f'test_evaluator has one config per set but none for '
                    f'{missing}; add them or use one shared metric config.')
            cfg.test_evaluator = {n: evaluator[n] for n in names}
    cfg.test_dataloader = loaders
    cfg.test_cfg = dict(type=SETS_LOOP)


def set_keep_curve(evaluator_cfg) -> None:
    """Ask every AnomalyMetric of an evaluator config to keep its curve."""
    if isinstance(evaluator_cfg, list):
        for item in evaluator_cfg:
            set_keep_curve(item)
    elif 'type' in evaluator_cfg:
        if evaluator_cfg['type'] in ('AnomalyMetric', 'mmseg.AnomalyMetric'):
            evaluator_cfg['keep_curve'] = True
    else:  # one config per set
        for item in evaluator_cfg.values():
            set_keep_curve(item)


def save_set_curves(summary: dict, log_dir: str, name: str) -> None:
    """Draw a set's ROC/PR curves (PNG) and keep their thinned counts
    (NPZ, ``fps``/``tps``) to redraw them later beside other models."""
    stem = osp.join(log_dir, 'curves', name.replace('/', '_'))
    plot_curves({summary['score']: summary['curve']}, stem + '.png',
                title=name, fpr_rule=summary['fpr_rule'],
                metrics={summary['score']: summary['metrics']})
    fps, tps = thin_counts(*summary['curve'])
    with atomic_output(stem + '.npz') as tmp:
        with open(tmp, 'wb') as f:
            np.savez_compressed(f, fps=fps, tps=tps)
    print(f'curves of {name} written to {stem}.png and {stem}.npz')


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise SystemExit(f'Checkpoint {args.checkpoint!r} does not exist.')
    cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    select_sets(cfg, args.sets)
    if args.curves:
        set_keep_curve(cfg.test_evaluator)
    if args.overlays:
        hooks = list(cfg.get('custom_hooks', None) or [])
        hooks.append(
            dict(type='AnomalyOverlayHook', num_images=args.overlays))
        cfg.custom_hooks = hooks
    runner = build_runner(cfg)
    trusted = [args.checkpoint] + model_checkpoint_paths(cfg.model)
    with trusted_checkpoints(files=trusted):
        metrics = runner.test()
    if not is_main_process():
        return metrics
    summaries = runner.test_loop.summaries
    out_json = args.out_json or osp.join(runner.log_dir, 'anomaly_sets.json')
    out_csv = args.out_csv or osp.join(
        osp.dirname(osp.abspath(out_json)), 'anomaly_sets.csv')
    write_sets_json(
        out_json,
        summaries,
        config=args.config,
        checkpoint=args.checkpoint,
        metrics={k: float(v) for k, v in metrics.items()})
    write_sets_csv(out_csv, summaries)
    print(f'results written to {out_json} and {out_csv}')
    if args.curves:
        for name, summary in summaries.items():
            if 'curve' in summary:
                save_set_curves(summary, runner.log_dir, name)
    return metrics


if __name__ == '__main__':
    main()
