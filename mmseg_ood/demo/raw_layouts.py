"""SYNTHETIC fixtures in the RAW release layouts of the anomaly sets.

Called by :mod:`mmseg_ood.demo.world`. Everything written here is drawn by
the demo generator; only the folder layouts, file names and label
conventions copy the public releases, so the converters and
:class:`~mmseg_ood.datasets.AnomalyDataset` can be run end to end:

- Lost & Found (``leftImg8bit`` + ``gtCoarse`` label ids) and the
  Fishyscapes Lost & Found label archive (``NNNN_<id>_labels.png``);
- Fishyscapes Static overlays ``fs_val_v{1,2,3}`` (``_labels.png`` +
  ``_rgb.npz`` added to the Cityscapes val frames);
- Road Anomaly (``frames/<name>.jpg``, ``<name>.labels/labels_semantic.png``
  with 0 background, 1 road, 2 anomaly);
- SegmentMeIfYouCan AnomalyTrack and ObstacleTrack validation frames.

The FS Lost & Found and Road Anomaly fixtures hold the same frames and
labels as the processed demo sets, so converting them must give those sets
back.
"""
import io
import json
import os
import os.path as osp
import zipfile
from dataclasses import dataclass
from typing import Callable, List, Sequence, Tuple

import cv2
import numpy as np

from mmseg_ood.utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    IGNORE_INDEX,
)

from ..datasets.set_specs import get_set_spec
from .appearance import class_texture, make_outlier_object
from .files import write_image

__all__ = [
    'LAF_EXTRA_SCENES', 'LAF_FS_SCENES', 'STATIC_VERSIONS', 'AnomalyImage',
    'laf_label_ids', 'write_fs_static_overlays', 'write_lost_and_found',
    'write_npz', 'write_road_anomaly_raw', 'write_smiyc_track'
]

#: Lost & Found scenes of the demo frames (real scene-name pattern).
LAF_FS_SCENES = ('04_Maurener_Weg_8', '13_Elly_Beinhorn_Str')
#: Scenes of the extra Lost & Found test frames, by role.
LAF_EXTRA_SCENES = dict(
    normal='05_Schafgasse_1',
    unlabelled='02_Hanns_Klemm_Str_44',
    # a scene and a sequence that testNoKnown leaves out
    known=get_set_spec('laf_noknown').exclude[0],
    known_seq=get_set_spec('laf_noknown').exclude[1].rsplit('_', 1)[0])
#: Fishyscapes Static versions written by the demo world.
STATIC_VERSIONS = ('v1', 'v2', 'v3')
#: WebP quality above 100 selects OpenCV's lossless mode.
_WEBP_LOSSLESS = [cv2.IMWRITE_WEBP_QUALITY, 101]


@dataclass
class AnomalyImage:
    """One drawn frame of an anomaly set.

    Attributes:
        image: uint8 RGB frame.
        label: uint8 label, 0 inlier / 1 anomaly / 255 void.
        train_ids: uint8 Cityscapes train-ID map of the scene.
        anomaly: bool mask of the pasted objects.
    """
    image: np.ndarray
    label: np.ndarray
    train_ids: np.ndarray
    anomaly: np.ndarray


def write_npz(path: str, **arrays: np.ndarray) -> None:
    """Write a ``.npz`` with fixed zip timestamps (byte-identical reruns)."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for key, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(array),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(key + '.npy', date_time=(1980, 1, 1, 0, 0,
                                                            0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def laf_label_ids(label: np.ndarray, obstacle_id: int) -> np.ndarray:
    """Lost & Found label ids of an FS-style label (255/0/1 -> 0/1/id)."""
    ids = np.zeros(label.shape, np.uint8)
    ids[label == ANOMALY_EVAL_INLIER] = 1
    ids[label == ANOMALY_EVAL_ANOMALY] = obstacle_id
    return ids


def _laf_frame(root: str, split: str, scene: str, laf_id: str,
               item: AnomalyImage, label_ids: np.ndarray) -> None:
    img_dir = osp.join(root, 'leftImg8bit', split, scene)
    gt_dir = osp.join(root, 'gtCoarse', split, scene)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(gt_dir, exist_ok=True)
    write_image(osp.join(img_dir, f'{laf_id}_leftImg8bit.png'), item.image)
    write_image(osp.join(gt_dir, f'{laf_id}_gtCoarse_labelIds.png'),
                label_ids)


def write_lost_and_found(laf_root: str, fs_labels_dir: str,
                         fs_items: Sequence[AnomalyImage],
                         extra_items: Sequence[AnomalyImage]) -> List[str]:
    """Write the Lost & Found tree and the FS Lost & Found label archive.

    The FS frames alternate between the test and the train split (frame
    ``i`` of the processed set is ``NNNN = i``). The extra frames are test
    frames that cycle through three roles: a frame of a scene or sequence
    that testNoKnown excludes (:data:`LAF_EXTRA_SCENES`), a frame without
    any label (all 0) and an ordinary frame.

    Args:
        laf_root: Lost & Found root (``leftImg8bit/``, ``gtCoarse/``).
        fs_labels_dir: Folder of the extracted FS label archive.
        fs_items: The frames of the processed FS Lost & Found demo set.
        extra_items: Additional Lost & Found test frames.

    Returns:
        list[str]: Lost & Found ids of the FS frames, in order.
    """
    os.makedirs(fs_labels_dir, exist_ok=True)
    fs_ids = []
    for i, item in enumerate(fs_items):
        scene = LAF_FS_SCENES[i % len(LAF_FS_SCENES)]
        laf_id = f'{scene}_{i:06d}_{10 * (i + 1):06d}'
        split = 'test' if i % 2 == 0 else 'train'
        _laf_frame(laf_root, split, scene, laf_id, item,
                   laf_label_ids(item.label, 2 + (37 * i) % 199))
        write_image(osp.join(fs_labels_dir, f'{i:04d}_{laf_id}_labels.png'),
                    item.label)
        fs_ids.append(laf_id)
    for j, item in enumerate(extra_items):
        role = ('known', 'unlabelled', 'normal')[j % 3]
        ids = laf_label_ids(item.label, 2 + (53 * j) % 199)
        seq = j
        if role == 'known' and (j // 3) % 2 == 1:
            scene, seq = LAF_EXTRA_SCENES['known_seq'], 6
        else:
            scene = LAF_EXTRA_SCENES[role]
        if role == 'unlabelled':
            ids[:] = 0
        _laf_frame(laf_root, 'test', scene,
                   f'{scene}_{seq:06d}_{10 * (j + 1):06d}', item, ids)
    return fs_ids


def _static_scene(rng: np.random.Generator, base: np.ndarray
                  ) -> Tuple[list, list]:
    """Draw the pasted objects of one Static frame (shared by versions)."""
    h, w = base.shape[:2]

    def box(lo, hi):
        oh = max(4, int(round(rng.uniform(lo, hi) * h)))
        ow = max(4, int(round(oh * rng.uniform(0.6, 1.6))))
        return (int(rng.integers(0, max(1, w - ow))),
                int(rng.integers(0, max(1, h - oh))), oh, ow)

    objects = []
    for _ in range(int(rng.integers(1, 3))):
        x0, y0, oh, ow = box(0.15, 0.35)
        mask, rgb, _ = make_outlier_object(rng, oh, ow)
        objects.append((x0, y0, mask, rgb))
    # v3's "Cityscapes objects as negative test": an inlier-class patch
    x0, y0, oh, ow = box(0.1, 0.2)
    yy, xx = np.mgrid[0:oh, 0:ow]
    ellipse = (((yy + 0.5) / oh - 0.5)**2 + ((xx + 0.5) / ow - 0.5)**2) < 0.2
    negative = (x0, y0, ellipse,
                class_texture(int(rng.integers(11, 19)), rng, oh, ow))
    return objects, [negative]


def _blend(canvas: np.ndarray, x0: int, y0: int, mask: np.ndarray,
           rgb: np.ndarray, feather: bool) -> np.ndarray:
    """Blend a patch into a float canvas; returns the full-frame mask."""
    h, w = canvas.shape[:2]
    oh, ow = mask.shape
    alpha = mask.astype(np.float32)
    if feather:
        alpha = cv2.GaussianBlur(alpha, (5, 5), 1.0)
        alpha = np.maximum(alpha, mask)
    full = np.zeros((h, w), bool)
    ys, xs = slice(y0, min(y0 + oh, h)), slice(x0, min(x0 + ow, w))
    a = alpha[:ys.stop - y0, :xs.stop - x0, None]
    canvas[ys, xs] = a * rgb[:ys.stop - y0, :xs.stop - x0] + (
        1 - a) * canvas[ys, xs]
    full[ys, xs] = mask[:ys.stop - y0, :xs.stop - x0]
    return full


def write_fs_static_overlays(out_root: str, frames: Sequence[Tuple[str,
                                                                   np.ndarray,
                                                                   np.ndarray]],
                             rng_of: Callable[[int], np.random.Generator]
                             ) -> None:
    """Write ``fs_val_v1``, ``fs_val_v2`` and ``fs_val_v3`` overlay folders.

    v1 pastes the objects hard, v2 feathers their edges, v3 also pastes an
    inlier-class patch labelled inlier (a "negative test"). Labels: 1 on
    the objects, 255 where the Cityscapes frame is void, 0 elsewhere.

    Args:
        out_root: Folder that receives ``fs_val_v{1,2,3}/``.
        frames: ``(Cityscapes id, uint8 RGB frame, train IDs)`` per frame.
        rng_of: Random generator of frame ``k``.
    """
    for k, (cs_id, base, train_ids) in enumerate(frames):
        objects, negatives = _static_scene(rng_of(k), base)
        for version in STATIC_VERSIONS:
            folder = osp.join(out_root, f'fs_val_{version}')
            os.makedirs(folder, exist_ok=True)
            canvas = base.astype(np.float32)
            label = np.full(base.shape[:2], ANOMALY_EVAL_INLIER, np.uint8)
            label[train_ids == IGNORE_INDEX] = IGNORE_INDEX
            if version == 'v3':
                for x0, y0, mask, rgb in negatives:
                    full = _blend(canvas, x0, y0, mask, rgb, True)
                    label[full] = ANOMALY_EVAL_INLIER
            for x0, y0, mask, rgb in objects:
                full = _blend(canvas, x0, y0, mask, rgb, version != 'v1')
                label[full] = ANOMALY_EVAL_ANOMALY
            image = np.clip(np.round(canvas), 0, 255).astype(np.int16)
            overlay = image - base.astype(np.int16)
            stem = osp.join(folder, f'{k:04d}_{cs_id}')
            write_image(stem + '_labels.png', label)
            write_npz(stem + '_rgb.npz', rgb=overlay)


def write_road_anomaly_raw(root: str, names: Sequence[str],
                           items: Sequence[AnomalyImage],
                           road_id: int) -> None:
    """Write the raw Road Anomaly release layout.

    Args:
        root: The ``RoadAnomaly_jpg`` folder.
        names: Frame names (no extension).
        items: The frames of the processed Road Anomaly demo set.
        road_id: Train ID of the road class.
    """
    frames_dir = osp.join(root, 'frames')
    os.makedirs(frames_dir)
    for name, item in zip(names, items):
        raw = np.zeros(item.label.shape, np.uint8)
        raw[item.train_ids == road_id] = 1
        raw[item.label == ANOMALY_EVAL_ANOMALY] = 2
        write_image(osp.join(frames_dir, name + '.jpg'), item.image)
        os.makedirs(osp.join(frames_dir, name + '.labels'))
        write_image(
            osp.join(frames_dir, name + '.labels', 'labels_semantic.png'),
            raw)
    with open(osp.join(root, 'frame_list.json'), 'w', encoding='utf-8') as f:
        json.dump([n + '.jpg' for n in names], f, indent=1)


def write_smiyc_track(root: str, track: str,
                      items: Sequence[AnomalyImage],
                      test_items: Sequence[AnomalyImage]) -> None:
    """Write SegmentMeIfYouCan validation frames (+ unlabelled test frames).

    Args:
        root: ``dataset_AnomalyTrack`` or ``dataset_ObstacleTrack`` folder.
        track: ``'anomaly'`` (``validationNNNN.jpg``) or ``'obstacle'``
            (``validation_N.webp``, N from 1).
        items: Validation frames with labels.
        test_items: Frames without labels (like the hidden test frames).
    """
    img_dir, ann_dir = osp.join(root, 'images'), osp.join(root, 'labels_masks')
    os.makedirs(img_dir)
    os.makedirs(ann_dir)

    def write_frame(path, image):
        if path.endswith('.webp'):
            data = np.ascontiguousarray(image[..., ::-1])
            if not cv2.imwrite(path, data, _WEBP_LOSSLESS):
                raise OSError(f'OpenCV could not write {path}')
        else:
            write_image(path, image)

    for i, item in enumerate(items):
        if track == 'anomaly':
            name, ext = f'validation{i:04d}', '.jpg'
        else:
            name, ext = f'validation_{i + 1}', '.webp'
        write_frame(osp.join(img_dir, name + ext), item.image)
        write_image(osp.join(ann_dir, name + '_labels_semantic.png'),
                    item.label)
    ext = '.jpg' if track == 'anomaly' else '.webp'
    for i, item in enumerate(test_items):
        write_frame(osp.join(img_dir, f'demo_test{i:04d}{ext}'), item.image)
