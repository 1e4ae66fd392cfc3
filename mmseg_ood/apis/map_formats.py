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
  ``<out>/anomaly_p/<method>/<storage>/<frame id>.hdf5`` holding the float16
  score map as dataset ``'value'``, gzip level 9. ``<out>`` plays the role
  of the benchmark's ``DIR_OUTPUTS``; no class map is stored. ``<storage>``
  is the folder the benchmark reads the set's maps from
  (:attr:`~mmseg_ood.datasets.set_specs.SMIYCNames.storage`, e.g.
  ``LostAndFound-test`` for Lost & Found testNoKnown); other names are
  refused.

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

from ..datasets.set_specs import (
    ANOMALY_SETS,
    SMIYC_STORAGE_DTYPE,
    SMIYC_STORAGE_NAMES,
    get_set_spec,
    smiyc_frame_id,
)
from ..utils.file_io import atomic_output

__all__ = [
    'MAP_FORMATS', 'FishyscapesMaps', 'MapFormat', 'NpyMaps', 'SMIYCMaps',
    'build_map_format', 'load_smiyc_hdf5', 'save_npy', 'save_smiyc_hdf5',
    'smiyc_frame_id', 'smiyc_storage_name'
]

#: Fishyscapes input names: a four-digit frame number, then ``_``.
FISHYSCAPES_INPUT = re.compile(r'^(\d{4})_')
#: SegmentMeIfYouCan store: dataset name, dtype and gzip level.
SMIYC_KEY = 'value'
SMIYC_DTYPE = SMIYC_STORAGE_DTYPE
SMIYC_GZIP_LEVEL = 9

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


def _storage_choices() -> str:
    return ', '.join(f'{name} ({"/".join(keys)})'
                     for name, keys in SMIYC_STORAGE_NAMES.items())


def smiyc_storage_name(anomaly_set: Optional[str] = None,
                       dataset_name: Optional[str] = None) -> str:
    """The folder road-anomaly-benchmark reads a set's maps from.

    Args:
        anomaly_set (str, optional): A SegmentMeIfYouCan set key
            (``smiyc_anomaly``, ``smiyc_obstacle``, ``laf_noknown``).
        dataset_name (str, optional): A folder name given by hand; it must
            be one the benchmark reads, and the set's if both are given.

    Returns:
        str: E.g. ``'LostAndFound-test'`` for ``'laf_noknown'``.

    Raises:
        ValueError: Neither given, a set without SegmentMeIfYouCan maps, a
            name the benchmark does not read, or a name of another set.

    Example:
        >>> smiyc_storage_name('laf_noknown')
        'LostAndFound-test'
    """
    smiyc_sets = sorted(k for k, s in ANOMALY_SETS.items() if s.smiyc)
    if anomaly_set is None and dataset_name is None:
        raise ValueError(
            'The smiyc format needs the set (--set), which names the '
            f'folder the benchmark reads: {_storage_choices()}.')
    storage = None
    if anomaly_set is not None:
        spec = get_set_spec(anomaly_set)
        if spec.smiyc is None:
            raise ValueError(
                f'{anomaly_set!r} is not a SegmentMeIfYouCan set; the smiyc '
                f'format is for {smiyc_sets}.')
        storage = spec.smiyc.storage
    if dataset_name is not None:
        if dataset_name not in SMIYC_STORAGE_NAMES:
            raise ValueError(
                f'road-anomaly-benchmark does not read maps from a folder '
                f'{dataset_name!r}; it reads {_storage_choices()}. Pass '
                '--set instead of --dataset-name.')
        if storage is not None and dataset_name != storage:
            raise ValueError(
                f'{anomaly_set!r} maps are read from {storage!r}, not '
                f'{dataset_name!r}; drop --dataset-name.')
        storage = dataset_name
    return storage


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
    ``<out>/anomaly_p/<method>/<storage>/<frame id>.hdf5``.

    Args:
        out_dir (str): The benchmark's ``DIR_OUTPUTS``.
        method_name (str): The method's folder name.
        dataset_name (str, optional): The storage folder, one the benchmark
            reads (:data:`~mmseg_ood.datasets.set_specs.SMIYC_STORAGE_NAMES`,
            e.g. ``AnomalyTrack-all``); taken from ``anomaly_set`` when
            None.
        anomaly_set (str, optional): The SegmentMeIfYouCan set key
            (``smiyc_anomaly``, ``smiyc_obstacle``, ``laf_noknown``).
    """
    name = 'smiyc'

    def __init__(self, out_dir: str, method_name: Optional[str] = None,
                 dataset_name: Optional[str] = None,
                 anomaly_set: Optional[str] = None) -> None:
        super().__init__(out_dir)
        if not method_name:
            raise ValueError(
                'The smiyc format needs a method name (--method-name), '
                'e.g. BalancedEnergy.')
        if os.sep in method_name or method_name in ('.', '..'):
            raise ValueError(f'The method name is a folder name; '
                             f'{method_name!r} is not.')
        self.method_name = method_name
        self.dataset_name = smiyc_storage_name(anomaly_set, dataset_name)

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
                     dataset_name: Optional[str] = None,
                     anomaly_set: Optional[str] = None) -> MapFormat:
    """The format ``name`` writing to ``out_dir``.

    Raises:
        ValueError: An unknown format, or SMIYC names missing or not read by
            the benchmark.
    """
    if name not in MAP_FORMATS:
        raise ValueError(f'Unknown output format {name!r}; choose one of '
                         f'{sorted(MAP_FORMATS)}.')
    if name == SMIYCMaps.name:
        return SMIYCMaps(out_dir, method_name, dataset_name, anomaly_set)
    if dataset_name is not None or anomaly_set is not None:
        raise ValueError(
            f'A set or dataset name (--set, --dataset-name) names the '
            f'SegmentMeIfYouCan storage folder: it is for --format smiyc, '
            f'not {name!r}.')
    return MAP_FORMATS[name](out_dir)
