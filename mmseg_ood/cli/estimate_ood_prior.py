"""Estimate the outlier class prior of Balanced Energy with a trained model.

Runs the model's test-time forward over the config's training set with a
COCO object pasted into every frame (``PasteCocoObjects`` forced to
``prob=1``, test-pipeline resize instead of random crop/flip), counts how
the pasted (outlier, label 254) pixels are classified, and writes the prior
as the JSON that ``BalancedEnergyLoss(prior='path.json')`` reads. The paper
did this with its pretrained Cityscapes model over 10,000 scenes.

Examples:
    mmseg-ood-prior CONFIG CHECKPOINT
    mmseg-ood-prior CONFIG CHECKPOINT --num-samples 10000 --mode softmax \
        --out work_dirs/prior.json
    torchrun --nproc_per_node=4 -m mmseg_ood.cli.estimate_ood_prior \
        CONFIG CHECKPOINT --launcher pytorch
"""
import argparse

from mmengine.dist import is_main_process

from mmseg_ood.apis import (
    PRIOR_MODES,
    estimate_outlier_prior,
    format_prior_table,
    prior_record,
    save_prior,
)
from mmseg_ood.apis.run_manifest import provenance

from .common import (
    add_statistics_arguments,
    parse_runner_args,
    prepare_statistics_run,
    user_errors,
)

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-prior'
DEFAULT_OUT = 'outlier_prior.json'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Estimate the outlier class prior of Balanced Energy')
    add_statistics_arguments(parser, DEFAULT_OUT,
                             'pasted scenes (the paper used 10000)')
    parser.add_argument(
        '--mode',
        choices=PRIOR_MODES,
        default='argmax',
        help="count the argmax class of each outlier pixel (the paper's "
        'likely reading) or sum its softmax')
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        out, model, loader, num_classes, classes = prepare_statistics_run(
            args, paste=True, default_out=DEFAULT_OUT)
    counts = estimate_outlier_prior(model, loader, num_classes,
                                    mode=args.mode)
    if not is_main_process():
        return None
    with user_errors(PROG):
        record = prior_record(
            counts,
            classes,
            mode=args.mode,
            num_samples=len(loader.dataset),
            seed=args.seed,
            config=args.config,
            checkpoint=args.checkpoint,
            provenance=provenance(args.config, args.checkpoint,
                                  args.cfg_options),
            source=f'estimated by {PROG}: share of pasted outlier pixels '
            'the model assigns to each class')
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
