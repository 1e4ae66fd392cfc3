"""The SYNTHETIC demo world: a small fake driving data set in real layouts.

Everything this module writes is procedurally generated, synthetic data. It
is NOT Cityscapes, NOT COCO, NOT Fishyscapes and NOT Road Anomaly; it only
copies their folder layouts, file names and label conventions, so that the
project's datasets, converters, training and evaluation can be run end to
end on a laptop with no download. Results on it say nothing about real
performance.

Example::

    from mmseg_ood.demo import make_demo_world
    paths = make_demo_world('data/demo_world', seed=0)
    paths['fs_laf']  # 'data/demo_world/fishyscapes/LostAndFound'

Layout written under ``root``::

    SYNTHETIC_DATA.txt                    what this is + parameters
    outlier_prior.json                    the outlier appearance prior
    cityscapes/leftImg8bit/{train,val}/<city>/<city>_<seq:06d>_000019_leftImg8bit.png
    cityscapes/gtFine/{train,val}/<city>/<city>_<seq:06d>_000019_gtFine_labelIds.png
    cityscapes/gtFine/{train,val}/<city>/<city>_<seq:06d>_000019_gtFine_labelTrainIds.png
    coco/annotations/instances_train2017.json
    coco/train2017/<image_id:012d>.jpg
    fishyscapes/LostAndFound/{original,labels}/demo_laf_<i:04d>.png
    fishyscapes/Static/{original,labels}/demo_static_<i:04d>.png
    road_anomaly/original/demo_road_anomaly_<i:04d>.jpg
    road_anomaly/labels/demo_road_anomaly_<i:04d>.png

  raw release layouts (inputs of the converters and of AnomalyDataset):

    lost_and_found/leftImg8bit/{train,test}/<scene>/<id>_leftImg8bit.png
    lost_and_found/gtCoarse/{train,test}/<scene>/<id>_gtCoarse_labelIds.png
    fishyscapes_raw/fishyscapes_lostandfound/<i:04d>_<id>_labels.png
    fishyscapes_raw/fs_val_v{1,2,3}/<k:04d>_<city id>_{labels.png,rgb.npz}
    road_anomaly_raw/RoadAnomaly_jpg/frame_list.json
    road_anomaly_raw/RoadAnomaly_jpg/frames/<name>.jpg
    road_anomaly_raw/RoadAnomaly_jpg/frames/<name>.labels/labels_semantic.png
    smiyc/dataset_AnomalyTrack/images/validation<i:04d>.jpg
    smiyc/dataset_AnomalyTrack/labels_masks/validation<i:04d>_labels_semantic.png
    smiyc/dataset_ObstacleTrack/images/validation_<i+1>.webp
    smiyc/dataset_ObstacleTrack/labels_masks/validation_<i+1>_labels_semantic.png

The FS Lost & Found label archive and the raw Road Anomaly release hold the
same frames and labels as the processed sets above (frame ``i`` of
``fishyscapes/LostAndFound`` is label ``<i:04d>_...``; Road Anomaly keeps the
names), so the converters must give the processed sets back. The Static
overlays are drawn onto the first ``num_fs_static_raw`` Cityscapes val frames.

Randomness: every image ``i`` of every part draws from its own
``np.random.default_rng([seed, part, i])``, so equal arguments give
byte-identical files (for the same NumPy and OpenCV versions) and changing
one count does not change the files of the other parts.
"""
import json
import os
import os.path as osp
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np
from mmengine.logging import print_log

from mmseg_ood.utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    CITYSCAPES_CLASSES,
    IGNORE_INDEX,
)
from mmseg_ood.utils.file_io import atomic_output_dir

from .appearance import OUTLIER_APPEARANCE_GAMMA, OUTLIER_APPEARANCE_PRIOR
from .coco import write_coco_set
from .files import write_image
from .raw_layouts import (
    AnomalyImage,
    write_fs_static_overlays,
    write_lost_and_found,
    write_road_anomaly_raw,
    write_smiyc_track,
)
from .scene import TID, add_outliers, finish_image, render_street_scene

__all__ = [
    'GENERATOR_VERSION', 'MARKER_FILE', 'MIN_FRAME_SIZE', 'PRIOR_FILE',
    'TRAIN_CITIES', 'VAL_CITIES', 'demo_world_paths', 'make_demo_world',
    'read_marker_parameters', 'road_anomaly_size'
]

#: Bump when the generator's output changes for the same parameters.
GENERATOR_VERSION = 3
#: Name of the marker file that identifies a demo world.
MARKER_FILE = 'SYNTHETIC_DATA.txt'
#: Name of the outlier prior file (the format BalancedEnergyLoss reads).
PRIOR_FILE = 'outlier_prior.json'
#: Cities of the synthetic Cityscapes-format splits.
TRAIN_CITIES = ('aachen', 'bochum')
VAL_CITIES = ('frankfurt', )
#: Smallest frame size the street renderer supports.
MIN_FRAME_SIZE = (64, 128)
#: Cityscapes' annotated frame number, used in every file name.
_FRAME = 19
#: Scenes drawn per image before giving up on a constraint.
_MAX_ATTEMPTS = 100
# Stream ids of the parts (first entry of each image's seed).
_PART = dict(train=1, val=2, coco=3, fs_laf=4, fs_static=5, road_anomaly=6,
             laf_extra=7, fs_static_raw=8, smiyc_anomaly=9, smiyc_obstacle=10,
             smiyc_test=11)
_PARAMS_PREFIX = 'parameters: '


def _rng(seed: int, part: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _PART[part], index])


def road_anomaly_size(frame_size: Tuple[int, int]) -> Tuple[int, int]:
    """Frame size of the Road Anomaly-format set: 9/8 taller, same width.

    Args:
        frame_size: (height, width) of the street frames.

    Returns:
        tuple: (height, width), e.g. (288, 512) for (256, 512).
    """
    return int(round(frame_size[0] * 9 / 8)), int(frame_size[1])


def demo_world_paths(root: str) -> Dict[str, str]:
    """Paths of the parts of a demo world under ``root``.

    Args:
        root: Folder of the world.

    Returns:
        dict: The processed sets ``root``, ``cityscapes``, ``coco``,
        ``fs_laf``, ``fs_static`` and ``road_anomaly``, and the raw release
        layouts: ``laf`` (Lost & Found root), ``fs_laf_labels`` (extracted
        FS Lost & Found label archive), ``fs_static_v1``, ``fs_static_v2``,
        ``fs_static_v3`` (extracted Static overlay archives),
        ``road_anomaly_raw`` (``RoadAnomaly_jpg``), ``smiyc_anomaly``
        (``dataset_AnomalyTrack``) and ``smiyc_obstacle``
        (``dataset_ObstacleTrack``).
    """
    fs_raw = osp.join(root, 'fishyscapes_raw')
    return dict(
        root=root,
        cityscapes=osp.join(root, 'cityscapes'),
        coco=osp.join(root, 'coco'),
        fs_laf=osp.join(root, 'fishyscapes', 'LostAndFound'),
        fs_static=osp.join(root, 'fishyscapes', 'Static'),
        road_anomaly=osp.join(root, 'road_anomaly'),
        laf=osp.join(root, 'lost_and_found'),
        fs_laf_labels=osp.join(fs_raw, 'fishyscapes_lostandfound'),
        fs_static_v1=osp.join(fs_raw, 'fs_val_v1'),
        fs_static_v2=osp.join(fs_raw, 'fs_val_v2'),
        fs_static_v3=osp.join(fs_raw, 'fs_val_v3'),
        road_anomaly_raw=osp.join(root, 'road_anomaly_raw',
                                  'RoadAnomaly_jpg'),
        smiyc_anomaly=osp.join(root, 'smiyc', 'dataset_AnomalyTrack'),
        smiyc_obstacle=osp.join(root, 'smiyc', 'dataset_ObstacleTrack'))


# ----------------------------------------------------------------------------
# parts
# ----------------------------------------------------------------------------
def _coverage_groups(count: int) -> List[Tuple[int, ...]]:
    """Split the 19 train IDs over the first frames (at most 4 groups)."""
    n = min(count, 4)
    k = len(CITYSCAPES_CLASSES)
    return [tuple(c for c in range(k) if c % n == g) for g in range(n)]


def _write_cityscapes_split(
        root: str, split: str, cities: Sequence[str], count: int, seed: int,
        size: Tuple[int, int]
) -> Tuple[Set[int], List[Tuple[str, np.ndarray, np.ndarray]]]:
    """Write one Cityscapes-format split.

    Returns:
        tuple: The train IDs present and, per frame, ``(stem, uint8 RGB
        image, train IDs)``.
    """
    groups = _coverage_groups(count) if split == 'train' else []
    present: Set[int] = set()
    frames = []
    for i in range(count):
        city = cities[i % len(cities)]
        stem = f'{city}_{i // len(cities):06d}_{_FRAME:06d}'
        img_dir = osp.join(root, 'leftImg8bit', split, city)
        gt_dir = osp.join(root, 'gtFine', split, city)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(gt_dir, exist_ok=True)
        rng = _rng(seed, split, i)
        must = set(groups[i]) if i < len(groups) else set()
        for _ in range(_MAX_ATTEMPTS):
            scene = render_street_scene(rng, size, must)
            train_ids = scene.train_ids
            found = set(np.unique(train_ids).tolist())
            if must <= found:
                break
        else:
            missing = sorted(CITYSCAPES_CLASSES[c] for c in must - found)
            raise RuntimeError(
                f'the demo street renderer could not show {missing} in '
                f'{split} frame {i} of size {size}; use a larger frame_size')
        present |= found
        image = finish_image(rng, scene.image)
        write_image(osp.join(img_dir, f'{stem}_leftImg8bit.png'), image)
        write_image(osp.join(gt_dir, f'{stem}_gtFine_labelIds.png'),
                    scene.label_ids)
        write_image(osp.join(gt_dir, f'{stem}_gtFine_labelTrainIds.png'),
                    train_ids)
        frames.append((stem, image, train_ids))
    present.discard(IGNORE_INDEX)
    return present, frames


# name prefix, image extension, placement, object height range (camera
# heights; only for 'road'), probability of the ego-vehicle bonnet, label
# kind ('road': only the road is evaluated, 'void': Cityscapes void stays
# void, 'binary': 0/1 only)
_EVAL_SETS = {
    'fs_laf': ('demo_laf', '.png', 'road', (0.15, 0.7), 0.0, 'road'),
    'fs_static': ('demo_static', '.png', 'anywhere', (0.0, 0.0), 0.3,
                  'void'),
    'road_anomaly': ('demo_road_anomaly', '.jpg', 'road', (0.35, 1.4), 0.0,
                     'binary'),
    # raw-layout fixtures only (no processed copy)
    'laf_extra': (None, None, 'road', (0.15, 0.7), 0.0, 'road'),
    'smiyc_obstacle': (None, None, 'road', (0.15, 0.7), 0.0, 'road'),
    'smiyc_anomaly': (None, None, 'road', (0.35, 1.4), 0.3, 'void'),
    'smiyc_test': (None, None, 'road', (0.35, 1.4), 0.0, 'binary'),
}


def _eval_label(kind: str, train_ids: np.ndarray,
                anomaly: np.ndarray) -> np.ndarray:
    """Label map of an anomaly set from the scene and the pasted objects."""
    if kind == 'road':  # only the road is evaluated, the rest is void
        label = np.full(train_ids.shape, IGNORE_INDEX, np.uint8)
        label[train_ids == TID['road']] = ANOMALY_EVAL_INLIER
    elif kind == 'void':  # Cityscapes void stays void
        label = np.full(train_ids.shape, ANOMALY_EVAL_INLIER, np.uint8)
        label[train_ids == IGNORE_INDEX] = IGNORE_INDEX
    else:  # Road Anomaly: 0/1 only
        label = np.full(train_ids.shape, ANOMALY_EVAL_INLIER, np.uint8)
    label[anomaly] = ANOMALY_EVAL_ANOMALY
    return label


def _draw_anomaly_image(rng: np.random.Generator, part: str,
                        size: Tuple[int, int]) -> Tuple[AnomalyImage, list]:
    """Draw one anomaly-set frame; returns it and the objects' looks."""
    _, _, placement, heights, ego, kind = _EVAL_SETS[part]
    for _ in range(_MAX_ATTEMPTS):
        scene = render_street_scene(rng, size, ego_prob=ego)
        anomaly, looks = add_outliers(rng, scene, int(rng.integers(1, 5)),
                                      placement, heights)
        label = _eval_label(kind, scene.train_ids, anomaly)
        if ((label == ANOMALY_EVAL_ANOMALY).any()
                and (label == ANOMALY_EVAL_INLIER).any()):
            break
    else:
        raise RuntimeError(f'could not draw a {part} image with both '
                           'anomaly and inlier pixels')
    image = finish_image(rng, scene.image)
    return AnomalyImage(image, label, scene.train_ids, anomaly), looks


def _draw_many(part: str, count: int, seed: int,
               size: Tuple[int, int]) -> Tuple[List[AnomalyImage], list]:
    items, looks_all = [], []
    for i in range(count):
        item, looks = _draw_anomaly_image(_rng(seed, part, i), part, size)
        items.append(item)
        looks_all += looks
    return items, looks_all


def _write_anomaly_set(folder: str, part: str, count: int, seed: int,
                       size: Tuple[int, int]
                       ) -> Tuple[List[int], List[AnomalyImage]]:
    """Write ``original/`` and ``labels/`` of one anomaly set.

    Returns:
        tuple: Appearance train ID of every pasted object, and the frames.
    """
    prefix, ext = _EVAL_SETS[part][:2]
    os.makedirs(osp.join(folder, 'original'))
    os.makedirs(osp.join(folder, 'labels'))
    items, looks_all = _draw_many(part, count, seed, size)
    for i, item in enumerate(items):
        name = f'{prefix}_{i:04d}'
        write_image(osp.join(folder, 'original', name + ext), item.image)
        write_image(osp.join(folder, 'labels', name + '.png'), item.label)
    return looks_all, items


# ----------------------------------------------------------------------------
# marker
# ----------------------------------------------------------------------------
def _marker_text(params: dict, stats: dict) -> str:
    hist = Counter(stats['looks'])
    total = max(1, sum(hist.values()))
    looks = ', '.join(f'{CITYSCAPES_CLASSES[c]} {n} ({100 * n / total:.0f}%)'
                      for c, n in hist.most_common())
    coco = stats['coco']
    return '\n'.join([
        '#' * 78,
        '#  SYNTHETIC DEMO DATA -- NOT REAL DATA',
        '#  Made by mmseg_ood (mmseg_ood.demo.world).',
        '#  NOT Cityscapes, COCO, Fishyscapes, Road Anomaly, Lost & Found',
        '#  or SegmentMeIfYouCan:',
        '#  every image and label below was drawn by a random procedural',
        '#  generator that only copies those data sets\' folder layouts and',
        '#  label conventions. Use it to test the pipeline; numbers measured',
        '#  on it mean nothing for real driving scenes.',
        '#' * 78,
        '',
        f'generator: mmseg_ood.demo.world, version {GENERATOR_VERSION}',
        _PARAMS_PREFIX + json.dumps(params, sort_keys=True),
        '',
        'contents:',
        f'  cityscapes/  {params["num_train"]} train + {params["num_val"]} '
        f'val frames, {params["frame_size"][0]}x{params["frame_size"][1]} '
        '(HxW), gtFine labelIds + labelTrainIds',
        f'  coco/        {coco["images"]} images ({coco["small"]} smaller '
        f'than 480 px, {coco["with_excluded"]} with an excluded category), '
        f'{coco["annotations"]} annotations ({coco["crowd"]} iscrowd=1)',
        f'  fishyscapes/LostAndFound/  {params["num_fs_laf"]} images, labels '
        '0 road / 1 anomaly / 255 off-road void',
        f'  fishyscapes/Static/        {params["num_fs_static"]} images, '
        'labels 0 inlier / 1 anomaly / 255 void',
        f'  road_anomaly/              {params["num_road_anomaly"]} images '
        f'({stats["ra_size"][0]}x{stats["ra_size"][1]}, jpg), labels 0 / 1',
        '',
        'raw release layouts (inputs of the converters):',
        f'  lost_and_found/            {params["num_fs_laf"]} FS frames + '
        f'{params["num_laf_extra"]} test frames, leftImg8bit + gtCoarse '
        'label ids',
        '  fishyscapes_raw/fishyscapes_lostandfound/  the FS Lost & Found '
        'labels (NNNN_<id>_labels.png)',
        f'  fishyscapes_raw/fs_val_v{{1,2,3}}/  {params["num_fs_static_raw"]}'
        ' Static overlays (_labels.png + _rgb.npz) on cityscapes val',
        '  road_anomaly_raw/RoadAnomaly_jpg/  frames/*.jpg + '
        '*.labels/labels_semantic.png (0 background, 1 road, 2 anomaly)',
        f'  smiyc/dataset_AnomalyTrack/   {params["num_smiyc_anomaly"]} '
        'validation frames + 1 unlabelled',
        f'  smiyc/dataset_ObstacleTrack/  {params["num_smiyc_obstacle"]} '
        'validation frames + 1 unlabelled',
        '',
        'Outlier objects (COCO-format set and anomaly sets) borrow the look',
        'of an inlier class drawn from the paper prior sharpened by gamma = '
        f'{OUTLIER_APPEARANCE_GAMMA:g};',
        'objects per class:',
        '  ' + looks,
        '',
        'Regenerate: mmseg-ood-demo-world --out <folder> '
        f'--seed {params["seed"]} --force',
        '',
    ])


def read_marker_parameters(root: str) -> Optional[dict]:
    """Parameters recorded in a demo world's marker file.

    Args:
        root: Folder that may hold a demo world.

    Returns:
        dict | None: The parameters, or None if there is no marker or it
        cannot be parsed.
    """
    path = osp.join(root, MARKER_FILE)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith(_PARAMS_PREFIX):
                try:
                    return json.loads(line[len(_PARAMS_PREFIX):])
                except json.JSONDecodeError:
                    return None
    return None


# ----------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------
def _check_args(seed: int, counts: Dict[str, int],
                frame_size: Iterable[int]) -> Tuple[int, int]:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    for name, value in counts.items():
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(
                f'{name} must be a non-negative integer, got {value!r}')
    if counts['num_train'] < 1:
        raise ValueError('num_train must be at least 1: the train split has '
                         'to show all 19 classes')
    if counts['num_fs_static_raw'] > counts['num_val']:
        raise ValueError(
            f'num_fs_static_raw ({counts["num_fs_static_raw"]}) must not '
            f'exceed num_val ({counts["num_val"]}): the FS Static overlays '
            'are drawn onto Cityscapes val frames')
    size = tuple(int(v) for v in frame_size)
    if (len(size) != 2 or size[0] < MIN_FRAME_SIZE[0]
            or size[1] < MIN_FRAME_SIZE[1]):
        raise ValueError(f'frame_size must be (height, width) of at least '
                         f'{MIN_FRAME_SIZE}, got {tuple(frame_size)!r}')
    return size


def _write_outlier_prior(path: str) -> None:
    """Write the outlier appearance distribution in the loss's prior format.

    This is an oracle prior: the distribution the generator draws outlier
    looks from. A real run estimates the prior with a trained model.
    """
    record = dict(
        prior=[float(p) for p in OUTLIER_APPEARANCE_PRIOR],
        classes=list(CITYSCAPES_CLASSES),
        source='SYNTHETIC demo world: the distribution of the inlier class '
        'that outlier objects are drawn to look like (an oracle prior)')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(record, f, indent=1)


def _generate(tmp: str, params: dict) -> None:
    """Write every part of the world into the (empty) folder ``tmp``."""
    seed = params['seed']
    size = tuple(params['frame_size'])
    paths = demo_world_paths(tmp)
    present, _ = _write_cityscapes_split(paths['cityscapes'], 'train',
                                         TRAIN_CITIES, params['num_train'],
                                         seed, size)
    missing = set(range(len(CITYSCAPES_CLASSES))) - present
    if missing:  # guaranteed by the coverage groups; checked all the same
        raise RuntimeError('demo train split lacks classes '
                           f'{sorted(CITYSCAPES_CLASSES[c] for c in missing)}')
    _, val_frames = _write_cityscapes_split(paths['cityscapes'], 'val',
                                            VAL_CITIES, params['num_val'],
                                            seed, size)
    coco_counts, looks = write_coco_set(
        paths['coco'], params['num_coco'],
        lambda i: _rng(seed, 'coco', i))
    ra_size = road_anomaly_size(size)
    items = {}
    for part, n, part_size in (('fs_laf', params['num_fs_laf'], size),
                               ('fs_static', params['num_fs_static'], size),
                               ('road_anomaly', params['num_road_anomaly'],
                                ra_size)):
        part_looks, items[part] = _write_anomaly_set(paths[part], part, n,
                                                     seed, part_size)
        looks += part_looks
    _write_raw_layouts(paths, params, items, val_frames)
    _write_outlier_prior(osp.join(tmp, PRIOR_FILE))
    stats = dict(coco=coco_counts, looks=looks, ra_size=ra_size)
    with open(osp.join(tmp, MARKER_FILE), 'w', encoding='utf-8') as f:
        f.write(_marker_text(params, stats))


def _write_raw_layouts(paths: Dict[str, str], params: dict,
                       items: Dict[str, List[AnomalyImage]],
                       val_frames: list) -> None:
    """Write the raw release layouts (see :mod:`.raw_layouts`)."""
    seed = params['seed']
    size = tuple(params['frame_size'])
    extra, _ = _draw_many('laf_extra', params['num_laf_extra'], seed, size)
    write_lost_and_found(paths['laf'], paths['fs_laf_labels'],
                         items['fs_laf'], extra)
    static_frames = val_frames[:params['num_fs_static_raw']]
    os.makedirs(osp.dirname(paths['fs_static_v1']), exist_ok=True)
    for version in ('v1', 'v2', 'v3'):  # present even with no frame
        os.makedirs(paths[f'fs_static_{version}'], exist_ok=True)
    write_fs_static_overlays(
        osp.dirname(paths['fs_static_v1']), static_frames,
        lambda k: _rng(seed, 'fs_static_raw', k))
    ra_names = [f'{_EVAL_SETS["road_anomaly"][0]}_{i:04d}'
                for i in range(params['num_road_anomaly'])]
    write_road_anomaly_raw(paths['road_anomaly_raw'], ra_names,
                           items['road_anomaly'], TID['road'])
    for key, part, n, test_index in (
            ('smiyc_anomaly', 'smiyc_anomaly', params['num_smiyc_anomaly'],
             0),
            ('smiyc_obstacle', 'smiyc_obstacle',
             params['num_smiyc_obstacle'], 1)):
        valid, _ = _draw_many(part, n, seed, size)
        test_item, _ = _draw_anomaly_image(
            _rng(seed, 'smiyc_test', test_index), 'smiyc_test', size)
        write_smiyc_track(paths[key], part.split('_')[1], valid, [test_item])


def _require_demo_world(root: str) -> None:
    """Raise unless ``root`` holds a demo world (its marker file)."""
    if not osp.isfile(osp.join(root, MARKER_FILE)):
        raise FileExistsError(
            f'{root} does not look like a demo world (no {MARKER_FILE} in '
            'it); refusing to delete it.')


def make_demo_world(root: str,
                    seed: int = 0,
                    num_train: int = 64,
                    num_val: int = 8,
                    num_coco: int = 48,
                    num_fs_laf: int = 12,
                    num_fs_static: int = 8,
                    num_road_anomaly: int = 8,
                    num_laf_extra: int = 3,
                    num_fs_static_raw: int = 2,
                    num_smiyc_anomaly: int = 2,
                    num_smiyc_obstacle: int = 2,
                    frame_size: Tuple[int, int] = (256, 512),
                    overwrite: bool = False) -> Dict[str, str]:
    """Write a small SYNTHETIC street world in the real on-disk formats.

    The world is generated into a hidden sibling folder and renamed into
    place at the end, so an interrupted run never leaves half a world. Same
    arguments give byte-identical files.

    Args:
        root: Output folder. If it already holds a demo world made with the
            same parameters, nothing is done.
        seed: Non-negative seed of everything.
        num_train: Cityscapes-format train frames (all 19 classes appear).
        num_val: Cityscapes-format val frames.
        num_coco: COCO-format images of auxiliary outliers.
        num_fs_laf: Fishyscapes Lost & Found-format images.
        num_fs_static: Fishyscapes Static-format images.
        num_road_anomaly: Road Anomaly-format images (also written in the
            raw release layout).
        num_laf_extra: Lost & Found test frames besides the FS Lost & Found
            ones (they cycle through: a scene testNoKnown excludes, a frame
            without labels, an ordinary frame).
        num_fs_static_raw: Cityscapes val frames that get FS Static
            overlays (v1, v2, v3); at most ``num_val``.
        num_smiyc_anomaly: SegmentMeIfYouCan AnomalyTrack validation frames
            (one unlabelled test frame is added).
        num_smiyc_obstacle: SegmentMeIfYouCan ObstacleTrack validation
            frames (one unlabelled test frame is added).
        frame_size: (height, width) of the street frames; the Road Anomaly
            set is 9/8 as tall.
        overwrite: Replace an existing demo world made with other
            parameters (or regenerate one with the same). A folder without
            the marker file is never replaced.

    Returns:
        dict: Paths of the world, see :func:`demo_world_paths`: the
        processed sets ``root``, ``cityscapes``, ``coco``, ``fs_laf``,
        ``fs_static``, ``road_anomaly`` and the raw release layouts ``laf``,
        ``fs_laf_labels``, ``fs_static_v1``/``v2``/``v3``,
        ``road_anomaly_raw``, ``smiyc_anomaly``, ``smiyc_obstacle``.

    Raises:
        ValueError: On an invalid argument.
        FileExistsError: If ``root`` exists and is not a demo world, or is
            one made with other parameters and ``overwrite`` is False.
    """
    counts = dict(
        num_train=num_train,
        num_val=num_val,
        num_coco=num_coco,
        num_fs_laf=num_fs_laf,
        num_fs_static=num_fs_static,
        num_road_anomaly=num_road_anomaly,
        num_laf_extra=num_laf_extra,
        num_fs_static_raw=num_fs_static_raw,
        num_smiyc_anomaly=num_smiyc_anomaly,
        num_smiyc_obstacle=num_smiyc_obstacle)
    size = _check_args(seed, counts, frame_size)
    params = dict(
        generator_version=GENERATOR_VERSION,
        seed=int(seed),
        frame_size=list(size),
        **{k: int(v)
           for k, v in counts.items()})
    root = osp.normpath(root)
    replace = False
    if osp.lexists(root):
        if not osp.isdir(root) or osp.islink(root):
            raise FileExistsError(
                f'{root} exists and is not a folder; choose another output '
                'folder for the demo world.')
        if osp.isfile(osp.join(root, MARKER_FILE)):
            existing = read_marker_parameters(root)
            if existing == params and not overwrite:
                print_log(f'Demo world {root} already exists with the same '
                          'parameters; nothing to do.', logger='current')
                return demo_world_paths(root)
            existing = existing or {}
            chosen = {
                k for k, v in params.items()
                if k != 'generator_version' and existing.get(k) != v
            }
            if not chosen and not overwrite:
                # made by another version of this generator, same request:
                # nothing but generated files to replace
                print_log(
                    f'Demo world {root} was made by generator version '
                    f"{existing.get('generator_version')}; regenerating it "
                    f'with version {GENERATOR_VERSION}.', logger='current')
                overwrite = True
            if not overwrite:
                diff = ', '.join(
                    f'{k}: {existing.get(k)!r} there, {v!r} asked'
                    for k, v in params.items() if existing.get(k) != v)
                raise FileExistsError(
                    f'{root} holds a demo world made with other parameters '
                    f'({diff}). Pass overwrite=True (--force on the command '
                    'line) to replace it, or choose another folder.')
            replace = True
        elif os.listdir(root):
            raise FileExistsError(
                f'{root} exists and does not look like a demo world (no '
                f'{MARKER_FILE} in it); refusing to write into or delete it. '
                'Choose another output folder (e.g. --out data/demo_world).')
        else:
            replace = True  # an empty folder

    # the checks above decided that ``root`` may be replaced
    with atomic_output_dir(root, overwrite=replace,
                           may_replace=_require_demo_world) as tmp:
        _generate(tmp, params)
    print_log(f'Wrote the SYNTHETIC demo world (seed {seed}) to {root}.',
              logger='current')
    return demo_world_paths(root)
