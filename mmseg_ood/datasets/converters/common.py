"""Shared helpers of the anomaly-set converters.

Every converter writes the processed layout that
:class:`~mmseg_ood.datasets.AnomalyDataset` reads::

    <out>/original/<name><ext>     the frame (copied or composited)
    <out>/labels/<name>.png        uint8: 0 inlier, 1 anomaly, 255 void
    <out>/DATASET.json             what was converted, from where, how

The output is written into a hidden sibling folder and renamed into place at
the end, so an interrupted run never leaves half a data set behind; the
hidden folder of a killed run (``kill -9``) is removed by the next run. A
non-empty output folder is refused unless ``overwrite`` is set, and even then
only a folder that an mmseg_ood converter wrote (its ``DATASET.json`` says
so) and that holds nothing else (no file the user added) is replaced.

Every frame is decoded completely before it is copied (a truncated frame is
an error naming the file), and a failed write names the file.
"""
import hashlib
import json
import logging
import os
import os.path as osp
import re
import shutil
import zipfile
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from PIL import Image

from mmseg_ood.utils import file_io
from mmseg_ood.utils.image_files import ImageFileError, check_image_decodes

__all__ = [
    'DATASET_RECORD', 'RECORD_FORMAT',
    'DatasetLayoutError', 'LabelValueError', 'ArchiveSource', 'layout_error',
    'atomic_output_dir', 'read_label', 'read_rgb', 'image_size',
    'write_label', 'write_rgb', 'copy_file', 'warn_partial',
    'read_dataset_record', 'write_dataset_record', 'progress', 'md5_of',
    'converter_files'
]

#: File name of the record every converter writes next to its output.
DATASET_RECORD = 'DATASET.json'
#: Value of the ``format`` key of that record.
RECORD_FORMAT = 'mmseg_ood.anomaly_set'
# Fixed PNG settings: equal arrays always encode to equal bytes.
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 3]


class DatasetLayoutError(FileNotFoundError):
    """A source folder or archive does not have the expected layout.

    The message names what is wrong and shows the expected tree.
    """


class LabelValueError(ValueError):
    """A label map holds values the converter does not know how to map."""


def layout_error(problem: str, expected_tree: str) -> DatasetLayoutError:
    """Build a :class:`DatasetLayoutError` with the expected tree appended.

    Args:
        problem: What is wrong, naming the path.
        expected_tree: The layout the converter expects.

    Returns:
        DatasetLayoutError: The exception to raise.
    """
    return DatasetLayoutError(f'{problem}\nExpected layout:\n{expected_tree}')


# ----------------------------------------------------------------------------
# sources
# ----------------------------------------------------------------------------
class ArchiveSource:
    """Files of a small release, from its folder or directly from its .zip.

    Files are addressed by base name, wherever they sit in the folder tree
    (an archive may or may not have a top-level folder). Only names that
    match ``pattern`` are kept; two files with the same base name are an
    error.

    Args:
        path: Extracted folder or ``.zip`` file.
        pattern: Regular expression the base names must match.
        expected_tree: Layout shown in error messages.

    Raises:
        DatasetLayoutError: If ``path`` does not exist, holds no matching
            file, or holds a base name twice.
    """

    def __init__(self, path: str, pattern: str, expected_tree: str) -> None:
        self.path = path
        self.is_zip = osp.isfile(path) and zipfile.is_zipfile(path)
        regex = re.compile(pattern)
        members: Dict[str, str] = {}
        if self.is_zip:
            with zipfile.ZipFile(path) as zf:
                entries = [n for n in zf.namelist() if not n.endswith('/')]
            candidates = [(n.rsplit('/', 1)[-1], n) for n in entries]
        elif osp.isdir(path):
            candidates = []
            for dirpath, _, files in os.walk(path):
                candidates += [(f, osp.join(dirpath, f)) for f in files]
        else:
            raise layout_error(
                f'{path!r} is neither a folder nor a .zip archive.',
                expected_tree)
        for base, member in sorted(candidates):
            if not regex.match(base):
                continue
            if base in members:
                raise layout_error(
                    f'{base!r} appears twice in {path!r} ({members[base]!r} '
                    f'and {member!r}); keep one copy.', expected_tree)
            members[base] = member
        if not members:
            raise layout_error(f'No file in {path!r} matches the expected '
                               'names.', expected_tree)
        self.members = members

    def names(self) -> List[str]:
        """Sorted base names of the matching files."""
        return sorted(self.members)

    def read_bytes(self, name: str) -> bytes:
        """Bytes of the file with base name ``name``."""
        member = self.members[name]
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf:
                return zf.read(member)
        with open(member, 'rb') as f:
            return f.read()

    def describe(self, name: str) -> str:
        """Human-readable location of a file, for messages."""
        if self.is_zip:
            return f'{self.path}:{self.members[name]}'
        return self.members[name]


def md5_of(path: str) -> str:
    """MD5 hex digest of a file (read in chunks)."""
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------
def _decode_label(data: np.ndarray, where: str) -> np.ndarray:
    if data.ndim != 2:
        raise LabelValueError(
            f'{where} is not a single-channel label map (shape '
            f'{data.shape}); pass the label-id / mask file, not a colour '
            'visualisation.')
    if data.dtype.kind not in 'ui':
        raise LabelValueError(
            f'{where} has non-integer pixels ({data.dtype}).')
    return data


def read_label(path_or_file, where: Optional[str] = None) -> np.ndarray:
    """Read a single-channel label PNG as stored (palette indices kept).

    Args:
        path_or_file: Path or binary file object.
        where: Name used in error messages (default: the path).

    Returns:
        np.ndarray: (H, W) integer label map.

    Raises:
        LabelValueError: If the image has several channels.
    """
    where = where or str(path_or_file)
    data = _decode(path_or_file, where, lambda img: np.array(img))
    return _decode_label(data, where)


def _decode(path_or_file, where: str, convert):
    """``convert(PIL image)``; a file that does not decode completely is an
    :class:`ImageFileError` naming ``where``."""
    from PIL import ImageFile
    truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path_or_file) as img:
            return convert(img)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageFileError(
            f'{where} does not decode ({error}); the file is truncated or '
            'corrupt (an interrupted download or extraction?). Replace it '
            'with a good copy of the release.') from error
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok


def read_rgb(path_or_file, where: Optional[str] = None) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 RGB; a truncated or corrupt file
    is an :class:`ImageFileError` naming it."""
    return _decode(path_or_file, where or str(path_or_file),
                   lambda img: np.array(img.convert('RGB')))


def image_size(path: str) -> tuple:
    """(height, width) of an image file, from its header only."""
    with Image.open(path) as img:
        width, height = img.size
    return height, width


def warn_partial(count: int, spec) -> None:
    """Warn when a converted set has another size than the benchmark's.

    Args:
        count (int): Frames converted.
        spec (AnomalySetSpec): The set.
    """
    if count != spec.num_images:
        print_log(
            f'{spec.name}: {count} images found; the official release has '
            f'{spec.num_images}. Results on a partial set are not '
            'comparable to published numbers.',
            logger='current',
            level=logging.WARNING)


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------
def _write_encoded(path: str, data: np.ndarray, params: list) -> None:
    """Encode an image for the suffix of ``path`` and write it; a failed
    write is an :class:`~mmseg_ood.utils.file_io.OutputWriteError` naming
    ``path``."""
    ok, encoded = cv2.imencode(osp.splitext(path)[1] or '.png', data, params)
    if not ok:
        raise ValueError(f'OpenCV could not encode {path}.')
    with file_io.writing(path), open(path, 'wb') as f:
        f.write(encoded.tobytes())


def write_label(path: str, label: np.ndarray) -> None:
    """Write a uint8 label map as PNG (fixed encoder settings)."""
    label = np.asarray(label)
    if label.dtype != np.uint8:
        raise LabelValueError(
            f'{path}: label maps are written as uint8, got {label.dtype}; '
            'map the values first (LabelMapping.apply).')
    _write_encoded(path, np.ascontiguousarray(label), _PNG_PARAMS)


def write_rgb(path: str, image: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB image; the format follows the suffix."""
    data = np.ascontiguousarray(np.asarray(image, np.uint8)[..., ::-1])
    params = _PNG_PARAMS if path.lower().endswith('.png') else []
    _write_encoded(path, data, params)


def copy_file(src: str, dst: str) -> None:
    """Copy an image file's bytes (no re-encoding), after checking that it
    decodes completely.

    Raises:
        ImageFileError: ``src`` is truncated or corrupt.
        OutputWriteError: ``dst`` could not be written (disk full, ...).
    """
    check_image_decodes(src)
    with file_io.writing(dst):
        shutil.copyfile(src, dst)


def progress(items: Sequence, show: bool) -> Iterator:
    """Iterate over ``items`` with an MMEngine progress bar if ``show``."""
    bar = ProgressBar(len(items)) if show and len(items) else None
    for item in items:
        yield item
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.file.write('\n')


def read_dataset_record(folder: str) -> Optional[dict]:
    """The ``DATASET.json`` record of a converted set, or None.

    Args:
        folder: Data root of a processed set.

    Returns:
        dict | None: The record, or None if the folder has none.

    Raises:
        ValueError: If the record exists but is not valid JSON.
    """
    path = osp.join(folder, DATASET_RECORD)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            record = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f'{path} is not valid JSON ({exc}); delete it or '
                         're-run the converter with --overwrite.') from exc
    if not isinstance(record, dict):
        raise ValueError(f'{path} does not hold a JSON object.')
    return record


def converter_files(record: dict) -> List[str]:
    """The files a converter wrote, relative to its output folder, as its
    ``DATASET.json`` lists them."""
    suffix = record.get('img_suffix')
    images = record.get('images')
    if not isinstance(suffix, str) or not isinstance(images, list):
        return [DATASET_RECORD]
    return [DATASET_RECORD] + [
        f'original/{name}{suffix}' for name in images
    ] + [f'labels/{name}.png' for name in images]


def _all_files(folder: str) -> List[str]:
    """Every file and link under ``folder``, relative, with ``/``."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [
            osp.relpath(osp.join(root, name), folder).replace(os.sep, '/')
            for name in files + [d for d in dirs
                                 if osp.islink(osp.join(root, d))]
        ]
    return sorted(found)


def _require_converter_output(folder: str) -> None:
    """Raise unless ``folder`` holds a converter's output and nothing
    else."""
    try:
        record = read_dataset_record(folder)
    except ValueError:
        record = None
    if not record or record.get('format') != RECORD_FORMAT:
        raise FileExistsError(
            f'{folder} is not empty and was not written by an mmseg_ood '
            f'converter (no {DATASET_RECORD} from one); refusing to write '
            'into or delete it. Choose another output folder.')
    extra = sorted(set(_all_files(folder)) - set(converter_files(record)))
    if extra:
        shown = ', '.join(extra[:5]) + (', ...' if len(extra) > 5 else '')
        raise FileExistsError(
            f'{folder} holds {len(extra)} file(s) that the converter did not '
            f'write ({shown}; {DATASET_RECORD} lists what it wrote); '
            '--overwrite would delete them. Move them out of the folder, '
            'or choose another output folder.')


@contextmanager
def atomic_output_dir(out_dir: str, overwrite: bool = False) -> Iterator[str]:
    """Write a converted set into a temporary folder, then move it in place.

    Yields a fresh folder with empty ``original/`` and ``labels/``. When the
    ``with`` block ends without an exception, the folder replaces
    ``out_dir``; otherwise it is deleted and ``out_dir`` is untouched
    (:func:`mmseg_ood.utils.file_io.atomic_output_dir`).

    Args:
        out_dir: Final output folder.
        overwrite: Replace an existing non-empty ``out_dir``, but only if
            an mmseg_ood converter wrote it.

    Raises:
        FileExistsError: If ``out_dir`` is a file, or a non-empty folder and
            ``overwrite`` is False, or a folder no converter wrote.
    """
    with file_io.atomic_output_dir(
            out_dir, overwrite,
            may_replace=_require_converter_output) as tmp:
        os.makedirs(osp.join(tmp, 'original'))
        os.makedirs(osp.join(tmp, 'labels'))
        yield tmp


def write_dataset_record(folder: str, record: dict) -> None:
    """Write ``DATASET.json`` (adds the ``format`` key)."""
    data = dict(format=RECORD_FORMAT, **record)
    path = osp.join(folder, DATASET_RECORD)
    with file_io.writing(path), open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write('\n')
