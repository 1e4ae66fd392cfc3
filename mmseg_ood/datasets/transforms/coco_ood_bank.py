"""Reading the COCO outlier bank: the objects that PasteCocoObjects pastes.

The bank (written once by ``mmseg-ood-coco-bank``, see
:mod:`mmseg_ood.datasets.converters.coco_ood_bank`) holds one union mask per
COCO image without driving-scene classes and an index::

    <coco_root>/annotations/ood_seg_train2017/<image stem>.png   uint8 masks
    <coco_root>/annotations/ood_seg_train2017.json               the index

:func:`load_coco_ood_bank` reads the index into :class:`CocoOodEntry`
records and :func:`read_coco_ood_object` loads one object cut by its tight
box, which is what the pasting transform needs.

Example:
    >>> entries = load_coco_ood_bank(  # doctest: +SKIP
    ...     'data/coco/annotations/ood_seg_train2017.json')
    >>> image, mask = read_coco_ood_object(entries[0])  # doctest: +SKIP
    >>> image.shape[:2] == mask.shape  # doctest: +SKIP
    True
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import cv2
import numpy as np

from ...utils.image_files import ImageFileError, check_image_complete

__all__ = [
    'BANK_FORMAT', 'BANK_VERSION', 'BUILD_COMMAND', 'DEFAULT_SPLIT',
    'CocoOodEntry', 'build_command', 'load_coco_ood_bank',
    'read_coco_ood_object'
]

#: Value of the ``format`` key of a bank index.
BANK_FORMAT = 'mmseg_ood.coco_ood_bank'
#: Value of the ``version`` key of a bank index this package reads.
BANK_VERSION = 1
#: The command that builds a bank.
BUILD_COMMAND = 'mmseg-ood-coco-bank'
#: COCO split of the bank by default.
DEFAULT_SPLIT = 'train2017'
#: Keys every index entry has.
ENTRY_KEYS = ('img', 'mask', 'bbox', 'categories')


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


def build_command(coco_root: Optional[str] = None,
                   split: str = DEFAULT_SPLIT) -> str:
    """The shell command that builds the bank of ``coco_root``."""
    cmd = f'{BUILD_COMMAND} {coco_root or "<coco_root>"}'
    if split != DEFAULT_SPLIT:
        cmd += f' --split {split}'
    return cmd


def _bank_error(index_file: str, problem: str) -> str:
    return (f'COCO outlier bank index {index_file} {problem}. Build the bank '
            f'with: {build_command(*_guess_root_and_split(index_file))}')


def _guess_root_and_split(index_file: str) -> Tuple[Optional[str], str]:
    """COCO root and split of a default-named index path, for messages."""
    folder, name = osp.split(osp.normpath(index_file))
    if (osp.basename(folder) == 'annotations' and name.startswith('ood_seg_')
            and name.endswith('.json')):
        return (osp.dirname(folder) or '.'), name[len('ood_seg_'):-5]
    return None, DEFAULT_SPLIT


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
            f'{build_command()}')
    return os.sep.join(parts[:-len(rel_parts)]) or os.sep


def _check_entry(entry: Any, i: int, index_file: str) -> None:
    if not isinstance(entry, dict) or any(k not in entry
                                          for k in ENTRY_KEYS):
        raise ValueError(
            _bank_error(index_file,
                        f'has a malformed entry {i} (needs keys '
                        f'{list(ENTRY_KEYS)}): {entry!r}'))
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
            f'bank with: {build_command()}')
    try:
        check_image_complete(path)
    except ImageFileError as error:
        raise ImageFileError(
            f'COCO outlier bank {what}: {error} Pasting it would paste a '
            'half-decoded object.') from error
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
                         f'{build_command()}')
    if image.shape[:2] != mask.shape:
        raise ValueError(
            f'COCO outlier bank image {entry.img_path} is '
            f'{image.shape[1]}x{image.shape[0]} but its mask '
            f'{entry.mask_path} is {mask.shape[1]}x{mask.shape[0]}; rebuild '
            f'the bank with: {build_command()}')
    x0, y0, x1, y1 = entry.bbox
    height, width = mask.shape
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(
            f'bbox {entry.bbox} of {entry.mask_path} lies outside the '
            f'{width}x{height} mask; rebuild the bank with: '
            f'{build_command()}')
    return (np.ascontiguousarray(image[y0:y1, x0:x1]),
            mask[y0:y1, x0:x1] != 0)
