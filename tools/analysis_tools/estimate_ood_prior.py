"""Estimate the outlier class prior of Balanced Energy with a trained model.

Runs the model's test-time forward over the config's training set with a
COCO object pasted into every frame (``PasteCocoObjects`` forced to
``prob=1``, test-pipeline resize instead of random crop/flip), counts how
the pasted (outlier, label 254) pixels are classified, and writes the prior
as the JSON that ``BalancedEnergyLoss(prior='path.json')`` reads. The paper
did this with its pretrained Cityscapes model over 10,000 scenes.

Examples:
    python tools/analysis_tools/estimate_ood_prior.py CONFIG CHECKPOINT
    python tools/analysis_tools/estimate_ood_prior.py CONFIG CHECKPOINT \
        --num-samples 10000 --mode softmax --out work_dirs/prior.json
    torchrun --nproc_per_node=4 tools/analysis_tools/estimate_ood_prior.py \
        CONFIG CHECKPOINT --launcher pytorch
"""
import argparse
import os.path as osp

import torch.distributed as dist
from mmengine.device import get_device
from mmengine.dist import init_dist, is_main_process
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

import mmseg_ood  # noqa: F401  (registers the project's modules)
from mmseg_ood.apis.outlier_prior import (PRIOR_MODES, build_prior_dataloader,
                                          estimate_outlier_prior,
                                          format_prior_table, prior_record,
                                          save_prior,
                                          with_uniform_loss_priors)
from mmseg_ood.engine import (add_runner_arguments, load_run_config,
                              model_checkpoint_paths, parse_runner_args,
                              trusted_checkpoints)

DEFAULT_OUT = 'outlier_prior.json'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Estimate the outlier class prior of Balanced Energy')
    parser.add_argument('config', help='training config (with pasting)')
    parser.add_argument('checkpoint', help='trained model checkpoint')
    parser.add_argument(
        '--out',
        help=f'output JSON (default: <work_dir>/{DEFAULT_OUT})')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the output file if it exists')
    parser.add_argument(
        '--mode',
        choices=PRIOR_MODES,
        default='argmax',
        help='count the argmax class of each outlier pixel (the paper\'s '
        'likely reading) or sum its softmax')
    parser.add_argument(
        '--num-samples',
        type=int,
        help='number of pasted scenes (cycles over the frames; default: one '
        'per training frame; the paper used 10000)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the pasting')
    parser.add_argument(
        '--num-classes',
        type=int,
        help='number of inlier classes K (default: the dataset\'s classes)')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument(
        '--num-workers', type=int, default=2, help='data loading workers')
    add_runner_arguments(parser)
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise SystemExit(f'Checkpoint {args.checkpoint!r} does not exist.')
    cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
    out = args.out or osp.join(cfg.work_dir, DEFAULT_OUT)
    if not out.endswith('.json'):
        raise SystemExit(f'--out {out}: the prior file must end in .json.')
    if osp.exists(out) and not args.overwrite:
        raise SystemExit(f'{out} already exists. Pass --overwrite to replace '
                         'it, or choose another file with --out.')
    if args.launcher != 'none' and not dist.is_initialized():
        init_dist(args.launcher,
                  **(cfg.get('env_cfg') or {}).get('dist_cfg', {}))
    init_default_scope(cfg.get('default_scope', 'mmseg'))

    # the losses are not run here; their prior may be the file being made
    model = revert_sync_batchnorm(
        MODELS.build(with_uniform_loss_priors(cfg.model)))
    trusted = [args.checkpoint] + model_checkpoint_paths(cfg.model)
    with trusted_checkpoints(files=trusted):
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(get_device())

    loader = build_prior_dataloader(
        cfg,
        num_samples=args.num_samples,
        seed=args.seed,
        batch_size=args.batch_size,
        num_workers=args.num_workers)
    classes = list(loader.dataset.metainfo.get('classes') or [])
    num_classes = args.num_classes or len(classes)
    if not num_classes:
        raise SystemExit('The dataset names no classes; pass --num-classes.')
    if len(classes) != num_classes:
        classes = None
    counts = estimate_outlier_prior(
        model, loader, num_classes, mode=args.mode)
    if not is_main_process():
        return None
    record = prior_record(
        counts,
        classes,
        mode=args.mode,
        num_samples=len(loader.dataset),
        seed=args.seed,
        config=args.config,
        checkpoint=args.checkpoint,
        source='estimated by tools/analysis_tools/estimate_ood_prior.py: '
        'share of pasted outlier pixels the model assigns to each class')
    save_prior(record, out, overwrite=args.overwrite)
    print(f'Outlier prior ({args.mode}, {record["num_samples"]} scenes, '
          f'{record["outlier_pixels"]:.0f} outlier pixels):')
    print(format_prior_table(record))
    print(f'prior written to {out}; use it with '
          f"dict(type='BalancedEnergyLoss', prior='{out}', "
          f'num_classes={num_classes})')
    return record


if __name__ == '__main__':
    main()
