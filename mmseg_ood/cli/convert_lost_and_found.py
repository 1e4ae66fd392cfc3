"""Prepare Lost & Found testNoKnown (SegmentMeIfYouCan) from Lost & Found.

Usage::

    mmseg-ood-convert-lost-and-found \\
        data/raw/lost_and_found data/smiyc/LostAndFound-testNoKnown

reads ``leftImg8bit/test`` and ``gtCoarse/test`` of the Lost & Found
release, selects the 1043 testNoKnown frames as the SegmentMeIfYouCan
benchmark does, maps the label ids (1 -> 0 road, 2..200 -> 1 obstacle,
other -> 255) and writes ``original/``, ``labels/`` and ``DATASET.json``
(which also lists the dropped frames and why).
"""
import argparse

from mmseg_ood.datasets.converters import convert_laf_test_no_known

from .common import (
    add_converter_arguments,
    print_dataset_config,
    user_errors,
)

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-convert-lost-and-found'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Build Lost & Found testNoKnown (original/ + labels/) '
        'from the Lost & Found release.')
    parser.add_argument('lost_and_found', help='Lost & Found root holding '
                        'leftImg8bit/test and gtCoarse/test')
    parser.add_argument('out_dir', help='output folder, e.g. '
                        'data/smiyc/LostAndFound-testNoKnown')
    add_converter_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        record = convert_laf_test_no_known(
            args.lost_and_found, args.out_dir, overwrite=args.overwrite,
            show_progress=not args.no_progress)
    sel = record['selection']
    print(f'{record["name"]}: {record["num_images"]} of '
          f'{sel["test_frames"]} test frames written to {args.out_dir} '
          f'({len(sel["dropped_unlabelled"])} without labels, '
          f'{len(sel["dropped_known_classes"])} with known classes dropped; '
          f'rule: {sel["rule"]})')
    print_dataset_config(record, args.out_dir)


if __name__ == '__main__':
    main()
