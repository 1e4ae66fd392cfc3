"""Convert NVIDIA / PEBAL / Balanced Energy checkpoints to MMSeg.

Reads NVIDIA's ``cityscapes_best.pth`` (widening the classifier to the 20
channels of PEBAL's abstention model, seeded), PEBAL's ``best_ad_ckpt.pth``
or Balanced Energy's ``6707_best_real.pth`` (``{'model': ...}`` or a bare
``branch1.*`` state dict) and writes an MMEngine checkpoint for the configs
in ``configs/balanced_energy_pebal/``.

Examples:
    mmseg-ood-pebal2mmseg cityscapes_best.pth \
        checkpoints/wrn38-deeplabv3plus_nvidia-cityscapes_20ch.pth
    python tools/model_converters/pebal2mmseg.py best_ad_ckpt.pth \
        checkpoints/pebal_wrn38-deeplabv3plus.pth
"""
import argparse

from mmseg_ood.apis.pebal_checkpoint import convert_pebal_checkpoint

from .common import user_errors

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-pebal2mmseg'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Convert NVIDIA cityscapes_best.pth, PEBAL or Balanced '
        'Energy checkpoints (WiderResNet-38 DeepLabV3+) to an MMSeg '
        'checkpoint')
    parser.add_argument('src', help='the checkpoint to convert')
    parser.add_argument('dst', help='the MMSeg checkpoint to write (must '
                        'not exist)')
    parser.add_argument(
        '--seed', type=int, default=0,
        help='seed of the abstention row added to NVIDIA\'s 19-class '
        'classifier (default 0; other layouts ignore it)')
    parser.add_argument(
        '--trusted', action='store_true',
        help='load with weights_only=False, which runs code stored in the '
        'file: only for files you trust, and only if the safe load refuses')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        report = convert_pebal_checkpoint(args.src, args.dst, seed=args.seed,
                                          trusted=args.trusted)
    print(f'{args.src}: {report["layout"]} layout, {report["num_read"]} '
          f'tensors read, {report["num_dropped"]} dropped')
    if report['widened']:
        print('final.6 widened from 19 to 20 rows (row 19: Kaiming normal, '
              f'seed {args.seed})')
    print(f'{args.dst}: {report["num_written"]} tensors written '
          '(backbone.*, decode_head.*)')
    return report


if __name__ == '__main__':
    main()
