"""Build the COCO outlier bank used to paste auxiliary outliers in training.

Usage::

    mmseg-ood-coco-bank data/coco --nproc 4

reads ``data/coco/annotations/instances_train2017.json`` and
``data/coco/train2017/*.jpg`` and writes
``data/coco/annotations/ood_seg_train2017/*.png`` plus the index
``data/coco/annotations/ood_seg_train2017.json``. Re-running reuses the masks
already written; an interrupted run can simply be started again.
"""
import argparse
import json
import os
import os.path as osp

from mmseg_ood.datasets.converters import build_coco_ood_bank
from mmseg_ood.utils.constants import COCO_MIN_IMAGE_SIZE

from .common import user_errors

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-coco-bank'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Build the COCO outlier bank (union masks of COCO images '
        'without driving-scene classes, Meta-OoD recipe).')
    parser.add_argument(
        'coco_root',
        help='COCO folder with annotations/instances_<split>.json and '
        '<split>/*.jpg')
    parser.add_argument(
        '--split',
        default='train2017',
        help='COCO split (default: %(default)s)')
    parser.add_argument(
        '--out-dir',
        default=None,
        help='folder of the masks; the index is written to <out-dir>.json '
        '(default: <coco_root>/annotations/ood_seg_<split>)')
    parser.add_argument(
        '--min-size',
        type=int,
        default=COCO_MIN_IMAGE_SIZE,
        help='minimum image height and width (default: %(default)s)')
    parser.add_argument(
        '--nproc',
        type=int,
        default=min(4, os.cpu_count() or 1),
        help='worker processes (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        index_file = build_coco_ood_bank(
            args.coco_root,
            split=args.split,
            out_dir=args.out_dir,
            min_size=args.min_size,
            nproc=args.nproc)
    with open(index_file, encoding='utf-8') as f:
        index = json.load(f)
    dropped = index['num_dropped']
    ann_file = osp.relpath(index_file, args.coco_root).replace(os.sep, '/')
    print(f'COCO outlier bank ({index["split"]}): '
          f'{len(index["entries"])} of {index["num_images_total"]} images '
          f'kept; dropped: {dropped["excluded_category"]} excluded category, '
          f'{dropped["too_small"]} too small, {dropped["no_objects"]} '
          'without objects.')
    print(f'Index: {index_file}')
    print('Use it in a training pipeline with:')
    print(f'    dict(type=\'PasteCocoObjects\', data_root={args.coco_root!r}, '
          f'ann_file={ann_file!r})')


if __name__ == '__main__':
    main()
