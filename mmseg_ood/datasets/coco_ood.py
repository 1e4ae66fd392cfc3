"""The COCO outlier bank: union masks of COCO images used as pasted outliers.

The bank follows the Meta-OoD recipe (METHOD.md, section 4): every COCO image
that shows a class of the inlier driving domain (person, car, ...) is dropped,
as are images smaller than 480 pixels on a side; the outlier mask of each
remaining image is the union of all its instance masks, with value
:data:`~mmseg_ood.utils.constants.OUTLIER_INDEX` inside and 0 elsewhere.

:func:`build_coco_ood_bank` writes the bank once next to the COCO annotations
(``tools/dataset_converters/coco_ood.py`` is its command-line front end)::

    <coco_root>/annotations/ood_seg_train2017/<image stem>.png   uint8 masks
    <coco_root>/annotations/ood_seg_train2017.json               the index

:func:`load_coco_ood_bank` reads the index into :class:`CocoOodEntry` records
and :func:`read_coco_ood_object` loads one object cut by its tight box, which
is what the pasting transform needs.

Example:
    >>> index = build_coco_ood_bank('data/coco')  # doctest: +SKIP
    >>> entries = load_coco_ood_bank(index)  # doctest: +SKIP
    >>> image, mask = read_coco_ood_object(entries[0])  # doctest: +SKIP
    >>> image.shape[:2] == mask.shape  # doctest: +SKIP
    True
"""
import glob
import json
import logging
import os
import os.path as osp
from collections import defaultdict
from dataclasses import dataclass
from multiprocessing import Pool
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_parallel_progress, track_progress
from pycocotools import mask as mask_utils

from mmseg_ood.utils.file_io import PARTIAL_SUFFIX, atomic_output
from mmseg_ood.utils.constants import (COCO_EXCLUDED_CATEGORIES,
                                       COCO_MIN_IMAGE_SIZE, OUTLIER_INDEX)

__all__ = [
    'BANK_FORMAT', 'BANK_VERSION', 'CocoOodEntry', 'build_coco_ood_bank',
    'load_coco_ood_bank', 'read_coco_ood_object'
]

#: Value of the ``format`` key of a bank index.
BANK_FORMAT = 'mmseg_ood.coco_ood_bank'
#: Value of the ``version`` key of a bank index written by this module.
BANK_VERSION = 1

_CONVERTER = 'tools/dataset_converters/coco_ood.py'
_DEFAULT_SPLIT = 'train2017'
# Fixed PNG settings so that the same mask always encodes to the same bytes.
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]
_ENTRY_KEYS = ('img', 'mask', 'bbox', 'categories')


@dataclass(frozen=True)
class CocoOodEntry:
    """One COCO image of the outlier bank.

    Attributes:
        img_path (str): Absolute path of the COCO image.
        mask_path (str): Absolute path of its union mask (uint8 PNG, value
            ``OUTLIER_INDEX`` on objects, 0 elsewhere).
        bbox (tuple[int, int, int, int]): Tight box ``(x0, y0, x1, y1)`` of
            the mask, end-exclusive, in image pixels.
        categories (tuple[str, ...]): Sorted names of the COCO categories
            annotated in the image.
    """
    img_path: str
    mask_path: str
    bbox: Tuple[int, int, int, int]
    categories: Tuple[str, ...]


# --------------------------------------------------------------------------
# Building the bank
# --------------------------------------------------------------------------


def _build_command(coco_root: Optional[str] = None,
                   split: str = _DEFAULT_SPLIT) -> str:
    """The shell command that builds the bank of ``coco_root``."""
    cmd = f'python {_CONVERTER} {coco_root or "<coco_root>"}'
    if split != _DEFAULT_SPLIT:
        cmd += f' --split {split}'
    return cmd


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
        split: str = _DEFAULT_SPLIT,
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

    os.makedirs(out_dir, exist_ok=True)
    # Leftovers of an interrupted run (only names this module writes).
    for stale in glob.glob(
            osp.join(glob.escape(out_dir), '.*.png.*' + PARTIAL_SUFFIX)):
        os.remove(stale)

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


# --------------------------------------------------------------------------
# Reading the bank
# --------------------------------------------------------------------------


def _bank_error(index_file: str, problem: str) -> str:
    return (f'COCO outlier bank index {index_file} {problem}. Build the bank '
            f'with: {_build_command(*_guess_root_and_split(index_file))}')


def _guess_root_and_split(index_file: str) -> Tuple[Optional[str], str]:
    """COCO root and split of a default-named index path, for messages."""
    folder, name = osp.split(osp.normpath(index_file))
    if (osp.basename(folder) == 'annotations' and name.startswith('ood_seg_')
            and name.endswith('.json')):
        return (osp.dirname(folder) or '.'), name[len('ood_seg_'):-5]
    return None, _DEFAULT_SPLIT


def _infer_data_root(index_file: str, mask_dir: str) -> str:
    """COCO root of an index stored at ``<coco_root>/<mask_dir>.json``."""
    rel_parts = mask_dir.replace('\\', '/').split('/')
    if osp.isabs(mask_dir) or '..' in rel_parts:
        raise ValueError(
            _bank_error(
                index_file,
                f'has mask_dir {mask_dir!r} outside the COCO root, so the '
                'root cannot be found from the index location') +
            '\nor pass data_root=<coco_root> to load_coco_ood_bank.')
    parts = osp.abspath(index_file).split(os.sep)
    rel_parts = [p for p in rel_parts if p not in ('', '.')]
    rel_parts[-1] += '.json'
    if parts[-len(rel_parts):] != rel_parts:
        raise ValueError(
            f'COCO outlier bank index {index_file} is not stored at '
            f'<coco_root>/{mask_dir}.json (was it moved or renamed?); pass '
            'data_root=<coco_root> to load_coco_ood_bank or rebuild it with: '
            f'{_build_command()}')
    return os.sep.join(parts[:-len(rel_parts)]) or os.sep


def _check_entry(entry: Any, i: int, index_file: str) -> None:
    if not isinstance(entry, dict) or any(k not in entry
                                          for k in _ENTRY_KEYS):
        raise ValueError(
            _bank_error(index_file,
                        f'has a malformed entry {i} (needs keys '
                        f'{list(_ENTRY_KEYS)}): {entry!r}'))
    bbox = entry['bbox']
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(isinstance(v, int) for v in bbox)
            or not (0 <= bbox[0] < bbox[2] and 0 <= bbox[1] < bbox[3])):
        raise ValueError(
            _bank_error(
                index_file, f'has an invalid bbox {bbox!r} in entry {i} '
                f'({entry["img"]}); expected [x0, y0, x1, y1] with '
                '0 <= x0 < x1 and 0 <= y0 < y1'))


def load_coco_ood_bank(index_file: str,
                       data_root: Optional[str] = None
                       ) -> List[CocoOodEntry]:
    """Read and check the index of a COCO outlier bank.

    Only the index is parsed; of the files it lists, only the first image and
    mask are checked for existence, so a bank of 40k entries loads in about
    a second.

    Args:
        index_file (str): Path of the index written by
            :func:`build_coco_ood_bank`.
        data_root (str, optional): COCO root the index paths are relative
            to. Defaults to the root found from the index location
            (``<coco_root>/<mask_dir>.json``), which is right unless the bank
            was built outside the COCO folder or the index was moved.

    Returns:
        list[CocoOodEntry]: The entries, in index order (sorted by image
        name), with absolute paths.

    Raises:
        FileNotFoundError: The index, or the first image or mask it lists,
            does not exist.
        ValueError: The file is not a valid bank index of this version.

    Example:
        >>> entries = load_coco_ood_bank(  # doctest: +SKIP
        ...     'data/coco/annotations/ood_seg_train2017.json')
        >>> entries[0].bbox  # doctest: +SKIP
        (12, 40, 391, 466)
    """
    if not osp.isfile(index_file):
        raise FileNotFoundError(_bank_error(index_file, 'does not exist'))
    try:
        with open(index_file, encoding='utf-8') as f:
            index = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(_bank_error(index_file,
                                     f'is not valid JSON ({exc})')) from exc
    if not isinstance(index, dict) or index.get('format') != BANK_FORMAT:
        found = index.get('format') if isinstance(index, dict) else None
        raise ValueError(
            _bank_error(
                index_file, f'has format {found!r}, expected '
                f'{BANK_FORMAT!r} (pass the ood_seg_<split>.json file, not '
                'the COCO instances json)'))
    if index.get('version') != BANK_VERSION:
        raise ValueError(
            _bank_error(
                index_file, f'has version {index.get("version")!r}, this '
                f'mmseg_ood reads version {BANK_VERSION}; rebuild it'))
    for key in ('img_dir', 'mask_dir'):
        if not isinstance(index.get(key), str):
            raise ValueError(_bank_error(index_file, f'has no {key!r} key'))
    raw_entries = index.get('entries')
    if not isinstance(raw_entries, list) or not raw_entries:
        raise ValueError(_bank_error(index_file, 'has no entries'))

    if data_root is None:
        data_root = _infer_data_root(index_file, index['mask_dir'])
    data_root = osp.abspath(data_root)
    img_dir = osp.join(data_root, index['img_dir'])
    mask_dir = osp.normpath(osp.join(data_root, index['mask_dir']))

    entries = []
    for i, raw in enumerate(raw_entries):
        _check_entry(raw, i, index_file)
        entries.append(
            CocoOodEntry(
                img_path=osp.join(img_dir, raw['img']),
                mask_path=osp.join(mask_dir, raw['mask']),
                bbox=tuple(raw['bbox']),
                categories=tuple(raw['categories'])))
    for path in (entries[0].img_path, entries[0].mask_path):
        if not osp.isfile(path):
            raise FileNotFoundError(
                _bank_error(index_file,
                            f'lists {path}, which does not exist (is '
                            f'data_root {data_root} right?)'))
    return entries


def _imread(path: str, flags: int, what: str) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'COCO outlier bank {what} {path} does not exist. Rebuild the '
            f'bank with: {_build_command()}')
    array = cv2.imread(path, flags)
    if array is None:
        raise ValueError(f'COCO outlier bank {what} {path} could not be '
                         'decoded by OpenCV; the file is corrupt, replace it.')
    return array


def read_coco_ood_object(
        entry: CocoOodEntry) -> Tuple[np.ndarray, np.ndarray]:
    """Load one bank image and its mask, cut by the tight box of the mask.

    The image is read like ``mmcv.imread(..., 'color_ignore_orientation')``
    (BGR, EXIF orientation ignored) so that it matches the pixel grid of the
    COCO annotations.

    Args:
        entry (CocoOodEntry): An entry of :func:`load_coco_ood_bank`.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(image, mask)``: the uint8 BGR crop
        of shape (h, w, 3) and the bool outlier mask of shape (h, w), with
        ``(h, w) = (y1 - y0, x1 - x0)``.

    Raises:
        FileNotFoundError: The image or the mask is missing.
        ValueError: A file cannot be decoded, or the image and mask sizes or
            the bbox disagree.

    Example:
        >>> image, mask = read_coco_ood_object(entries[0])  # doctest: +SKIP
        >>> image[~mask] = 0  # keep only the object pixels  # doctest: +SKIP
    """
    image = _imread(entry.img_path,
                    cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION, 'image')
    mask = _imread(entry.mask_path, cv2.IMREAD_UNCHANGED, 'mask')
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValueError(f'COCO outlier bank mask {entry.mask_path} has shape '
                         f'{mask.shape} and dtype {mask.dtype}; expected a '
                         'single-channel uint8 PNG. Rebuild the bank with: '
                         f'{_build_command()}')
    if image.shape[:2] != mask.shape:
        raise ValueError(
            f'COCO outlier bank image {entry.img_path} is '
            f'{image.shape[1]}x{image.shape[0]} but its mask '
            f'{entry.mask_path} is {mask.shape[1]}x{mask.shape[0]}; rebuild '
            f'the bank with: {_build_command()}')
    x0, y0, x1, y1 = entry.bbox
    height, width = mask.shape
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(
            f'bbox {entry.bbox} of {entry.mask_path} lies outside the '
            f'{width}x{height} mask; rebuild the bank with: '
            f'{_build_command()}')
    return (np.ascontiguousarray(image[y0:y1, x0:x1]),
            mask[y0:y1, x0:x1] != 0)
