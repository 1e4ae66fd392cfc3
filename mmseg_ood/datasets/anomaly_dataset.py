"""Anomaly evaluation sets in the processed ``original/``+``labels/`` layout.

The converters in :mod:`mmseg_ood.datasets.converters` write this layout
plus a ``DATASET.json`` record; the processed copies that SynBoost and PEBAL
distribute have the same layout without the record. The dataset puts the
set's name and version (for Fishyscapes Static) into its ``metainfo``
(``set_name``, ``set_version``) so that results can say what they were
measured on.
"""
import os.path as osp
from typing import List, Optional

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..utils.constants import IGNORE_INDEX
from .converters.common import DATASET_RECORD, read_dataset_record


class AnomalyDataset(BaseSegDataset):
    """Base of the anomaly evaluation sets (labels 0 inlier, 1 anomaly, 255).

    The layout is the processed copy that SynBoost and PEBAL distribute::

        <data_root>/original/<name><img_suffix>
        <data_root>/labels/<name><seg_map_suffix>
        <data_root>/DATASET.json          optional, written by the converters

    Unlike MMSeg's base class it fails with a clear error when a folder is
    missing, holds no image, or an image has no label.

    Args:
        img_suffix: Suffix of the images. Defaults to the ``img_suffix``
            in ``DATASET.json`` (the converters record the frames'
            format there), else to the class default
            (:attr:`DEFAULT_IMG_SUFFIX`).
        set_name: Name of the set reported in ``metainfo['set_name']``.
            Defaults to the ``name`` in ``DATASET.json``, else to the class
            default (:attr:`DEFAULT_SET_NAME`).
        **kwargs: Arguments of MMSeg's ``BaseSegDataset``.
    """
    METAINFO = dict(
        classes=('inlier', 'anomaly'), palette=[[0, 0, 0], [255, 0, 0]])
    #: ``set_name`` when neither the config nor a record names the set.
    DEFAULT_SET_NAME = 'anomaly set'
    #: ``img_suffix`` when neither the config nor a record gives it.
    DEFAULT_IMG_SUFFIX = '.png'

    def __init__(self,
                 img_suffix: Optional[str] = None,
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='original', seg_map_path='labels'),
                 ignore_index: int = IGNORE_INDEX,
                 set_name: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        record = None
        data_root = kwargs.get('data_root')
        if data_root and self._reads_record():
            record = read_dataset_record(data_root)
        set_info = dict(
            set_name=set_name or (record or {}).get('name')
            or self.DEFAULT_SET_NAME,
            set_version=(record or {}).get('version'))
        if img_suffix is None:
            img_suffix = self._recorded_img_suffix(record, data_root)
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            ignore_index=ignore_index,
            metainfo={**set_info, **(metainfo or {})},
            **kwargs)

    def _reads_record(self) -> bool:
        """Whether ``data_root`` may hold a converter's ``DATASET.json``."""
        return True

    def _default_img_suffix(self) -> str:
        """``img_suffix`` of a folder without a record."""
        return self.DEFAULT_IMG_SUFFIX

    def _recorded_img_suffix(self, record: Optional[dict],
                             data_root: Optional[str]) -> str:
        """The record's ``img_suffix``, else the default one."""
        suffix = (record or {}).get('img_suffix')
        if suffix is None:
            return self._default_img_suffix()
        if not isinstance(suffix, str) or not suffix.startswith('.'):
            raise ValueError(
                f'{osp.join(data_root, DATASET_RECORD)} has img_suffix='
                f'{suffix!r}, not a file suffix such as ".jpg"; re-run the '
                'converter with --overwrite or pass img_suffix in the '
                'dataset config.')
        return suffix

    def _expected_tree(self) -> str:
        return (f'{type(self).__name__} expects:\n'
                f"  {self.data_prefix.get('img_path')}/*{self.img_suffix}"
                '   (images)\n'
                f"  {self.data_prefix.get('seg_map_path')}/*"
                f'{self.seg_map_suffix}   (labels: 0 inlier, 1 anomaly, '
                f'{self.ignore_index} void)')

    def _select(self, data_list: List[dict]) -> List[dict]:
        """Keep the images of the set (all of them here)."""
        return data_list

    def load_data_list(self) -> List[dict]:
        """List image/label pairs and check that the layout is complete."""
        img_dir = self.data_prefix.get('img_path')
        ann_dir = self.data_prefix.get('seg_map_path')
        for folder in (img_dir, ann_dir):
            if not folder or not osp.isdir(folder):
                raise FileNotFoundError(
                    f'Folder {folder!r} does not exist (data_root='
                    f'{self.data_root!r}). {self._expected_tree()}')
        data_list = self._select(super().load_data_list())
        if not data_list:
            raise FileNotFoundError(
                f'No *{self.img_suffix} image in {img_dir!r}. '
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
        return data_list


@DATASETS.register_module()
class FishyscapesDataset(AnomalyDataset):
    """Fishyscapes Lost & Found or Static (processed copy), 2048x1024 PNG.

    ``tools/dataset_converters/fishyscapes.py`` builds the processed copy
    from the public releases; its ``DATASET.json`` names the set and, for
    Static, the version (``metainfo['set_version']``).

    Example:
        >>> dataset = dict(type='FishyscapesDataset',
        ...                data_root='data/fishyscapes/LostAndFound')
    """
    DEFAULT_SET_NAME = 'Fishyscapes'


@DATASETS.register_module()
class RoadAnomalyDataset(AnomalyDataset):
    """Road Anomaly (Lis et al. 2019), processed copy: JPEG frames (or
    the format that ``DATASET.json`` records, e.g. ``.webp``).

    Example:
        >>> dataset = dict(type='RoadAnomalyDataset',
        ...                data_root='data/road_anomaly')
    """
    DEFAULT_SET_NAME = 'Road Anomaly'
    DEFAULT_IMG_SUFFIX = '.jpg'
