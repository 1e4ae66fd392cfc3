"""Write per-image anomaly score maps (and class maps) of an image folder.

The maps have the input images' resolution; scores are float32, higher =
more anomalous. By default the score is the one of the config's
``AnomalyMetric`` (score type, number of classes, temperature, blur), else
the energy over ``model.decode_head.num_classes`` classes without blur.

Examples:
    # <stem>_anomaly.npy + <stem>_segmentation.npy per image
    python tools/misc/anomaly_maps.py CONFIG CHECKPOINT IMG_DIR OUT_DIR
    # Fishyscapes container: /input/DDDD_*.png -> /output/DDDD_anomaly.npy
    python tools/misc/anomaly_maps.py CONFIG CHECKPOINT /input /output \
        --format fishyscapes --suffixes .png
    # SegmentMeIfYouCan: OUT/anomaly_p/<method>/<dataset>/<frame>.hdf5
    python tools/misc/anomaly_maps.py CONFIG CHECKPOINT \
        datasets/dataset_AnomalyTrack/images outputs --format smiyc \
        --method-name BalancedEnergy --dataset-name AnomalyTrack-all

Re-running the same command resumes: images whose outputs are complete are
skipped (``--overwrite`` recomputes them). Outputs are written atomically.
The output folder keeps a manifest (``.anomaly_maps.json``: config,
checkpoint fingerprint, score settings, format, names); a re-run with other
settings (another checkpoint, ``--score-type``, ...) stops with an error
naming the differences instead of resuming: pass ``--overwrite`` to
recompute the maps, or choose another output folder.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import mmseg_ood  # noqa: F401  (registers the project's modules)
from mmseg_ood.apis import (IMAGE_SUFFIXES, OUTPUT_FORMATS,
                            AnomalyMapInferencer, find_images,
                            outputs_complete, plan_outputs, score_settings,
                            write_anomaly_maps)
from mmseg_ood.apis.submission import (check_run_manifest, existing_outputs,
                                       manifest_folder, run_manifest)
from mmseg_ood.models.scores import SCORE_TYPES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write per-image anomaly score maps of an image folder')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file (trusted: it is '
                        'loaded with weights_only=False)')
    parser.add_argument('img_dir', help='folder of input images')
    parser.add_argument('out_dir', help='output folder (created)')
    parser.add_argument(
        '--format', choices=OUTPUT_FORMATS, default='npy',
        help='npy: <stem>_anomaly.npy/_segmentation.npy (subfolders '
        'mirrored); fishyscapes: DDDD_anomaly.npy/_segmentation.npy; '
        'smiyc: anomaly_p/<method>/<dataset>/<frame>.hdf5')
    parser.add_argument(
        '--suffixes', nargs='+', default=list(IMAGE_SUFFIXES),
        help='image suffixes to search (case-insensitive)')
    parser.add_argument('--recursive', action='store_true',
                        help='also search subfolders')
    parser.add_argument('--method-name', help='method name (smiyc)')
    parser.add_argument('--dataset-name',
                        help='dataset name (smiyc), e.g. AnomalyTrack-all')
    parser.add_argument('--score-type', choices=SCORE_TYPES,
                        help="default: the config's AnomalyMetric, else "
                        'energy')
    parser.add_argument('--num-classes', type=int,
                        help='number of inlier classes K (default: the '
                        "config's AnomalyMetric or decode head)")
    parser.add_argument('--temperature', type=float,
                        help='energy temperature (default 1)')
    parser.add_argument(
        '--blur', action=argparse.BooleanOptionalAction, default=None,
        help="7x7 Gaussian blur (sigma 1) of the score (default: the "
        "config's AnomalyMetric, else no blur)")
    parser.add_argument('--device', default='cpu',
                        help='torch device, e.g. cpu or cuda:0')
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute images whose outputs exist (also '
                        'when they were made with other settings)')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    images = find_images(args.img_dir, args.suffixes, args.recursive)
    # check names and the output folder before loading the model
    plan = plan_outputs(images, args.img_dir, args.out_dir, args.format,
                        args.method_name, args.dataset_name)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'Config file {args.config!r} does not '
                                'exist.')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    settings = score_settings(cfg, args.score_type, args.num_classes,
                              args.temperature, args.blur)
    # maps made with other settings are never resumed
    manifest = run_manifest(args.config, args.checkpoint, settings,
                            args.format, args.method_name,
                            args.dataset_name, args.cfg_options)
    check_run_manifest(
        manifest_folder(args.out_dir, args.format, args.method_name,
                        args.dataset_name), manifest, args.overwrite,
        bool(existing_outputs(plan)))
    if not args.overwrite and all(
            outputs_complete(img, plan[img]) for img in images):
        print(f'all {len(images)} images have complete outputs in '
              f'{args.out_dir}; nothing to do (--overwrite recomputes).')
        return dict(written=[], skipped=list(images))
    inferencer = AnomalyMapInferencer(
        cfg, args.checkpoint, device=args.device,
        score_type=settings.score_type, num_classes=settings.num_classes,
        temperature=settings.temperature, blur=settings.blur)
    s = inferencer.settings
    print(f'{len(images)} images; score: {s.score_type} over '
          f'{s.num_classes} classes, T={s.temperature}, blur={s.blur}')
    result = write_anomaly_maps(
        inferencer, images, args.img_dir, args.out_dir, args.format,
        args.method_name, args.dataset_name, overwrite=args.overwrite,
        show_progress=not args.no_progress, manifest=manifest)
    print(f"\nwrote {len(result['written'])}, skipped "
          f"{len(result['skipped'])} complete, in {args.out_dir}")
    return result


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        sys.exit(f'error: {error}')
