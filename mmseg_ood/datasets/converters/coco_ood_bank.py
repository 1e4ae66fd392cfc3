"""Building the COCO outlier bank: union masks of COCO images as outliers.

The bank follows the Meta-OoD recipe (Chan et al., ICCV 2021, as PEBAL and
Balanced Energy use it): every COCO image that shows a class of the inlier
driving domain (person, car, ...) is dropped, as are images smaller than 480
pixels on a side; the outlier mask of each remaining image is the union of
all its instance masks, with value
:data:`~mmseg_ood.utils.constants.OUTLIER_INDEX` inside and 0 elsewhere.

:func:`build_coco_ood_bank` writes the bank once next to the COCO
annotations (``mmseg-ood-coco-bank`` is its command-line front end)::

    <coco_root>/annotations/ood_seg_train2017/<image stem>.png   uint8 masks
    <coco_root>/annotations/ood_seg_train2017.json               the index

:mod:`mmseg_ood.datasets.transforms.coco_ood_bank` reads it.

Example:
    >>> index = build_coco_ood_bank('data/coco')  # doctest: +SKIP
"""
import json
import logging
import os
import os.path as osp
from collections import defaultdict
from multiprocessing import Pool
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_parallel_progress, track_progress
from pycocotools import mask as mask_utils

from mmseg_ood.utils.constants import (
    COCO_EXCLUDED_CATEGORIES,
    COCO_MIN_IMAGE_SIZE,
    OUTLIER_INDEX,
)
from mmseg_ood.utils.file_io import atomic_output, remove_stale_partials
from mmseg_ood.utils.image_files import ImageFileError, check_image_complete

from ..transforms.coco_ood_bank import (
    BANK_FORMAT,
    BANK_VERSION,
    DEFAULT_SPLIT,
)

__all__ = ['build_coco_ood_bank']

# Fixed PNG settings so that the same mask always encodes to the same bytes.
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]


def _expected_layout(coco_root: str, split: str) -> str:
    ann_file = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    images = osp.join(coco_root, split, '*.jpg')
    return f'expected a COCO 2017 layout:\n  {ann_file}\n  {images}'


def _annotation_rle(segmentation: Any, height: int, width: int,
                    context: str) -> Optional[dict]:
    """Turn one COCO ``segmentation`` field into a single RLE.

    Polygons, uncompressed RLE (crowd, ``counts`` a list) and compressed RLE
    (``counts`` a string) are accepted, like ``pycocotools.COCO.annToRLE``.
    Polygons with fewer than three points have no area and are skipped.

    Returns:
        dict | None: The RLE, or None when the annotation has no shape.
    """
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if len(p) >= 6]
        if not polygons:
            return None
        return mask_utils.merge(
            mask_utils.frPyObjects(polygons, height, width))
    if isinstance(segmentation, dict) and 'counts' in segmentation:
        if list(segmentation.get('size', ())) != [height, width]:
            raise ValueError(
                f'{context}: RLE size {segmentation.get("size")} does not '
                f'match the image size [{height}, {width}] of the json.')
        if isinstance(segmentation['counts'], list):
            return mask_utils.frPyObjects(segmentation, height, width)
        return segmentation
    raise ValueError(f'{context}: unsupported segmentation of type '
                     f'{type(segmentation).__name__}; expected polygons or '
                     'an RLE dict.')


def _union_mask(file_name: str, height: int, width: int,
                segmentations: Sequence[Tuple[int, Any]]) -> np.ndarray:
    """Boolean union of the instance masks of one image, shape (H, W)."""
    rles = []
    for ann_id, segmentation in segmentations:
        rle = _annotation_rle(segmentation, height, width,
                              f'annotation {ann_id} of {file_name}')
        if rle is not None:
            rles.append(rle)
    if not rles:
        return np.zeros((height, width), dtype=bool)
    return mask_utils.decode(mask_utils.merge(rles, intersect=0)).astype(bool)


def _tight_bbox(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """End-exclusive ``(x0, y0, x1, y1)`` box of the True pixels of a mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _build_one_mask(task: tuple) -> Optional[Tuple[Tuple[int, ...], bool]]:
    """Compute the union mask of one image and write it unless unchanged.

    Args:
        task (tuple): ``(file_name, height, width, segmentations,
            mask_path)`` where ``segmentations`` holds ``(ann_id,
            segmentation)`` pairs.

    Returns:
        tuple | None: ``(bbox, written)`` or None when the union is empty.
    """
    file_name, height, width, segmentations, mask_path = task
    union = _union_mask(file_name, height, width, segmentations)
    if not union.any():
        return None
    mask = union.astype(np.uint8) * np.uint8(OUTLIER_INDEX)
    ok, encoded = cv2.imencode('.png', mask, _PNG_PARAMS)
    if not ok:
        raise RuntimeError(f'cv2 could not encode the mask of {file_name}.')
    data = encoded.tobytes()
    # A mask at its final name is complete (files are moved there whole);
    # reuse it when it holds exactly these bytes.
    if osp.isfile(mask_path):
        with open(mask_path, 'rb') as f:
            if f.read() == data:
                return _tight_bbox(union), False
    with atomic_output(mask_path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
    return _tight_bbox(union), True


def _run_tasks(tasks: List[tuple], nproc: int,
               show_progress: bool) -> List[Any]:
    if not tasks:
        return []
    chunksize = max(1, min(16, len(tasks) // (nproc * 4)))
    if nproc == 1:
        if show_progress:
            return track_progress(_build_one_mask, tasks)
        return [_build_one_mask(task) for task in tasks]
    if show_progress:
        return track_parallel_progress(
            _build_one_mask, tasks, nproc, chunksize=chunksize)
    with Pool(nproc) as pool:
        return pool.map(_build_one_mask, tasks, chunksize=chunksize)


def _load_coco_json(ann_file: str) -> Dict[str, Any]:
    try:
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{ann_file} is not valid JSON ({exc}); re-download '
                         'the COCO annotations.') from exc
    missing = [k for k in ('images', 'annotations', 'categories')
               if not isinstance(coco, dict) or k not in coco]
    if missing:
        raise ValueError(f'{ann_file} is not a COCO instances file: it has no '
                         f'{missing} key(s). Use annotations/instances_<split>'
                         '.json, not captions or keypoints.')
    return coco


def _dump_index(index: Dict[str, Any]) -> bytes:
    """JSON text of an index: header keys indented, one line per entry."""
    header = {k: v for k, v in index.items() if k != 'entries'}
    lines = ['{']
    for key, value in header.items():
        lines.append(f'  {json.dumps(key)}: {json.dumps(value)},')
    lines.append('  "entries": [')
    entries = [json.dumps(e) for e in index['entries']]
    lines.append(',\n'.join('    ' + e for e in entries))
    lines.append('  ]')
    lines.append('}')
    return ('\n'.join(lines) + '\n').encode('utf-8')


def build_coco_ood_bank(
        coco_root: str,
        split: str = DEFAULT_SPLIT,
        out_dir: Optional[str] = None,
        min_size: int = COCO_MIN_IMAGE_SIZE,
        excluded_categories: Sequence[str] = COCO_EXCLUDED_CATEGORIES,
        nproc: int = 1,
        show_progress: bool = True) -> str:
    """Build the COCO outlier bank: one union mask per kept image + an index.

    Selection (Meta-OoD recipe), in this order of precedence for the drop
    reason: an image with any annotation (crowd included) of a category in
    ``excluded_categories`` is dropped as ``excluded_category``; then one with
    height or width below ``min_size`` as ``too_small``; then one without
    annotations or with an empty union mask as ``no_objects``.

    Re-running is cheap and safe: mask files that already hold the same bytes
    are left untouched, every file is written under a temporary name and
    moved into place, and the index is written last. Leftover temporary files
    of an interrupted run are removed.

    Args:
        coco_root (str): Folder with ``annotations/instances_<split>.json``
            and ``<split>/*.jpg``.
        split (str): COCO split name. Defaults to ``'train2017'``.
        out_dir (str, optional): Folder of the masks; the index is written to
            ``out_dir + '.json'``. Defaults to
            ``<coco_root>/annotations/ood_seg_<split>``. Paths in the index
            are relative to ``coco_root``.
        min_size (int): Minimum image height and width. Defaults to
            ``COCO_MIN_IMAGE_SIZE`` (480).
        excluded_categories (Sequence[str]): COCO category names whose images
            are dropped, looked up by name; names absent from the json are
            reported in the log. Defaults to ``COCO_EXCLUDED_CATEGORIES``.
        nproc (int): Worker processes. Defaults to 1.
        show_progress (bool): Show a progress bar. Defaults to True.

    Returns:
        str: Path of the index json.

    Raises:
        FileNotFoundError: The COCO layout is incomplete, or an image the
            bank needs is missing on disk.
        ValueError: Bad arguments, a malformed annotation file, or no image
            left after selection.
        TypeError: ``excluded_categories`` is a single string.

    Example:
        >>> build_coco_ood_bank('data/coco', nproc=4)  # doctest: +SKIP
        'data/coco/annotations/ood_seg_train2017.json'
    """
    if not isinstance(min_size, int) or min_size < 1:
        raise ValueError(f'min_size must be a positive int, got {min_size!r}.')
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f'nproc must be a positive int, got {nproc!r}.')
    if isinstance(excluded_categories, str):
        raise TypeError('excluded_categories must be a sequence of names, '
                        f'got the string {excluded_categories!r}.')

    ann_file = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    img_dir = osp.join(coco_root, split)
    for path, what in ((ann_file, 'annotation file'), (img_dir,
                                                       'image folder')):
        exists = osp.isfile if what == 'annotation file' else osp.isdir
        if not exists(path):
            raise FileNotFoundError(
                f'COCO {what} {path} not found; '
                f'{_expected_layout(coco_root, split)}')

    if out_dir is None:
        out_dir = osp.join(coco_root, 'annotations', f'ood_seg_{split}')
    out_dir = osp.normpath(out_dir)
    index_file = out_dir + '.json'
    try:
        mask_dir_rel = osp.relpath(out_dir, coco_root)
    except ValueError as exc:  # another drive on Windows
        raise ValueError(f'out_dir {out_dir} must be on the same drive as '
                         f'coco_root {coco_root}.') from exc

    coco = _load_coco_json(ann_file)
    cat_names = {c['id']: c['name'] for c in coco['categories']}
    name_to_id = {name: cid for cid, name in cat_names.items()}
    absent = [n for n in excluded_categories if n not in name_to_id]
    if absent:
        print_log(
            f'COCO outlier bank: excluded categories {absent} do not occur in '
            f'{ann_file}; no image is dropped for them.',
            logger='current',
            level=logging.WARNING)
    excluded_ids = {name_to_id[n] for n in excluded_categories
                    if n in name_to_id}

    anns_by_image = defaultdict(list)
    for ann in coco['annotations']:
        if ann['category_id'] not in cat_names:
            raise ValueError(
                f'{ann_file}: annotation {ann.get("id")} has category_id '
                f'{ann["category_id"]}, which is not in its categories list.')
        anns_by_image[ann['image_id']].append(ann)

    dropped = {'excluded_category': 0, 'too_small': 0, 'no_objects': 0}
    candidates = []
    for img in sorted(coco['images'], key=lambda im: im['file_name']):
        anns = anns_by_image.get(img['id'], [])
        if any(a['category_id'] in excluded_ids for a in anns):
            dropped['excluded_category'] += 1
        elif img['height'] < min_size or img['width'] < min_size:
            dropped['too_small'] += 1
        elif not anns:
            dropped['no_objects'] += 1
        else:
            candidates.append((img, anns))

    missing = [img['file_name'] for img, _ in candidates
               if not osp.isfile(osp.join(img_dir, img['file_name']))]
    if missing:
        shown = ', '.join(missing[:5]) + (', ...' if len(missing) > 5 else '')
        raise FileNotFoundError(
            f'{len(missing)} image(s) listed in {ann_file} are missing from '
            f'{img_dir}: {shown}. Re-download or re-extract {split}.zip; '
            f'{_expected_layout(coco_root, split)}')

    broken = []
    for img, _ in candidates:
        try:
            check_image_complete(osp.join(img_dir, img['file_name']))
        except ImageFileError:
            broken.append(img['file_name'])
    if broken:
        shown = ', '.join(broken[:5]) + (', ...' if len(broken) > 5 else '')
        raise ImageFileError(
            f'{len(broken)} image(s) in {img_dir} are truncated (no end '
            f'marker): {shown}; pasting them would paste half-decoded '
            f'objects. Re-download or re-extract {split}.zip.')

    os.makedirs(out_dir, exist_ok=True)
    # Leftovers of an interrupted run (only names this module writes).
    remove_stale_partials(out_dir)

    tasks = []
    for img, anns in candidates:
        mask_name = osp.splitext(img['file_name'])[0] + '.png'
        tasks.append((img['file_name'], img['height'], img['width'],
                      [(a.get('id'), a['segmentation']) for a in anns],
                      osp.join(out_dir, mask_name)))
    print_log(
        f'COCO outlier bank: computing {len(tasks)} union masks from '
        f'{ann_file} into {out_dir}',
        logger='current')
    results = _run_tasks(tasks, nproc, show_progress)

    entries = []
    num_written = 0
    for (img, anns), task, result in zip(candidates, tasks, results):
        if result is None:
            dropped['no_objects'] += 1
            continue
        bbox, written = result
        num_written += int(written)
        entries.append({
            'img': img['file_name'],
            'mask': osp.basename(task[-1]),
            'bbox': list(bbox),
            'height': img['height'],
            'width': img['width'],
            'categories': sorted({cat_names[a['category_id']]
                                  for a in anns}),
        })
    if not entries:
        raise ValueError(
            f'No image of {ann_file} is left for the outlier bank '
            f'(dropped: {dropped}); check split, min_size and '
            'excluded_categories.')

    index = {
        'format': BANK_FORMAT,
        'version': BANK_VERSION,
        'split': split,
        'img_dir': split,
        'mask_dir': mask_dir_rel.replace(os.sep, '/'),
        'outlier_index': OUTLIER_INDEX,
        'min_size': min_size,
        'excluded_categories': list(excluded_categories),
        'num_images_total': len(coco['images']),
        'num_dropped': dropped,
        'entries': entries,
    }
    with atomic_output(index_file) as tmp:
        with open(tmp, 'wb') as f:
            f.write(_dump_index(index))
    print_log(
        f'COCO outlier bank ({split}): kept {len(entries)} of '
        f'{len(coco["images"])} images; dropped '
        f'{dropped["excluded_category"]} with an excluded category, '
        f'{dropped["too_small"]} smaller than {min_size} px, '
        f'{dropped["no_objects"]} without objects. Masks written: '
        f'{num_written}, reused: {len(entries) - num_written}. '
        f'Index: {index_file}',
        logger='current')
    return index_file
