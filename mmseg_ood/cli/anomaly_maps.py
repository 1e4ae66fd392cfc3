"""Write per-image anomaly score maps (and class maps) of an image folder.

The maps have the input images' resolution; scores are float32, higher =
more anomalous. The score is the config's (its first ``AnomalyMetric``'s
``score``); ``--score-options`` changes it, e.g. ``type=MaxLogitScore`` or
``blur=None``.

Examples:
    # <stem>_anomaly.npy + <stem>_segmentation.npy per image
    mmseg-ood-anomaly-maps CONFIG CHECKPOINT IMG_DIR OUT_DIR
    # Fishyscapes container: /input/DDDD_*.png -> /output/DDDD_anomaly.npy
    mmseg-ood-anomaly-maps CONFIG CHECKPOINT /input /output \
        --format fishyscapes --suffixes .png
    # SegmentMeIfYouCan: OUT/anomaly_p/<method>/<storage>/<frame>.hdf5, the
    # storage folder the benchmark reads for the set (AnomalyTrack-all)
    mmseg-ood-anomaly-maps CONFIG CHECKPOINT \
        datasets/dataset_AnomalyTrack/images outputs --format smiyc \
        --method-name BalancedEnergy --set smiyc_anomaly

Re-running the same command resumes: images whose outputs are complete are
skipped (``--overwrite`` recomputes them). Outputs are written atomically.
The output folder keeps a manifest (``.anomaly_maps.json``: config,
checkpoint fingerprint, score settings, format, names); a re-run with other
settings (another checkpoint, score, ...) stops with an error naming the
differences instead of resuming: pass ``--overwrite`` to recompute the
maps, or choose another output folder. Beside it, a record per output
(``.anomaly_maps.records.jsonl``: the input image's path, size and SHA-256
and the settings) makes sure that a map is kept only for the same image
content: an edited or replaced image, or another image folder whose file
names collide, stops the run with the file names; so does an edited config
file (its SHA-256 is in the manifest).

A checkpoint that does not fit the model (missing, unexpected or misshapen
tensors) is an error. ``--allow-partial-checkpoint`` loads the tensors that
fit anyway and records the mismatch in the manifest (``checkpoint_fit``).
"""
import argparse

from mmengine.config import Config, DictAction

from mmseg_ood.apis import (
    MAP_FORMATS,
    AnomalyInferencer,
    build_map_format,
    config_score,
    find_images,
    plan_outputs,
    run_manifest,
    write_anomaly_maps,
)
from mmseg_ood.apis.anomaly_maps import outputs_complete
from mmseg_ood.apis.run_manifest import (
    CHECKPOINT_FIT_KEY,
    check_run_manifest,
    existing_outputs,
)
from mmseg_ood.datasets.set_specs import ANOMALY_SETS
from mmseg_ood.models.scores import build_anomaly_score
from mmseg_ood.utils.constants import IMAGE_SUFFIXES

from .common import user_errors, warn_partial_checkpoint

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-anomaly-maps'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Write per-image anomaly score maps of an image folder')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img_dir', help='folder of input images')
    parser.add_argument('out_dir', help='output folder (created)')
    parser.add_argument(
        '--format', choices=sorted(MAP_FORMATS), default='npy',
        help='npy: <stem>_anomaly.npy/_segmentation.npy (subfolders '
        'mirrored); fishyscapes: DDDD_anomaly.npy/_segmentation.npy; '
        'smiyc: anomaly_p/<method>/<storage>/<frame>.hdf5')
    parser.add_argument(
        '--suffixes', nargs='+', default=list(IMAGE_SUFFIXES),
        help='image suffixes to search (case-insensitive)')
    parser.add_argument('--recursive', action='store_true',
                        help='also search subfolders')
    parser.add_argument('--method-name', help='method name (smiyc)')
    smiyc_sets = {k: s.smiyc.storage for k, s in ANOMALY_SETS.items()
                  if s.smiyc}
    parser.add_argument(
        '--set', dest='anomaly_set', choices=sorted(smiyc_sets),
        help='SegmentMeIfYouCan set of the images (smiyc); it names the '
        'folder the benchmark reads: ' + ', '.join(
            f'{k} -> {v}' for k, v in smiyc_sets.items()))
    parser.add_argument(
        '--dataset-name',
        help='storage folder (smiyc), instead of --set; only the names the '
        'benchmark reads are accepted: ' + ', '.join(
            dict.fromkeys(smiyc_sets.values())))
    parser.add_argument(
        '--score-options', nargs='+', action=DictAction,
        help="change the config's score, key=value pairs, e.g. "
        'type=MaxLogitScore blur=None, or '
        'type=StandardizedMaxLogitScore statistics=sml.json')
    parser.add_argument('--device', default='cpu',
                        help='torch device, e.g. cpu or cuda:0')
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute images whose outputs exist (also '
                        'when they were made with other settings)')
    parser.add_argument(
        '--allow-partial-checkpoint', action='store_true',
        help='load a checkpoint that fits the model only partly (the other '
        'tensors keep their initial values) instead of stopping; the '
        'mismatch is recorded in the output folder\'s manifest')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        images = find_images(args.img_dir, args.suffixes, args.recursive)
        maps = build_map_format(args.format, args.out_dir, args.method_name,
                                args.dataset_name, args.anomaly_set)
        # check names and the output folder before loading the model
        plan = plan_outputs(images, args.img_dir, maps)
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        score = build_anomaly_score(config_score(cfg, args.score_options))
        # maps made with other settings are never resumed
        manifest = run_manifest(args.config, args.checkpoint,
                                score.settings(), maps.settings(),
                                args.cfg_options,
                                args.allow_partial_checkpoint)
        check_run_manifest(maps.folder, manifest, args.overwrite,
                           bool(existing_outputs(plan)))
    if not args.overwrite and all(
            outputs_complete(img, plan[img], maps) for img in images):
        print(f'all {len(images)} images have complete outputs in '
              f'{args.out_dir}; nothing to do (--overwrite recomputes).')
        return dict(written=[], skipped=list(images))
    with user_errors(PROG):
        inferencer = AnomalyInferencer(
            cfg, args.checkpoint, device=args.device, score=score,
            allow_partial=args.allow_partial_checkpoint)
    if args.allow_partial_checkpoint:
        manifest[CHECKPOINT_FIT_KEY] = inferencer.checkpoint_fit
        warn_partial_checkpoint(args.checkpoint, inferencer.checkpoint_fit,
                                "the folder's manifest", 'maps')
    print(f'{len(images)} images; score: {score!r}')
    with user_errors(PROG):
        result = write_anomaly_maps(
            inferencer, images, args.img_dir, maps, manifest,
            overwrite=args.overwrite, show_progress=not args.no_progress)
    print(f"\nwrote {len(result['written'])}, skipped "
          f"{len(result['skipped'])} complete, in {args.out_dir}")
    return result


if __name__ == '__main__':
    main()
