"""The facts of every anomaly benchmark set, in one table.

Datasets, converters, metrics and the config catalogue read
:data:`ANOMALY_SETS`; no other module repeats a set's name, size, default
folder, label values, frame selection or component-metric track.

Sources of the facts (read from the benchmarks' public code):

* Fishyscapes: the authors' TFDS builder and evaluation,
  ``bdlb/fishyscapes/fishyscapes_tfds.py`` and ``benchmark.py`` in
  github.com/hermannsblum/bdl-benchmark (100 FS Lost & Found val frames,
  30 FS Static val frames in three versions; labels 0/1/255).
* Road Anomaly: Lis et al. (ICCV 2019) and their loader ``DatasetRoadAnomaly``
  in github.com/cvlab-epfl/detecting-the-unexpected (60 frames, raw labels
  0 background, 1 road, 2 anomaly).
* SegmentMeIfYouCan: ``road_anomaly_benchmark/datasets/tracks.py``,
  ``tracks_extra.py``, ``evaluation.py`` and
  ``metrics/instance_segmentation.py`` in
  github.com/SegmentMeIfYouCan/road-anomaly-benchmark (frame selection, size
  filters of the component metrics per track, the folder each set's maps
  are stored under, float16 storage).

Example:
    >>> from mmseg_ood.datasets.set_specs import get_set_spec
    >>> get_set_spec('smiyc_obstacle').num_images
    30
"""
import os.path as osp
import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from ..utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    IGNORE_INDEX,
)
from .converters.common import LabelValueError

__all__ = [
    'ANOMALY_SETS', 'COMPUTATIONS', 'EVAL_LABELS', 'SMIYC_STORAGE_DTYPE',
    'SMIYC_STORAGE_NAMES', 'SMIYC_TRACKS', 'AnomalySetSpec',
    'ComponentTrack', 'LabelMapping', 'ReleaseLayout', 'ReleaseVersion',
    'SMIYCNames', 'get_set_spec', 'smiyc_frame_id'
]

#: How a benchmark computes its numbers, by name
#: (:attr:`AnomalySetSpec.computation`); ``mmseg_ood.evaluation`` follows
#: it so that the reported numbers are the benchmark's own.
COMPUTATIONS: Dict[str, str] = {
    'exact': 'exact: every distinct score is a threshold (scikit-learn, '
    'the Fishyscapes server)',
    'smiyc': "SegmentMeIfYouCan's code: float16 maps, per-frame quantile "
    'bins, components at the best-F1 bin edge with score > threshold',
}

#: The dtype in which road-anomaly-benchmark stores and evaluates score
#: maps (``Evaluation.save_output``: ``anomaly_p.astype(np.float16)``).
SMIYC_STORAGE_DTYPE = np.float16

#: Suffix that road-anomaly-benchmark strips from Lost & Found image stems
#: to get frame ids (``<fid>_leftImg8bit.png``).
LEFTIMG_SUFFIX = '_leftImg8bit'


def smiyc_frame_id(img_path: str) -> str:
    """road-anomaly-benchmark's frame id of an image: its stem, without
    the ``_leftImg8bit`` suffix of Lost & Found / Cityscapes names.

    Example:
        >>> smiyc_frame_id('a/04_Maurener_Weg_8_000000_000030_leftImg8bit.png')
        '04_Maurener_Weg_8_000000_000030'
    """
    stem = osp.splitext(osp.basename(img_path))[0]
    if stem.endswith(LEFTIMG_SUFFIX):
        stem = stem[:-len(LEFTIMG_SUFFIX)]
    return stem


@dataclass(frozen=True)
class ComponentTrack:
    """A SegmentMeIfYouCan track: the size filters of its component metrics.

    Attributes:
        name (str): ``'anomaly'`` or ``'obstacle'``.
        min_pred_size (int): Predicted components with fewer pixels are
            dropped.
        min_gt_size (int): Ground-truth components with fewer pixels are
            made void.
    """
    name: str
    min_pred_size: int
    min_gt_size: int


#: The two SegmentMeIfYouCan tracks (``instance_segmentation.py``).
SMIYC_TRACKS: Dict[str, ComponentTrack] = {
    'anomaly': ComponentTrack('anomaly', min_pred_size=500, min_gt_size=100),
    'obstacle': ComponentTrack('obstacle', min_pred_size=50, min_gt_size=10),
}


@dataclass(frozen=True)
class LabelMapping:
    """How a release's raw label values become 0 inlier / 1 anomaly / void.

    Attributes:
        ranges (tuple): ``(low, high, value)`` triples: raw values in
            ``[low, high]`` become ``value``.
        others (int, optional): The value of every other raw value; None
            makes any other raw value an error (an unknown release format).
        text (str): The mapping in words (for records and messages).
    """
    ranges: Tuple[Tuple[int, int, int], ...]
    others: Optional[int]
    text: str

    def apply(self, raw: np.ndarray, where: str) -> np.ndarray:
        """Map a raw label map.

        Args:
            raw (np.ndarray): Integer label map as released.
            where (str): Its file, for the error message.

        Returns:
            np.ndarray: uint8 map of 0, 1 and void.

        Raises:
            LabelValueError: If ``others`` is None and ``raw`` holds a
                value outside the ranges.
        """
        raw = np.asarray(raw)
        out = np.full(raw.shape, IGNORE_INDEX if self.others is None else
                      self.others, np.uint8)
        known = np.zeros(raw.shape, dtype=bool)
        for low, high, value in self.ranges:
            hit = (raw >= low) & (raw <= high)
            out[hit] = value
            known |= hit
        if self.others is None and not known.all():
            extra = np.unique(raw[~known]).tolist()[:10]
            raise LabelValueError(
                f'{where} holds label values {extra} outside the release '
                f'format ({self.text}). The file is not in the format this '
                'converter reads; check that it comes from the official '
                'release.')
        return out


#: Labels that are already 0 inlier / 1 anomaly / 255 void.
EVAL_LABELS = LabelMapping(
    ranges=((ANOMALY_EVAL_INLIER, ANOMALY_EVAL_INLIER, ANOMALY_EVAL_INLIER),
            (ANOMALY_EVAL_ANOMALY, ANOMALY_EVAL_ANOMALY,
             ANOMALY_EVAL_ANOMALY), (IGNORE_INDEX, IGNORE_INDEX,
                                     IGNORE_INDEX)),
    others=None,
    text='0 inlier, 1 anomaly, 255 void')


@dataclass(frozen=True)
class ReleaseLayout:
    """A set read straight from its release (SegmentMeIfYouCan).

    Attributes:
        folder (str): Folder name of the release, e.g.
            ``dataset_AnomalyTrack``.
        img_dir (str): Image folder inside it.
        label_dir (str): Label folder inside it.
        img_suffix (str): Suffix of the frames.
        label_suffix (str): Suffix of the label files after the frame name.
        pattern (str): Regular expression of the frame names of the set.
        exclude (tuple[str, ...]): Frame-name prefixes left out.
        example (str): A frame name of the set, for messages.
    """
    folder: str
    img_dir: str
    label_dir: str
    img_suffix: str
    label_suffix: str
    pattern: str
    exclude: Tuple[str, ...]
    example: str

    def selects(self, name: str) -> bool:
        """Whether the frame ``name`` (no suffix) belongs to the set."""
        return (re.match(self.pattern, name) is not None
                and not name.startswith(self.exclude))


@dataclass(frozen=True)
class ReleaseVersion:
    """One version of a release that gives its own numbers.

    Attributes:
        name (str): Version name, e.g. ``'v3'``.
        tfds_version (str): The version in the authors' TFDS builder.
        archive (str): File name of the official archive.
        md5 (str): MD5 of that archive (as PyTorch-OOD publishes it).
    """
    name: str
    tfds_version: str
    archive: str
    md5: str


@dataclass(frozen=True)
class SMIYCNames:
    """The names road-anomaly-benchmark gives a set.

    Attributes:
        dataset (str): The benchmark's dataset, as its ``metric`` command
            takes it (e.g. ``AnomalyTrack-validation``).
        storage (str): The folder its maps are written to and read from,
            ``<DIR_OUTPUTS>/anomaly_p/<method>/<storage>/<frame id>.hdf5``
            (the dataset's ``name_for_persistence``, or the dataset it
            takes its frames from; e.g. ``AnomalyTrack-all``).
    """
    dataset: str
    storage: str


@dataclass(frozen=True)
class AnomalySetSpec:
    """The facts of one anomaly benchmark set.

    Attributes:
        key (str): Short name: the catalogue name and the ``benchmark``
            argument of :class:`~mmseg_ood.datasets.AnomalyDataset`.
        name (str): Full name, as results report it.
        num_images (int): Frames of the official set.
        data_root (str): Default folder (relative to the working folder).
        img_suffix (str): Suffix of the frames in the processed layout.
        labels (LabelMapping): How the release's labels map to 0/1/void.
        label_text (str): The meaning of the evaluation labels.
        track (str, optional): SegmentMeIfYouCan track whose component
            metrics (:data:`SMIYC_TRACKS`) the benchmark reports on it.
        release (ReleaseLayout, optional): Layout of a release that is read
            as downloaded, without conversion.
        converter (str, optional): The command that writes the processed
            layout from the release.
        versions (tuple[ReleaseVersion, ...]): Versions of the release
            that give different numbers (recorded in results).
        exclude (tuple[str, ...]): Frame-id prefixes the benchmark leaves
            out of the source split (Lost & Found testNoKnown).
        source_frames (int, optional): Frames of the source split the set
            is selected from.
        unlabelled_positions (tuple[int, ...]): Sorted positions, in the
            source split, of the frames without labels that the benchmark
            leaves out.
        smiyc (SMIYCNames, optional): The set's names in
            road-anomaly-benchmark, for the SegmentMeIfYouCan sets.
    """
    key: str
    name: str
    num_images: int
    data_root: str
    img_suffix: str
    labels: LabelMapping
    label_text: str = '0 inlier, 1 anomaly, 255 void'
    track: Optional[str] = None
    release: Optional[ReleaseLayout] = None
    converter: Optional[str] = None
    versions: Tuple[ReleaseVersion, ...] = ()
    exclude: Tuple[str, ...] = ()
    source_frames: Optional[int] = None
    unlabelled_positions: Tuple[int, ...] = ()
    smiyc: Optional[SMIYCNames] = None

    @property
    def computation(self) -> str:
        """How the benchmark computes the set's numbers
        (:data:`COMPUTATIONS`): ``'smiyc'`` on the SegmentMeIfYouCan sets,
        ``'exact'`` on the others (Fishyscapes, Road Anomaly)."""
        return 'smiyc' if self.smiyc else 'exact'

    @property
    def component_track(self) -> Optional[ComponentTrack]:
        """Size filters of the set's component metrics, or None."""
        return SMIYC_TRACKS[self.track] if self.track else None


_SPECS = (
    AnomalySetSpec(
        key='fs_laf',
        name='Fishyscapes Lost & Found val',
        num_images=100,
        data_root='data/fishyscapes/LostAndFound',
        img_suffix='.png',
        labels=EVAL_LABELS,
        converter='mmseg-ood-convert-fishyscapes laf LABELS LOST_AND_FOUND '
        'OUT'),
    AnomalySetSpec(
        key='fs_static',
        name='Fishyscapes Static val',
        num_images=30,
        data_root='data/fishyscapes/Static',
        img_suffix='.png',
        labels=EVAL_LABELS,
        converter='mmseg-ood-convert-fishyscapes static OVERLAYS '
        'CITYSCAPES OUT --version v3',
        # "first version", "improved blending", "added cityscapes objects
        # as negative test" (the TFDS builder's release notes)
        versions=(ReleaseVersion('v1', '1.0.0', 'fs_val_v1.zip',
                                 '79fb134419c83f2f20b575955efa9d20'),
                  ReleaseVersion('v2', '2.0.0', 'fs_val_v2.zip',
                                 '5088c63497927200d935c41d54b1cb23'),
                  ReleaseVersion('v3', '3.0.0', 'fs_val_v3.zip',
                                 '0dc11db9e57088c5bb18de4c55a53f3a'))),
    AnomalySetSpec(
        key='road_anomaly',
        name='Road Anomaly',
        num_images=60,
        data_root='data/road_anomaly',
        img_suffix='.jpg',
        labels=LabelMapping(
            ranges=((0, 1, ANOMALY_EVAL_INLIER), (2, 2, ANOMALY_EVAL_ANOMALY),
                    (IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX)),
            others=None,
            text='raw 0 background, 1 road -> 0; 2 anomaly -> 1; 255 -> '
            '255'),
        converter='mmseg-ood-convert-road-anomaly RAW OUT'),
    AnomalySetSpec(
        key='smiyc_anomaly',
        name='SegmentMeIfYouCan RoadAnomaly21 validation',
        num_images=10,
        data_root='data/smiyc/dataset_AnomalyTrack',
        img_suffix='.jpg',
        labels=EVAL_LABELS,
        track='anomaly',
        release=ReleaseLayout(
            folder='dataset_AnomalyTrack',
            img_dir='images',
            label_dir='labels_masks',
            img_suffix='.jpg',
            label_suffix='_labels_semantic.png',
            pattern=r'^validation[0-9]+$',
            exclude=(),
            example='validation0000'),
        smiyc=SMIYCNames('AnomalyTrack-validation', 'AnomalyTrack-all')),
    AnomalySetSpec(
        key='smiyc_obstacle',
        name='SegmentMeIfYouCan RoadObstacle21 validation',
        num_images=30,
        data_root='data/smiyc/dataset_ObstacleTrack',
        img_suffix='.webp',
        labels=EVAL_LABELS,
        label_text='0 road, 1 obstacle, 255 off-road (void)',
        track='obstacle',
        release=ReleaseLayout(
            folder='dataset_ObstacleTrack',
            img_dir='images',
            label_dir='labels_masks',
            img_suffix='.webp',
            label_suffix='_labels_semantic.png',
            pattern=r'^validation_[0-9]+$',
            # the benchmark's ObstacleTrack-validation leaves these out
            exclude=('validation_19', ) + tuple(f'validation_{i}'
                                                 for i in range(21, 30)),
            example='validation_1'),
        smiyc=SMIYCNames('ObstacleTrack-validation', 'ObstacleTrack-all')),
    AnomalySetSpec(
        key='laf_noknown',
        name='Lost & Found testNoKnown',
        num_images=1043,
        data_root='data/smiyc/LostAndFound-testNoKnown',
        img_suffix='.png',
        labels=LabelMapping(
            ranges=((1, 1, ANOMALY_EVAL_INLIER),
                    (2, 200, ANOMALY_EVAL_ANOMALY)),
            others=IGNORE_INDEX,
            text='label ids 1 -> 0; 2..200 -> 1; others -> 255'),
        label_text='0 road, 1 obstacle, 255 void',
        track='obstacle',
        converter='mmseg-ood-convert-lost-and-found LOST_AND_FOUND OUT',
        # frames that show known classes (children, bicycles)
        exclude=('15_Rechbergstr_Deckenpfronn',
                 '01_Hanns_Klemm_Str_45_000006',
                 '01_Hanns_Klemm_Str_45_000007', '10_Schlossberg_9_000004'),
        source_frames=1203,
        unlabelled_positions=(17, 37, 55, 72, 91, 110, 129, 153, 174, 197,
                              218, 353, 490, 618, 686, 792, 793),
        smiyc=SMIYCNames('LostAndFound-testNoKnown', 'LostAndFound-test')),
)

#: Every anomaly benchmark set, by key.
ANOMALY_SETS: Dict[str, AnomalySetSpec] = {spec.key: spec for spec in _SPECS}

#: The folders road-anomaly-benchmark reads maps from, each with the sets
#: whose maps go there (``{'AnomalyTrack-all': ('smiyc_anomaly', ), ...}``).
SMIYC_STORAGE_NAMES: Dict[str, Tuple[str, ...]] = {
    storage: tuple(s.key for s in _SPECS if s.smiyc and s.smiyc.storage ==
                   storage)
    for storage in dict.fromkeys(s.smiyc.storage for s in _SPECS if s.smiyc)
}


def get_set_spec(key: str) -> AnomalySetSpec:
    """The spec of a set.

    Raises:
        KeyError: Naming the known keys, for an unknown key.
    """
    if key not in ANOMALY_SETS:
        raise KeyError(f'Unknown anomaly set {key!r}; the known sets are '
                       f'{sorted(ANOMALY_SETS)}.')
    return ANOMALY_SETS[key]
