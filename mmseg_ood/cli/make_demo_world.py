"""Write the SYNTHETIC demo world (fake street scenes in real data layouts).

Usage::

    mmseg-ood-demo-world                  # data/demo_world
    mmseg-ood-demo-world --out /tmp/dw --seed 1 --force

The data are procedurally generated and synthetic: NOT Cityscapes, COCO,
Fishyscapes or Road Anomaly. They only share those data sets' layouts, so
the whole pipeline can be tried without downloads.
"""
import argparse
import os.path as osp

from mmseg_ood.demo.world import make_demo_world

from .common import user_errors

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-demo-world'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Write the SYNTHETIC demo world: a small fake street '
        'data set in the Cityscapes, COCO, Fishyscapes and Road Anomaly '
        'layouts (no real data).')
    parser.add_argument(
        '--out',
        default='data/demo_world',
        help='output folder (default: %(default)s)')
    parser.add_argument(
        '--seed', type=int, default=0, help='random seed (default: 0)')
    counts = parser.add_argument_group('sizes')
    for flag, default, what in (
            ('--num-train', 64, 'Cityscapes-format train frames'),
            ('--num-val', 8, 'Cityscapes-format val frames'),
            ('--num-coco', 48, 'COCO-format outlier images'),
            ('--num-fs-laf', 12, 'Fishyscapes Lost & Found-format images'),
            ('--num-fs-static', 8, 'Fishyscapes Static-format images'),
            ('--num-road-anomaly', 8, 'Road Anomaly-format images')):
        counts.add_argument(
            flag, type=int, default=default,
            help=f'{what} (default: %(default)s)')
    counts.add_argument(
        '--frame-size',
        type=int,
        nargs=2,
        default=(256, 512),
        metavar=('H', 'W'),
        help='street frame height and width (default: 256 512)')
    parser.add_argument(
        '--force',
        action='store_true',
        help='replace an existing demo world made with other parameters '
        '(a folder that is not a demo world is never replaced)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        paths = make_demo_world(
            args.out,
            seed=args.seed,
            num_train=args.num_train,
            num_val=args.num_val,
            num_coco=args.num_coco,
            num_fs_laf=args.num_fs_laf,
            num_fs_static=args.num_fs_static,
            num_road_anomaly=args.num_road_anomaly,
            frame_size=tuple(args.frame_size),
            overwrite=args.force)
    print(f'Demo world in {paths["root"]}:')
    for key in ('cityscapes', 'coco', 'fs_laf', 'fs_static', 'road_anomaly'):
        print(f'  {key:<13} {paths[key]}')
    print('Reminder: these data are SYNTHETIC (procedurally generated); see '
          f'{osp.join(paths["root"], "SYNTHETIC_DATA.txt")}.')


if __name__ == '__main__':
    main()
