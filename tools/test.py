"""Evaluate a checkpoint with MMSeg semantics and save the metrics as JSON.

Examples:
    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out-json results.json \
        --cfg-options test_evaluator.score_type=max_logit
    bash tools/dist_test.sh CONFIG CHECKPOINT 4
"""
import argparse
import json
import os
import os.path as osp

from mmengine.dist import is_main_process

import mmseg_ood  # noqa: F401  (registers the project's modules)
from mmseg_ood.engine import (add_runner_arguments, build_runner,
                              load_run_config, model_checkpoint_paths,
                              parse_runner_args, trusted_checkpoints)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-json',
        help='where to write the metrics as JSON (default: '
        '<work_dir>/<timestamp>/metrics.json)')
    add_runner_arguments(parser)
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise SystemExit(f'Checkpoint {args.checkpoint!r} does not exist.')
    cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    runner = build_runner(cfg)
    trusted = [args.checkpoint] + model_checkpoint_paths(cfg.model)
    with trusted_checkpoints(files=trusted):
        metrics = runner.test()
    if is_main_process():
        out = args.out_json or osp.join(runner.log_dir, 'metrics.json')
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        record = dict(
            config=args.config,
            checkpoint=args.checkpoint,
            test_data=cfg.test_dataloader.dataset.get('data_root'),
            metrics={k: float(v) for k, v in metrics.items()})
        with open(out, 'w', encoding='utf-8') as f:
            json.dump(record, f, indent=2)
        print(f'metrics written to {out}')
    return metrics


if __name__ == '__main__':
    main()
