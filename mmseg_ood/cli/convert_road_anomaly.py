"""Prepare Road Anomaly (Lis et al., ICCV 2019) from its public release.

Usage::

    mmseg-ood-convert-road-anomaly \\
        data/raw/RoadAnomaly_jpg data/road_anomaly

reads ``frames/<name>.jpg`` and ``frames/<name>.labels/labels_semantic.png``
(0 background, 1 road, 2 anomaly) and writes ``original/<name>.jpg``,
``labels/<name>.png`` (0 inlier, 1 anomaly) and ``DATASET.json``.
"""
import argparse

from mmseg_ood.datasets.converters import convert_road_anomaly

from .common import (
    add_converter_arguments,
    print_dataset_config,
    user_errors,
)

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-convert-road-anomaly'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Build the processed Road Anomaly set (original/ + '
        'labels/, 0/1) from the RoadAnomaly_jpg release.')
    parser.add_argument('road_anomaly', help='extracted RoadAnomaly_jpg (or '
                        'RoadAnomaly) folder with frames/')
    parser.add_argument('out_dir', help='output folder, e.g. '
                        'data/road_anomaly')
    add_converter_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        record = convert_road_anomaly(
            args.road_anomaly, args.out_dir, overwrite=args.overwrite,
            show_progress=not args.no_progress)
    print(f'{record["name"]}: {record["num_images"]} images written to '
          f'{args.out_dir} (raw label values seen: '
          f'{record["raw_values_seen"]})')
    print_dataset_config(record, args.out_dir)


if __name__ == '__main__':
    main()
