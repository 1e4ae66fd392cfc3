"""Prepare the Fishyscapes validation sets from their public releases.

Usage::

    # FS Lost & Found val: the label archive + Lost & Found leftImg8bit
    mmseg-ood-convert-fishyscapes laf \\
        data/raw/fishyscapes_lostandfound.zip data/raw/lost_and_found \\
        data/fishyscapes/LostAndFound

    # FS Static val: an overlay archive (its version!) + Cityscapes val
    mmseg-ood-convert-fishyscapes static \\
        data/raw/fs_val_v3.zip data/cityscapes data/fishyscapes/Static \\
        --version v3

Both write ``original/*.png``, ``labels/*.png`` (0 inlier, 1 anomaly, 255
void) and ``DATASET.json`` (set, Static version, sources). No TensorFlow
needed. Archives may be given as .zip or extracted folders. See
``mmseg_ood/datasets/converters/fishyscapes.py`` for the formats.
"""
import argparse

from mmseg_ood.datasets.converters import (
    FS_STATIC_VERSIONS,
    convert_fs_lost_and_found,
    convert_fs_static,
)

from .common import (
    add_converter_arguments,
    print_dataset_config,
    user_errors,
)

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-convert-fishyscapes'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Build the processed Fishyscapes validation sets '
        '(original/ + labels/) from the public releases.')
    sub = parser.add_subparsers(dest='set', required=True)
    laf = sub.add_parser(
        'laf', help='FS Lost & Found val (100 frames)',
        description='FS Lost & Found val from fishyscapes_lostandfound.zip '
        'and the Lost & Found leftImg8bit frames.')
    laf.add_argument('labels', help='fishyscapes_lostandfound.zip or its '
                     'extracted folder (NNNN_<id>_labels.png)')
    laf.add_argument('lost_and_found', help='Lost & Found root holding '
                     'leftImg8bit/{train,test}/<scene>/')
    laf.add_argument('out_dir', help='output folder, e.g. '
                     'data/fishyscapes/LostAndFound')
    static = sub.add_parser(
        'static', help='FS Static val (30 frames), versions v1/v2/v3',
        description='FS Static val from an fs_val_v<N>.zip overlay archive '
        'and the Cityscapes val frames.')
    static.add_argument('overlays', help='fs_val_v1.zip / fs_val_v2.zip / '
                        'fs_val_v3.zip or its extracted folder')
    static.add_argument('cityscapes', help='Cityscapes root holding '
                        'leftImg8bit/val/<city>/')
    static.add_argument('out_dir', help='output folder, e.g. '
                        'data/fishyscapes/Static')
    static.add_argument(
        '--version', required=True, choices=sorted(FS_STATIC_VERSIONS),
        help='version of the overlay archive; the versions give different '
        'numbers, so it is recorded in DATASET.json')
    for p in (laf, static):
        add_converter_arguments(p)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        if args.set == 'laf':
            record = convert_fs_lost_and_found(
                args.labels, args.lost_and_found, args.out_dir,
                overwrite=args.overwrite,
                show_progress=not args.no_progress)
        else:
            record = convert_fs_static(
                args.overlays, args.cityscapes, args.out_dir, args.version,
                overwrite=args.overwrite,
                show_progress=not args.no_progress)
    version = f' ({record["version"]})' if record.get('version') else ''
    print(f'{record["name"]}{version}: {record["num_images"]} images '
          f'written to {args.out_dir}')
    print_dataset_config(record, args.out_dir)


if __name__ == '__main__':
    main()
