"""A SYNTHETIC COCO-format instance set for the demo world (not COCO).

Images are random textured backgrounds with one to three made-up objects
each. Objects carry the names of COCO categories, but their shapes are random
outlines and their textures borrow an inlier class's appearance
(:func:`~mmseg_ood.demo.appearance.novel_texture`), so the category name says
nothing about the look. Some images are smaller than the converter's minimum
size and some contain an instance of an excluded (driving-scene) category, so
the outlier-bank converter has something to filter.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from mmseg_ood.utils.constants import (
    CITYSCAPES_CLASSES,
    COCO_EXCLUDED_CATEGORIES,
)

from .appearance import (
    novel_texture,
    outlier_polygons,
    sample_appearance_class,
    smooth_noise,
)
from .files import write_image

__all__ = [
    'COCO_CATEGORIES', 'CROWD_FRACTION', 'EXCLUDED_FRACTION', 'LARGE_SIZES',
    'OBJECT_HEIGHT', 'SMALL_FRACTION', 'SMALL_SIZES', 'uncompressed_rle',
    'write_coco_set'
]

#: The 80 standard COCO categories: (id, name, supercategory).
COCO_CATEGORIES: Tuple[Tuple[int, str, str], ...] = (
    (1, 'person', 'person'), (2, 'bicycle', 'vehicle'),
    (3, 'car', 'vehicle'), (4, 'motorcycle', 'vehicle'),
    (5, 'airplane', 'vehicle'), (6, 'bus', 'vehicle'),
    (7, 'train', 'vehicle'), (8, 'truck', 'vehicle'), (9, 'boat', 'vehicle'),
    (10, 'traffic light', 'outdoor'), (11, 'fire hydrant', 'outdoor'),
    (13, 'stop sign', 'outdoor'), (14, 'parking meter', 'outdoor'),
    (15, 'bench', 'outdoor'), (16, 'bird', 'animal'), (17, 'cat', 'animal'),
    (18, 'dog', 'animal'), (19, 'horse', 'animal'), (20, 'sheep', 'animal'),
    (21, 'cow', 'animal'), (22, 'elephant', 'animal'), (23, 'bear', 'animal'),
    (24, 'zebra', 'animal'), (25, 'giraffe', 'animal'),
    (27, 'backpack', 'accessory'), (28, 'umbrella', 'accessory'),
    (31, 'handbag', 'accessory'), (32, 'tie', 'accessory'),
    (33, 'suitcase', 'accessory'), (34, 'frisbee', 'sports'),
    (35, 'skis', 'sports'), (36, 'snowboard', 'sports'),
    (37, 'sports ball', 'sports'), (38, 'kite', 'sports'),
    (39, 'baseball bat', 'sports'), (40, 'baseball glove', 'sports'),
    (41, 'skateboard', 'sports'), (42, 'surfboard', 'sports'),
    (43, 'tennis racket', 'sports'), (44, 'bottle', 'kitchen'),
    (46, 'wine glass', 'kitchen'), (47, 'cup', 'kitchen'),
    (48, 'fork', 'kitchen'), (49, 'knife', 'kitchen'),
    (50, 'spoon', 'kitchen'), (51, 'bowl', 'kitchen'),
    (52, 'banana', 'food'), (53, 'apple', 'food'), (54, 'sandwich', 'food'),
    (55, 'orange', 'food'), (56, 'broccoli', 'food'), (57, 'carrot', 'food'),
    (58, 'hot dog', 'food'), (59, 'pizza', 'food'), (60, 'donut', 'food'),
    (61, 'cake', 'food'), (62, 'chair', 'furniture'),
    (63, 'couch', 'furniture'), (64, 'potted plant', 'furniture'),
    (65, 'bed', 'furniture'), (67, 'dining table', 'furniture'),
    (70, 'toilet', 'furniture'), (72, 'tv', 'electronic'),
    (73, 'laptop', 'electronic'), (74, 'mouse', 'electronic'),
    (75, 'remote', 'electronic'), (76, 'keyboard', 'electronic'),
    (77, 'cell phone', 'electronic'), (78, 'microwave', 'appliance'),
    (79, 'oven', 'appliance'), (80, 'toaster', 'appliance'),
    (81, 'sink', 'appliance'), (82, 'refrigerator', 'appliance'),
    (84, 'book', 'indoor'), (85, 'clock', 'indoor'), (86, 'vase', 'indoor'),
    (87, 'scissors', 'indoor'), (88, 'teddy bear', 'indoor'),
    (89, 'hair drier', 'indoor'), (90, 'toothbrush', 'indoor'))

#: Image sizes (height, width): the usual ones and ones below 480 pixels.
LARGE_SIZES = ((480, 640), (512, 512), (640, 480), (500, 640))
SMALL_SIZES = ((240, 320), (320, 240), (360, 480), (427, 320))

#: Height range of an object, as a fraction of its image's height.
OBJECT_HEIGHT = (0.04, 0.15)

#: Fractions of images that are small / hold an excluded category / hold an
#: extra ``iscrowd=1`` instance (at least one each when there are 3+ images).
SMALL_FRACTION = 0.15
EXCLUDED_FRACTION = 0.2
CROWD_FRACTION = 0.1


def uncompressed_rle(mask: np.ndarray) -> Dict[str, list]:
    """COCO uncompressed RLE of a binary mask (column-major runs).

    Args:
        mask: Boolean (H, W) mask.

    Returns:
        dict: ``{'counts': [...], 'size': [H, W]}``; the first run counts
        zeros, as COCO requires.
    """
    flat = np.asarray(mask, bool).flatten(order='F')
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {'counts': [int(r) for r in runs], 'size': list(mask.shape)}


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Random smooth colour field with a faint stripe or check pattern."""
    img = np.concatenate(
        [smooth_noise(rng, h, w, rng.uniform(30, 120)) for _ in range(3)], 2)
    img = img * np.float32(rng.uniform(15, 40)) + rng.uniform(
        50, 200, 3).astype(np.float32)
    period = rng.uniform(8, 40)
    yy = np.arange(h, dtype=np.float32)[:, None] / period
    xx = np.arange(w, dtype=np.float32)[None] / period
    if rng.random() < 0.5:
        pattern = (np.floor(xx + yy * rng.uniform(-1, 1)) % 2)[..., None]
    else:
        pattern = ((np.floor(xx) + np.floor(yy)) % 2)[..., None]
    img += pattern * rng.uniform(-15, 15, 3).astype(np.float32)
    return img + rng.standard_normal((h, w, 1), dtype=np.float32) * 3


def _pick_indices(rng: np.random.Generator, n: int, fraction: float) -> set:
    """A random subset of about ``fraction * n`` of range(n), >= 1 if n>=3."""
    k = int(round(fraction * n))
    if n >= 3:
        k = max(k, 1)
    return set(int(i) for i in rng.choice(n, size=min(k, n), replace=False))


def _paint(rng, img, mask, appearance):
    """Paint a novel texture over the bounding box of ``mask``."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    tex = novel_texture(rng, int(y1 - y0), int(x1 - x0), appearance)
    sub = mask[y0:y1, x0:x1]
    img[y0:y1, x0:x1][sub] = tex[sub]


def _polygon_instance(rng: np.random.Generator, h: int, w: int,
                      centre: Tuple[float, float]
                      ) -> Tuple[List[List[float]], dict]:
    """Random polygons of one object near ``centre``, and their RLE.

    Objects are sized for the demo frames (256x512, a quarter of
    Cityscapes): OBJECT_HEIGHT of the image height, so that a pasted object
    has about the size a real COCO object has in a real Cityscapes frame.
    """
    for _ in range(20):
        oh = rng.uniform(*OBJECT_HEIGHT) * h
        ow = min(0.9 * w, oh * rng.uniform(0.5, 1.6))
        x0 = np.clip(centre[0] * w + rng.normal(0, 0.05 * w) - ow / 2, 0,
                     w - ow)
        y0 = np.clip(centre[1] * h + rng.normal(0, 0.05 * h) - oh / 2, 0,
                     h - oh)
        segm = []
        for poly in outlier_polygons(rng, oh, ow):
            pts = np.round(poly + [x0, y0], 2)
            pts = np.clip(pts, 0, [w, h])
            segm.append([float(v) for v in pts.reshape(-1)])
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, h, w))
        if mask_utils.area(rle) >= 16:
            return segm, rle
    raise RuntimeError('could not draw a non-empty synthetic COCO object')


def _crowd_instance(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A crowd region: several small blobs clustered together."""
    mask = np.zeros((h, w), np.uint8)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    spread = 0.05 * min(h, w)
    for _ in range(int(rng.integers(4, 9))):
        centre = (int(cx + rng.normal(0, spread)), int(cy + rng.normal(
            0, spread)))
        axes = (int(rng.uniform(0.02, 0.06) * w) + 2,
                int(rng.uniform(0.02, 0.06) * h) + 2)
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1,
                    -1)
    return mask.astype(bool)


def write_coco_set(
    coco_root: str, count: int,
    rng_for: Callable[[int], np.random.Generator]
) -> Tuple[Dict[str, int], List[int]]:
    """Write ``train2017/*.jpg`` and ``annotations/instances_train2017.json``.

    Args:
        coco_root: Folder to write into (created).
        count: Number of images.
        rng_for: Callable ``index -> np.random.Generator``; index 0 plans the
            set, index ``i + 1`` draws image ``i``.

    Returns:
        tuple: Counts (``images``, ``small``, ``with_excluded``,
        ``annotations``, ``crowd``) and the appearance train ID of every
        object.
    """
    img_dir = osp.join(coco_root, 'train2017')
    ann_dir = osp.join(coco_root, 'annotations')
    os.makedirs(img_dir)
    os.makedirs(ann_dir)
    plan = rng_for(0)
    small = _pick_indices(plan, count, SMALL_FRACTION)
    excluded = _pick_indices(plan, count, EXCLUDED_FRACTION)
    crowd = _pick_indices(plan, count, CROWD_FRACTION)
    image_ids = np.cumsum(plan.integers(1, 60, count)) + 8
    by_name = {name: (cid, sup) for cid, name, sup in COCO_CATEGORIES}
    kept = [cid for cid, name, _ in COCO_CATEGORIES
            if name not in COCO_EXCLUDED_CATEGORIES]
    dropped = [by_name[name][0] for name in COCO_EXCLUDED_CATEGORIES]

    images, annotations, looks = [], [], []
    for i in range(count):
        rng = rng_for(i + 1)
        sizes = SMALL_SIZES if i in small else LARGE_SIZES
        h, w = sizes[int(rng.integers(len(sizes)))]
        image_id = int(image_ids[i])
        img = _background(rng, h, w)
        cats = [int(c) for c in rng.choice(kept, int(rng.integers(1, 4)))]
        if i in excluded:
            cats.insert(int(rng.integers(len(cats) + 1)),
                        int(rng.choice(dropped)))
        instances = [(c, 0) for c in cats]
        centre = (rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7))
        if i in crowd:
            instances.append((int(rng.choice(kept)), 1))
        for cat, iscrowd in instances:
            look = sample_appearance_class(rng)
            if iscrowd:
                mask = _crowd_instance(rng, h, w)
                segm = uncompressed_rle(mask)
                rle = mask_utils.frPyObjects(segm, h, w)
            else:
                segm, rle = _polygon_instance(rng, h, w, centre)
                mask = mask_utils.decode(rle).astype(bool)
            _paint(rng, img, mask, look)
            annotations.append({
                'id': len(annotations) + 1,
                'image_id': image_id,
                'category_id': cat,
                'segmentation': segm,
                'area': float(mask_utils.area(rle)),
                'bbox': [round(float(v), 2) for v in mask_utils.toBbox(rle)],
                'iscrowd': iscrowd,
                # extra key (ignored by COCO tools): the class it looks like
                'appearance': CITYSCAPES_CLASSES[look],
            })
            looks.append(look)
        file_name = f'{image_id:012d}.jpg'
        write_image(osp.join(img_dir, file_name), img)
        images.append({
            'id': image_id,
            'file_name': file_name,
            'height': h,
            'width': w,
            'license': 1,
        })
    dataset = {
        'info': {
            'description': 'SYNTHETIC demo data generated by mmseg_ood '
            '(mmseg_ood.demo); NOT the COCO data set. Objects are random '
            'shapes named after COCO categories.',
            'version': '1',
            'contributor': 'mmseg_ood demo world generator',
            'url': '',
        },
        'licenses': [{
            'id': 1,
            'name': 'Synthetic data, public domain (CC0-1.0)',
            'url': 'https://creativecommons.org/publicdomain/zero/1.0/',
        }],
        'images': images,
        'annotations': annotations,
        'categories': [{
            'id': cid,
            'name': name,
            'supercategory': sup
        } for cid, name, sup in COCO_CATEGORIES],
    }
    with open(osp.join(ann_dir, 'instances_train2017.json'), 'w',
              encoding='utf-8') as f:
        json.dump(dataset, f, separators=(',', ':'))
    counts = dict(
        images=count,
        small=len(small),
        with_excluded=len(excluded),
        annotations=len(annotations),
        crowd=len(crowd))
    return counts, looks

