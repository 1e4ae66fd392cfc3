"""Anomaly evaluation sets: Fishyscapes, Road Anomaly, SegmentMeIfYouCan.

One dataset class reads every set, in one of two layouts:

* ``'processed'``: what the converters write (and what SynBoost and PEBAL
  distribute)::

      <data_root>/original/<name><img_suffix>
      <data_root>/labels/<name>.png      0 inlier, 1 anomaly, 255 void
      <data_root>/DATASET.json           written by the converters

* ``'release'``: a SegmentMeIfYouCan validation set as downloaded, e.g.
  ``dataset_AnomalyTrack/images/validation0000.jpg`` with
  ``labels_masks/validation0000_labels_semantic.png``; the benchmark's frame
  selection is applied.

The set's facts (name, size, default folder, suffix, component track) come
from :data:`~mmseg_ood.datasets.set_specs.ANOMALY_SETS`, named by
``benchmark`` or by the converter's ``DATASET.json``. The dataset puts the
set's key, name and version into its ``metainfo['anomaly_set']``
(``benchmark``, ``name``, ``version``) so that results say what they were
measured on, and the metric finds the set's component track.
"""
import logging
import os
import os.path as osp
from typing import List, Optional

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..utils.constants import IGNORE_INDEX
from ..utils.image_files import check_image_complete, check_label_file
from .converters.common import DATASET_RECORD, read_dataset_record
from .set_specs import AnomalySetSpec, get_set_spec

__all__ = ['LAYOUTS', 'AnomalyDataset']

#: Layouts that :class:`AnomalyDataset` reads.
LAYOUTS = ('processed', 'release')
#: Folders of the processed layout.
PROCESSED_PREFIX = dict(img_path='original', seg_map_path='labels')


@DATASETS.register_module()
class AnomalyDataset(BaseSegDataset):
    """An anomaly evaluation set (labels 0 inlier, 1 anomaly, 255 void).

    Unlike MMSeg's base class it fails with a clear error, naming the
    files, when a folder is missing or holds no image, an image has no
    label or a label no image, images or labels lie in sub-folders (which
    MMSeg would count), the images differ from those the converter's
    ``DATASET.json`` lists, a file is truncated (OpenCV would decode half a
    frame) or a label map is 16-bit (MMSeg would wrap 257 to 1). It warns
    when a benchmark set is incomplete.

    Args:
        benchmark (str, optional): Key of the set in
            :data:`~mmseg_ood.datasets.set_specs.ANOMALY_SETS`:
            ``'fs_laf'``, ``'fs_static'``, ``'road_anomaly'``,
            ``'smiyc_anomaly'``, ``'smiyc_obstacle'`` or ``'laf_noknown'``.
            Defaults to the ``key`` of a converter's ``DATASET.json``; a
            folder with neither is read as a set of its own.
        layout (str, optional): ``'processed'`` or ``'release'``. Defaults
            to ``'release'`` for the sets read as released (the
            SegmentMeIfYouCan validation sets), else ``'processed'``.
        data_root (str, optional): The set's folder. Defaults to the set's
            folder in the table (e.g. ``data/fishyscapes/LostAndFound``).
        img_suffix (str, optional): Suffix of the frames. Defaults to the
            ``img_suffix`` in ``DATASET.json`` (the converters record the
            frames' format there), else to the set's.
        **kwargs: Arguments of MMSeg's ``BaseSegDataset``.

    Example:
        >>> dataset = dict(type='AnomalyDataset', benchmark='fs_laf',
        ...                data_root='data/fishyscapes/LostAndFound')
    """
    METAINFO = dict(
        classes=('inlier', 'anomaly'), palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self,
                 benchmark: Optional[str] = None,
                 layout: Optional[str] = None,
                 data_root: Optional[str] = None,
                 img_suffix: Optional[str] = None,
                 seg_map_suffix: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 ignore_index: int = IGNORE_INDEX,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        spec = get_set_spec(benchmark) if benchmark else None
        if layout is None:
            layout = 'release' if spec and spec.release else 'processed'
        if layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {LAYOUTS}, got '
                             f'{layout!r}.')
        if data_root is None:
            if spec is None:
                raise ValueError('AnomalyDataset needs data_root, or a '
                                 'benchmark whose default folder it reads.')
            data_root = spec.data_root
        record = None
        if layout == 'processed':
            record = read_dataset_record(data_root)
            spec = self._spec_of_record(spec, record, data_root)
        elif spec is None or spec.release is None:
            raise ValueError(
                f"layout='release' reads the SegmentMeIfYouCan validation "
                f"sets as downloaded; {benchmark!r} has no such release. Use "
                "layout='processed' with the converter's output.")
        self.spec = spec
        self.layout = layout
        self._record = record
        if layout == 'release':
            release = spec.release
            data_prefix = data_prefix or dict(
                img_path=release.img_dir, seg_map_path=release.label_dir)
            seg_map_suffix = seg_map_suffix or release.label_suffix
            img_suffix = img_suffix or release.img_suffix
        else:
            data_prefix = data_prefix or dict(PROCESSED_PREFIX)
            seg_map_suffix = seg_map_suffix or '.png'
            img_suffix = img_suffix or self._recorded_suffix(
                record, data_root)
        # one dict: MMEngine reads string metainfo values as file names
        set_info = dict(anomaly_set=dict(
            benchmark=spec.key if spec else None,
            name=(record or {}).get('name')
            or (spec.name if spec else 'anomaly set'),
            version=(record or {}).get('version')))
        super().__init__(
            data_root=data_root,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            ignore_index=ignore_index,
            metainfo={**set_info, **(metainfo or {})},
            **kwargs)

    @staticmethod
    def _spec_of_record(spec: Optional[AnomalySetSpec],
                        record: Optional[dict],
                        data_root: str) -> Optional[AnomalySetSpec]:
        """The set named by the config, checked against the record's."""
        recorded = (record or {}).get('key')
        if recorded is None:
            return spec
        if spec is not None and recorded != spec.key:
            raise ValueError(
                f'{osp.join(data_root, DATASET_RECORD)} says this folder '
                f'holds {recorded!r}, but the config asks for benchmark='
                f'{spec.key!r}. Fix data_root or benchmark.')
        return get_set_spec(recorded)

    def _recorded_suffix(self, record: Optional[dict],
                         data_root: str) -> str:
        """The record's ``img_suffix``, else the set's, else ``.png``."""
        suffix = (record or {}).get('img_suffix')
        if suffix is None:
            return self.spec.img_suffix if self.spec else '.png'
        if not isinstance(suffix, str) or not suffix.startswith('.'):
            raise ValueError(
                f'{osp.join(data_root, DATASET_RECORD)} has img_suffix='
                f'{suffix!r}, not a file suffix such as ".jpg"; re-run the '
                'converter with --overwrite or pass img_suffix in the '
                'dataset config.')
        return suffix

    def _expected_tree(self) -> str:
        img_dir = self.data_prefix.get('img_path')
        seg_dir = self.data_prefix.get('seg_map_path')
        if self.layout == 'release':
            release = self.spec.release
            return (f"AnomalyDataset(benchmark='{self.spec.key}') expects "
                    f'the release as downloaded, data_root = '
                    f'{release.folder}/:\n'
                    f'  {release.img_dir}/{release.example}'
                    f'{self.img_suffix}   (and the other validation '
                    'frames)\n'
                    f'  {release.label_dir}/{release.example}'
                    f'{self.seg_map_suffix}   (labels: '
                    f'{self.spec.label_text})')
        labels = self.spec.label_text if self.spec else (
            f'0 inlier, 1 anomaly, {self.ignore_index} void')
        hint = (f'\nBuild it with: {self.spec.converter}'
                if self.spec and self.spec.converter else '')
        return (f'AnomalyDataset expects the processed layout:\n'
                f'  {img_dir}/*{self.img_suffix}   (images)\n'
                f'  {seg_dir}/*{self.seg_map_suffix}   (labels: '
                f'{labels}){hint}')

    def _select(self, data_list: List[dict]) -> List[dict]:
        """Keep the set's frames: the release's selection, or all."""
        if self.layout != 'release':
            return data_list
        release = self.spec.release
        return [
            info for info in data_list if release.selects(
                osp.basename(info['img_path'])[:-len(self.img_suffix)])
        ]

    def _stem(self, path: str, suffix: str) -> str:
        return osp.basename(path)[:-len(suffix)]

    def _check_no_subfolders(self, folder: str, suffix: str) -> None:
        """Files in sub-folders: MMSeg would count them as frames."""
        nested = []
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            if root != folder:
                nested += [osp.join(root, f) for f in sorted(files)
                           if f.endswith(suffix)]
        if nested:
            raise ValueError(
                f'{len(nested)} file(s) *{suffix} lie in sub-folders of '
                f'{folder!r}, e.g. {nested[:3]}; the set has no sub-folders '
                '(MMSeg would count them as frames). Move them out of '
                f'{folder!r}. {self._expected_tree()}')

    def _check_orphan_labels(self, data_list: List[dict], img_dir: str,
                             ann_dir: str) -> None:
        """A label without its image would shrink the set quietly."""
        suffix = self.seg_map_suffix
        images = {self._stem(info['seg_map_path'], suffix)
                  for info in data_list}
        release = self.spec.release if self.layout == 'release' else None
        orphans = [
            osp.join(ann_dir, name) for name in sorted(os.listdir(ann_dir))
            if name.endswith(suffix) and name[:-len(suffix)] not in images
            and (release is None or release.selects(name[:-len(suffix)]))
        ]
        if orphans:
            raise FileNotFoundError(
                f'{len(orphans)} label(s) in {ann_dir!r} have no image '
                f'*{self.img_suffix} in {img_dir!r}, e.g. {orphans[:3]}; the '
                'set would silently lose them. Restore the images (or '
                'convert the set again). ' + self._expected_tree())

    def _check_record_images(self, data_list: List[dict]) -> None:
        """The frames the converter's ``DATASET.json`` lists, no more, no
        less."""
        images = (self._record or {}).get('images')
        if self.layout != 'processed' or not isinstance(images, list):
            return
        found = {self._stem(info['img_path'], self.img_suffix)
                 for info in data_list}
        listed = set(images)
        record = osp.join(self.data_root, DATASET_RECORD)
        if found != listed:
            missing = sorted(listed - found)
            extra = sorted(found - listed)
            raise FileNotFoundError(
                f'{record} lists {len(listed)} images, the folder holds '
                f'{len(found)}: {len(missing)} listed but missing (e.g. '
                f'{missing[:3]}), {len(extra)} not listed (e.g. '
                f'{extra[:3]}). Convert the set again (its converter with '
                '--overwrite), or restore the missing files and remove the '
                'extra ones.')

    def _check_files(self, data_list: List[dict]) -> None:
        """Truncated images or labels, 16-bit label maps: named here, before
        the loaders decode them half or wrap their values."""
        for info in data_list:
            check_image_complete(info['img_path'])
            check_label_file(info['seg_map_path'],
                             '0 inlier, 1 anomaly, 255 void')

    def load_data_list(self) -> List[dict]:
        """List image/label pairs and check that the layout is complete."""
        img_dir = self.data_prefix.get('img_path')
        ann_dir = self.data_prefix.get('seg_map_path')
        for folder in (img_dir, ann_dir):
            if not folder or not osp.isdir(folder):
                raise FileNotFoundError(
                    f'Folder {folder!r} does not exist (data_root='
                    f'{self.data_root!r}). {self._expected_tree()}')
        self._check_no_subfolders(img_dir, self.img_suffix)
        self._check_no_subfolders(ann_dir, self.seg_map_suffix)
        data_list = self._select(super().load_data_list())
        if not data_list:
            raise FileNotFoundError(
                f'No *{self.img_suffix} image of the set in {img_dir!r}. '
                f'{self._expected_tree()}')
        missing = [
            info['seg_map_path'] for info in data_list
            if not osp.isfile(info['seg_map_path'])
        ]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} images in {img_dir!r} '
                f'have no label, e.g. {missing[:3]}. '
                f'{self._expected_tree()}')
        self._check_orphan_labels(data_list, img_dir, ann_dir)
        self._check_record_images(data_list)
        self._check_files(data_list)
        if self.spec and len(data_list) != self.spec.num_images:
            print_log(
                f'{self.spec.name}: {len(data_list)} frames in '
                f'{self.data_root!r}; the benchmark has '
                f'{self.spec.num_images}. Numbers on a partial set are not '
                'comparable to published ones.',
                logger='current',
                level=logging.WARNING)
        return data_list
