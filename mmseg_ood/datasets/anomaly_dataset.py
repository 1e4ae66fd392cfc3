"""Anomaly evaluation sets in the processed ``original/``+``labels/`` layout.
"""
import os.path as osp
from typing import List

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..utils.constants import IGNORE_INDEX


class AnomalyDataset(BaseSegDataset):
    """Base of the anomaly evaluation sets (labels 0 inlier, 1 anomaly, 255).

    The layout is the processed copy that SynBoost and PEBAL distribute::

        <data_root>/original/<name><img_suffix>
        <data_root>/labels/<name><seg_map_suffix>

    Unlike MMSeg's base class it fails with a clear error when a folder is
    missing, holds no image, or an image has no label.
    """
    METAINFO = dict(
        classes=('inlier', 'anomaly'), palette=[[0, 0, 0], [255, 0, 0]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='original', seg_map_path='labels'),
                 ignore_index: int = IGNORE_INDEX,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            ignore_index=ignore_index,
            **kwargs)

    def _expected_tree(self) -> str:
        return (f'{type(self).__name__} expects:\n'
                f"  {self.data_prefix.get('img_path')}/*{self.img_suffix}"
                '   (images)\n'
                f"  {self.data_prefix.get('seg_map_path')}/*"
                f'{self.seg_map_suffix}   (labels: 0 inlier, 1 anomaly, '
                f'{self.ignore_index} void)')

    def load_data_list(self) -> List[dict]:
        """List image/label pairs and check that the layout is complete."""
        img_dir = self.data_prefix.get('img_path')
        ann_dir = self.data_prefix.get('seg_map_path')
        for folder in (img_dir, ann_dir):
            if not folder or not osp.isdir(folder):
                raise FileNotFoundError(
                    f'Folder {folder!r} does not exist (data_root='
                    f'{self.data_root!r}). {self._expected_tree()}')
        data_list = super().load_data_list()
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

    Example:
        >>> dataset = dict(type='FishyscapesDataset',
        ...                data_root='data/fishyscapes/LostAndFound')
    """


@DATASETS.register_module()
class RoadAnomalyDataset(AnomalyDataset):
    """Road Anomaly (Lis et al. 2019), processed copy: JPEG frames.

    Example:
        >>> dataset = dict(type='RoadAnomalyDataset',
        ...                data_root='data/road_anomaly')
    """

    def __init__(self, img_suffix: str = '.jpg', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, **kwargs)
