"""SegmentMeIfYouCan validation sets, read straight from the releases.

The official releases (segmentmeifyoucan.com; the benchmark code is
github.com/SegmentMeIfYouCan/road-anomaly-benchmark,
``road_anomaly_benchmark/datasets/tracks.py``) hold::

    dataset_AnomalyTrack/images/validation0000.jpg ... (and unlabelled test
        frames with other names)
    dataset_AnomalyTrack/labels_masks/validation0000_labels_semantic.png
    dataset_ObstacleTrack/images/validation_1.webp ... (and test frames)
    dataset_ObstacleTrack/labels_masks/validation_1_labels_semantic.png

Labels: 0 inlier (road on the obstacle track), 1 anomaly / obstacle, 255
void. The benchmark's ``ObstacleTrack-validation`` takes the ``validation``
frames except the ids starting with ``validation_19`` and
``validation_21`` ... ``validation_29`` (30 frames); ``AnomalyTrack``'s
validation frames are the ``validation*`` files (10 frames).

Lost & Found testNoKnown has no release of its own: build it with
``tools/dataset_converters/lost_and_found.py`` and read it with
``track='LostAndFound-testNoKnown'`` (processed layout).
"""
import os.path as osp
import re
from typing import List, Optional

from mmengine.logging import print_log
from mmseg.registry import DATASETS

from .anomaly_dataset import AnomalyDataset

#: Splits: folder of the release, image suffix, validation-name pattern,
#: excluded name prefixes, frame count, reported name, and the track of
#: the component metrics (:data:`mmseg_ood.evaluation.components.
#: SMIYC_TRACKS`: size filters) that the benchmark evaluates it on.
SMIYC_SPLITS = {
    'RoadAnomaly21':
    dict(
        folder='dataset_AnomalyTrack',
        img_suffix='.jpg',
        pattern=r'^validation[0-9]+$',
        exclude=(),
        size=10,
        name='SegmentMeIfYouCan RoadAnomaly21 validation',
        component_track='anomaly'),
    'RoadObstacle21':
    dict(
        folder='dataset_ObstacleTrack',
        img_suffix='.webp',
        pattern=r'^validation_[0-9]+$',
        exclude=('validation_19', ) + tuple(f'validation_{i}'
                                             for i in range(21, 30)),
        size=30,
        name='SegmentMeIfYouCan RoadObstacle21 validation',
        component_track='obstacle'),
    'LostAndFound-testNoKnown':
    dict(
        folder=None,
        img_suffix='.png',
        pattern=None,
        exclude=(),
        size=1043,
        name='Lost & Found testNoKnown',
        component_track='obstacle'),
}
_LAYOUTS = ('official', 'processed')


@DATASETS.register_module()
class SMIYCDataset(AnomalyDataset):
    """A SegmentMeIfYouCan validation set (labels 0 / 1 / 255).

    Args:
        track: ``'RoadAnomaly21'``, ``'RoadObstacle21'`` or
            ``'LostAndFound-testNoKnown'``.
        layout: ``'official'`` reads the release as downloaded
            (``data_root`` is ``dataset_AnomalyTrack`` or
            ``dataset_ObstacleTrack``); ``'processed'`` reads
            ``original/`` + ``labels/`` (converter output or a processed
            copy). testNoKnown exists only as ``'processed'``.
        img_suffix: Image suffix; defaults to the ``img_suffix`` of the
            converter's ``DATASET.json`` (processed layout), else to the
            track's (``.jpg``, ``.webp``; ``.png`` for testNoKnown).
        **kwargs: Arguments of :class:`AnomalyDataset`.

    Example:
        >>> dataset = dict(type='SMIYCDataset', track='RoadObstacle21',
        ...                data_root='data/smiyc/dataset_ObstacleTrack')
    """

    def __init__(self,
                 track: str,
                 layout: str = 'official',
                 img_suffix: Optional[str] = None,
                 **kwargs) -> None:
        if track not in SMIYC_SPLITS:
            raise ValueError(f'track must be one of {sorted(SMIYC_SPLITS)}, '
                             f'got {track!r}')
        if layout not in _LAYOUTS:
            raise ValueError(f'layout must be one of {_LAYOUTS}, got '
                             f'{layout!r}')
        spec = SMIYC_SPLITS[track]
        if layout == 'official' and spec['folder'] is None:
            raise ValueError(
                f'{track} has no official release layout; build it with '
                'tools/dataset_converters/lost_and_found.py and use '
                "layout='processed'.")
        self.track = track
        self.layout = layout
        if layout == 'official':
            kwargs.setdefault(
                'data_prefix',
                dict(img_path='images', seg_map_path='labels_masks'))
            kwargs.setdefault('seg_map_suffix', '_labels_semantic.png')
        kwargs.setdefault('set_name', spec['name'])
        kwargs['metainfo'] = dict(
            kwargs.get('metainfo') or {},
            component_track=spec['component_track'])
        super().__init__(img_suffix=img_suffix, **kwargs)

    def _reads_record(self) -> bool:
        return self.layout == 'processed'

    def _default_img_suffix(self) -> str:
        return SMIYC_SPLITS[self.track]['img_suffix']

    def _expected_tree(self) -> str:
        if self.layout == 'processed':
            return super()._expected_tree()
        spec = SMIYC_SPLITS[self.track]
        first = 'validation0000' if self.track == 'RoadAnomaly21' else \
            'validation_1'
        return (f"SMIYCDataset(track='{self.track}') expects the official "
                f"release, data_root = {spec['folder']}/:\n"
                f"  images/{first}{self.img_suffix}   (and the other "
                'validation frames)\n'
                f'  labels_masks/{first}{self.seg_map_suffix}   (labels: 0 '
                f'inlier, 1 anomaly, {self.ignore_index} void)')

    def _select(self, data_list: List[dict]) -> List[dict]:
        """Keep the track's validation frames (official layout)."""
        spec = SMIYC_SPLITS[self.track]
        if self.layout == 'official':
            regex = re.compile(spec['pattern'])
            kept = []
            for info in data_list:
                name = osp.basename(info['img_path'])[:-len(self.img_suffix)]
                if regex.match(name) and not any(
                        name == p or name.startswith(p)
                        for p in spec['exclude']):
                    kept.append(info)
            data_list = kept
        if data_list and len(data_list) != spec['size']:
            print_log(
                f'{spec["name"]}: {len(data_list)} frames in '
                f'{self.data_root!r}; the benchmark has {spec["size"]}. '
                'Numbers on a partial set are not comparable to published '
                'ones.',
                logger='current',
                level=30)
        return data_list
