"""Write a config that switches the method on in any MMSeg config.

The source is loaded as MMEngine loads it (every ``_base_`` merged), and the
written config extends it with what the method needs: outlier-aware losses
on every head that sees labels, the outlier loss on the head whose logits
are scored, COCO objects pasted in the training pipeline, validation and
test on anomaly sets with the anomaly metric, and the checks hook. It runs
with ``mmseg-ood-train`` and with MMSeg's own ``tools/train.py``.

Examples:
    mmseg-ood-switch-on \
        mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py \
        configs/pspnet_r18_ood.py
    mmseg-ood-switch-on my_segformer.py my_segformer_ood.py \
        --loss EnergyLoss --prob 0.2 --test-sets fs_laf road_anomaly
"""
import argparse
import shlex
import sys

from mmseg_ood.datasets.set_specs import ANOMALY_SETS
from mmseg_ood.engine.switch_on import (
    OUTLIER_LOSSES,
    SwitchOnOptions,
    write_switched_on_config,
)

from .common import user_errors

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-switch-on'


def parse_args(argv=None):
    defaults = SwitchOnOptions()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Write a config that switches Balanced Energy (or '
        'energy) outlier exposure on in an MMSeg config.')
    parser.add_argument(
        'source',
        help='the MMSeg config: a file, or mmseg::<path> in the installed '
        'MMSeg configs')
    parser.add_argument('out', help='the config to write (.py)')
    parser.add_argument(
        '--loss',
        choices=OUTLIER_LOSSES,
        default=defaults.loss,
        help='the outlier loss of the scored head (default: %(default)s)')
    parser.add_argument(
        '--loss-weight',
        type=float,
        default=defaults.loss_weight,
        help='its weight (default: %(default)s, the paper)')
    parser.add_argument(
        '--prior',
        help="the prior of BalancedEnergyLoss: 'cityscapes_paper', "
        "'uniform' or the JSON file of mmseg-ood-prior (default: "
        "cityscapes_paper for 19 classes, uniform otherwise)")
    parser.add_argument(
        '--coco-root',
        default=defaults.coco_root,
        help='folder of the COCO outlier bank (default: %(default)s)')
    parser.add_argument(
        '--prob',
        type=float,
        default=defaults.prob,
        help='share of training frames that get a pasted object '
        '(default: %(default)s, the paper)')
    parser.add_argument(
        '--sets-root',
        help='folder that holds the anomaly sets (default: each set\'s own '
        'folder under data/, e.g. data/fishyscapes/LostAndFound)')
    parser.add_argument(
        '--val-sets',
        nargs='+',
        default=list(defaults.val_sets),
        metavar='SET',
        help=f'sets validated while training, of {list(ANOMALY_SETS)} '
        '(default: %(default)s)')
    parser.add_argument(
        '--test-sets',
        nargs='+',
        default=list(defaults.test_sets),
        metavar='SET',
        help='sets of the test run (default: %(default)s)')
    parser.add_argument(
        '--test-scale',
        type=int,
        nargs=2,
        metavar=('W', 'H'),
        help="resize of the anomaly sets (default: the source's test "
        'pipeline)')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace OUT if it exists')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    options = SwitchOnOptions(
        loss=args.loss,
        loss_weight=args.loss_weight,
        prior=args.prior,
        coco_root=args.coco_root,
        prob=args.prob,
        sets_root=args.sets_root,
        val_sets=tuple(args.val_sets),
        test_sets=tuple(args.test_sets),
        test_scale=tuple(args.test_scale) if args.test_scale else None)
    command = shlex.join(
        [PROG] + list(sys.argv[1:] if argv is None else argv))
    with user_errors(PROG):
        switched = write_switched_on_config(
            args.source,
            args.out,
            options,
            overwrite=args.overwrite,
            command=command)
    print(f'{args.out}: {args.source} with the method switched on:')
    for line in switched.changes:
        print(f'  - {line}')
    print(f'Train: mmseg-ood-train {args.out} (or MMSeg\'s tools/train.py); '
          f'the COCO bank first: mmseg-ood-coco-bank {args.coco_root}')
    return switched


if __name__ == '__main__':
    main()
