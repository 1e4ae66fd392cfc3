"""Output formats of the submission score maps: one class per format.

* :class:`NpyMaps` (``'npy'``): ``<out>/<relative folder>/<stem>_anomaly.npy``
  and ``<stem>_segmentation.npy``.
* :class:`FishyscapesMaps` (``'fishyscapes'``): the Fishyscapes submission
  contract (fishyscapes.com/submission): every input ``DDDD_*.png`` gives
  ``<out>/DDDD_anomaly.npy`` (float scores, input resolution) and
  ``<out>/DDDD_segmentation.npy`` (integer classes), ``DDDD`` being the
  four-digit prefix of the input name.
* :class:`SMIYCMaps` (``'smiyc'``): the SegmentMeIfYouCan benchmark's store
  (``road_anomaly_benchmark.evaluation.Evaluation.save_output``):
  ``<out>/anomaly_p/<method>/<dataset>/<frame id>.hdf5`` holding the float16
  score map as dataset ``'value'``, gzip level 9. ``<out>`` plays the role
  of the benchmark's ``DIR_OUTPUTS``; no class map is stored.

Every file is written through a temporary file, so a killed run never
leaves a truncated output, and :meth:`MapFormat.is_complete` recognises a
whole output of the right shape and dtype.
"""
import os
import os.path as osp
import re
from abc import ABCMeta, abstractmethod
from typing import Dict, Optional, Tuple, Type

import numpy as np

from ..utils.file_io import atomic_output

__all__ = [
    'MAP_FORMATS', 'FishyscapesMaps', 'MapFormat', 'NpyMaps', 'SMIYCMaps',
    'build_map_format', 'load_smiyc_hdf5', 'save_npy', 'save_smiyc_hdf5',
    'smiyc_frame_id'
]

#: Fishyscapes input names: a four-digit frame number, then ``_``.
FISHYSCAPES_INPUT = re.compile(r'^(\d{4})_')
#: SegmentMeIfYouCan store: dataset name, dtype and gzip level.
SMIYC_KEY = 'value'
SMIYC_DTYPE = np.float16
SMIYC_GZIP_LEVEL = 9
#: Suffix that the SegmentMeIfYouCan Lost & Found loader strips from image
#: stems to get frame ids (``<fid>_leftImg8bit.png``).
LEFTIMG_SUFFIX = '_leftImg8bit'

Shape = Tuple[int, int]


def save_npy(path: str, array: np.ndarray) -> None:
    """``np.save`` through a temporary file (never a truncated file)."""
    with atomic_output(path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, array)


def _npy_is_complete(path: str, shape: Shape, dtype) -> bool:
    """True if ``path`` is a whole .npy of this shape and dtype."""
    try:
        with open(path, 'rb') as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f)
            else:
                header = np.lib.format.read_array_header_2_0(f)
            data_start = f.tell()
    except (OSError, ValueError):
        return False
    file_shape, _, file_dtype = header
    if tuple(file_shape) != tuple(shape) or file_dtype != np.dtype(dtype):
        return False
    expected = data_start + int(np.prod(shape)) * np.dtype(dtype).itemsize
    return osp.getsize(path) == expected


def _import_h5py():
    try:
        import h5py
    except ImportError as error:
        raise ImportError('The smiyc output format needs h5py: pip install '
                          'h5py') from error
    return h5py


def save_smiyc_hdf5(path: str, anomaly: np.ndarray) -> None:
    """Write a score map as the SegmentMeIfYouCan benchmark stores it:
    float16 dataset ``'value'``, gzip level 9, atomically."""
    h5py = _import_h5py()
    value = np.asarray(anomaly).astype(SMIYC_DTYPE)
    if not np.isfinite(value).all():
        raise ValueError(
            f'{path}: the scores do not fit float16 (|score| > 65504 or '
            'NaN), which the SegmentMeIfYouCan store uses; pick a bounded '
            'score (e.g. --score-options type=MaxSoftmaxScore).')
    with atomic_output(path) as tmp:
        with h5py.File(tmp, 'w') as f:
            f.create_dataset(SMIYC_KEY, data=value, compression='gzip',
                             compression_opts=SMIYC_GZIP_LEVEL)


def load_smiyc_hdf5(path: str) -> np.ndarray:
    """Read a score map written by :func:`save_smiyc_hdf5` (or by the
    SegmentMeIfYouCan benchmark)."""
    h5py = _import_h5py()
    with h5py.File(path, 'r') as f:
        if SMIYC_KEY not in f:
            raise KeyError(f'{path} has no dataset {SMIYC_KEY!r} (keys: '
                           f'{list(f.keys())}).')
        return f[SMIYC_KEY][()]


def smiyc_frame_id(img_path: str) -> str:
    """SegmentMeIfYouCan frame id of an image: its stem, without the
    ``_leftImg8bit`` suffix of Lost & Found / Cityscapes names."""
    stem = osp.splitext(osp.basename(img_path))[0]
    if stem.endswith(LEFTIMG_SUFFIX):
        stem = stem[:-len(LEFTIMG_SUFFIX)]
    return stem


class MapFormat(metaclass=ABCMeta):
    """Base class: where the maps of an image go and how they are written.

    Args:
        out_dir (str): The output folder.
    """

    #: Name of the format (``--format``).
    name = ''

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    @property
    def folder(self) -> str:
        """The folder that holds the maps (and the run manifest)."""
        return self.out_dir

    def settings(self) -> dict:
        """What identifies the format's outputs (for the run manifest)."""
        return dict(output_format=self.name)

    @abstractmethod
    def files(self, img_path: str, img_dir: str) -> Dict[str, str]:
        """Output files of one image, ``{'anomaly': ...}`` and, if the
        format stores it, ``'segmentation'``."""

    @abstractmethod
    def write(self, files: Dict[str, str], anomaly: np.ndarray,
              classes: np.ndarray) -> None:
        """Write one image's maps."""

    @abstractmethod
    def is_complete(self, files: Dict[str, str], shape: Shape) -> bool:
        """Whether the outputs are whole, of ``shape`` and the right
        dtypes."""


class _NpyPairMaps(MapFormat):
    """A float32 ``_anomaly.npy`` and a uint8 ``_segmentation.npy`` per
    image, at a path chosen by :meth:`base`."""

    @abstractmethod
    def base(self, img_path: str, img_dir: str) -> str:
        """Output path of an image without the ``_anomaly.npy`` suffix."""

    def files(self, img_path: str, img_dir: str) -> Dict[str, str]:
        base = self.base(img_path, img_dir)
        return dict(anomaly=base + '_anomaly.npy',
                    segmentation=base + '_segmentation.npy')

    def write(self, files: Dict[str, str], anomaly: np.ndarray,
              classes: np.ndarray) -> None:
        # the anomaly map last: an image with its anomaly map is complete
        save_npy(files['segmentation'], classes)
        save_npy(files['anomaly'], anomaly)

    def is_complete(self, files: Dict[str, str], shape: Shape) -> bool:
        return (_npy_is_complete(files['anomaly'], shape, np.float32)
                and _npy_is_complete(files['segmentation'], shape,
                                     np.uint8))


class NpyMaps(_NpyPairMaps):
    """``<stem>_anomaly.npy`` and ``<stem>_segmentation.npy``; sub-folders
    of the image folder are mirrored."""
    name = 'npy'

    def base(self, img_path: str, img_dir: str) -> str:
        rel_dir = osp.relpath(osp.dirname(osp.abspath(img_path)),
                              osp.abspath(img_dir))
        stem = osp.splitext(osp.basename(img_path))[0]
        return osp.normpath(osp.join(self.out_dir, rel_dir, stem))


class FishyscapesMaps(_NpyPairMaps):
    """``DDDD_anomaly.npy`` and ``DDDD_segmentation.npy`` for every input
    ``DDDD_*.png`` (the Fishyscapes submission contract)."""
    name = 'fishyscapes'

    def base(self, img_path: str, img_dir: str) -> str:
        match = FISHYSCAPES_INPUT.match(osp.basename(img_path))
        if match is None:
            raise ValueError(
                f'{img_path}: Fishyscapes inputs are named DDDD_*.png (four '
                'digits, then "_"), e.g. 0000_04_Maurener_Weg_8_000000_'
                '000030_rgb.png; use --format npy for other names.')
        return osp.join(self.out_dir, match.group(1))


class SMIYCMaps(MapFormat):
    """The SegmentMeIfYouCan store:
    ``<out>/anomaly_p/<method>/<dataset>/<frame id>.hdf5``.

    Args:
        out_dir (str): The benchmark's ``DIR_OUTPUTS``.
        method_name (str): The method's folder name.
        dataset_name (str): The benchmark's dataset name, e.g.
            ``AnomalyTrack-all``.
    """
    name = 'smiyc'

    def __init__(self, out_dir: str, method_name: Optional[str] = None,
                 dataset_name: Optional[str] = None) -> None:
        super().__init__(out_dir)
        if not method_name or not dataset_name:
            raise ValueError(
                'The smiyc format needs a method name and a dataset name '
                '(--method-name, --dataset-name), e.g. BalancedEnergy and '
                'AnomalyTrack-all.')
        for value in (method_name, dataset_name):
            if os.sep in value or value in ('.', '..'):
                raise ValueError(f'Method and dataset names are folder '
                                 f'names; {value!r} is not.')
        self.method_name = method_name
        self.dataset_name = dataset_name

    @property
    def folder(self) -> str:
        return osp.join(self.out_dir, 'anomaly_p', self.method_name,
                        self.dataset_name)

    def settings(self) -> dict:
        return dict(output_format=self.name, method_name=self.method_name,
                    dataset_name=self.dataset_name)

    def files(self, img_path: str, img_dir: str) -> Dict[str, str]:
        return dict(anomaly=osp.join(self.folder,
                                     smiyc_frame_id(img_path) + '.hdf5'))

    def write(self, files: Dict[str, str], anomaly: np.ndarray,
              classes: np.ndarray) -> None:
        save_smiyc_hdf5(files['anomaly'], anomaly)

    def is_complete(self, files: Dict[str, str], shape: Shape) -> bool:
        h5py = _import_h5py()
        try:
            with h5py.File(files['anomaly'], 'r') as f:
                value = f[SMIYC_KEY][()]
        except Exception:  # any unreadable or partial file is recomputed
            return False
        return value.shape == tuple(shape) and value.dtype == SMIYC_DTYPE


#: The formats by name.
MAP_FORMATS: Dict[str, Type[MapFormat]] = {
    cls.name: cls
    for cls in (NpyMaps, FishyscapesMaps, SMIYCMaps)
}


def build_map_format(name: str, out_dir: str,
                     method_name: Optional[str] = None,
                     dataset_name: Optional[str] = None) -> MapFormat:
    """The format ``name`` writing to ``out_dir``.

    Raises:
        ValueError: An unknown format, or SMIYC names missing.
    """
    if name not in MAP_FORMATS:
        raise ValueError(f'Unknown output format {name!r}; choose one of '
                         f'{sorted(MAP_FORMATS)}.')
    if name == SMIYCMaps.name:
        return SMIYCMaps(out_dir, method_name, dataset_name)
    return MAP_FORMATS[name](out_dir)
