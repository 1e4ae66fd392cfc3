"""Paste COCO outlier objects into training frames (PEBAL, Balanced Energy)
"""
import os.path as osp
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

from ...utils.constants import OUTLIER_INDEX
from ..coco_ood import load_coco_ood_bank, read_coco_ood_object


@TRANSFORMS.register_module()
class PasteCocoObjects(BaseTransform):
    """Paste one COCO outlier object into the image and label it as outlier.

    With probability ``prob`` an entry of the COCO outlier bank (built by
    ``tools/dataset_converters/coco_ood.py``) is drawn uniformly, its union
    mask is cut by its tight bounding box and hard-pasted at native size at a
    uniformly random position inside the frame (the paper's policy; put the
    transform before resize and crop). Pasted pixels get ``outlier_index``
    in every segmentation field, overwriting whatever was there, void
    included. An object larger than the frame is scaled down to fit (aspect
    kept) and pasted whole.

    Randomness comes from NumPy's global generator, which MMEngine seeds
    per worker (``randomness=dict(seed=...)``).

    Required Keys:

    - img
    - seg_fields
    - gt_seg_map (and any other key listed in ``seg_fields``)

    Modified Keys:

    - img
    - gt_seg_map (and every key of ``seg_fields``)

    Added Keys:

    - ood_paste (dict or None): ``img_path`` of the pasted object and its
      box ``[x0, y0, x1, y1]`` in the frame; None when nothing was pasted.

    Args:
        data_root (str): The COCO root holding the bank.
        ann_file (str): Bank index, relative to ``data_root``.
        prob (float): Probability of pasting. The paper: about 0.1.
        outlier_index (int): Label of pasted pixels. Default 254.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'annotations/ood_seg_train2017.json',
                 prob: float = 0.1,
                 outlier_index: int = OUTLIER_INDEX) -> None:
        super().__init__()
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}.')
        self.data_root = data_root
        self.ann_file = ann_file
        self.prob = prob
        self.outlier_index = outlier_index
        self.bank = load_coco_ood_bank(
            osp.join(data_root, ann_file), data_root=data_root)

    @cache_randomness
    def _draw_entry(self) -> Optional[int]:
        """Index of the bank entry to paste, or None to paste nothing."""
        if np.random.rand() >= self.prob:
            return None
        return int(np.random.randint(len(self.bank)))

    @cache_randomness
    def _draw_position(self, free_y: int, free_x: int):
        """Uniform top-left corner with ``free_y``/``free_x`` slack."""
        return (int(np.random.randint(free_y + 1)),
                int(np.random.randint(free_x + 1)))

    @staticmethod
    def _fit(obj_img: np.ndarray, obj_mask: np.ndarray, height: int,
             width: int):
        """Scale an object down (aspect kept) so that it fits the frame."""
        h, w = obj_mask.shape
        if h <= height and w <= width:
            return obj_img, obj_mask
        scale = min(height / h, width / w)
        size = (max(1, min(width, int(w * scale))),
                max(1, min(height, int(h * scale))))
        obj_img = cv2.resize(obj_img, size, interpolation=cv2.INTER_AREA)
        obj_mask = cv2.resize(
            obj_mask.astype(np.uint8), size,
            interpolation=cv2.INTER_NEAREST).astype(bool)
        return obj_img, obj_mask

    def transform(self, results: dict) -> dict:
        """Paste an object with probability ``prob``.

        Args:
            results (dict): Result dict from the loading pipeline.

        Returns:
            dict: The result dict, pasted in place.
        """
        results['ood_paste'] = None
        index = self._draw_entry()
        if index is None:
            return results
        entry = self.bank[index]
        img = results['img']
        height, width = img.shape[:2]
        obj_img, obj_mask = self._fit(*read_coco_ood_object(entry), height,
                                      width)
        h, w = obj_mask.shape
        y0, x0 = self._draw_position(height - h, width - w)
        region = (slice(y0, y0 + h), slice(x0, x0 + w))
        img[region][obj_mask] = obj_img[obj_mask].astype(img.dtype)
        for key in results.get('seg_fields', []):
            results[key][region][obj_mask] = self.outlier_index
        results['ood_paste'] = dict(
            img_path=entry.img_path, bbox=[x0, y0, x0 + w, y0 + h])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(data_root={self.data_root!r}, '
                f'ann_file={self.ann_file!r}, prob={self.prob}, '
                f'outlier_index={self.outlier_index}, '
                f'bank_size={len(self.bank)})')
