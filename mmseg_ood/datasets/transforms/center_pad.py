"""Pad an image and its label maps to a size, centred (PEBAL's crop)."""
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ...utils.constants import IGNORE_INDEX

__all__ = ['CenterPad']


@TRANSFORMS.register_module()
class CenterPad(BaseTransform):
    """Pad the image and every label map to at least ``size``, centred.

    PEBAL pads a crop smaller than 900x900 (a frame scaled by 0.5 or 0.75)
    with ``pad // 2`` rows/columns before and the rest after, with 0 in the
    normalised image and void in the labels. MMSeg normalises later, in the
    data preprocessor, so the image padding is the normaliser's mean (in the
    image's channel order): the image becomes float32 where it is padded, and
    the padding normalises to exactly 0.

    Required Keys:

    - img
    - seg_fields (and every key listed)

    Modified Keys:

    - img, img_shape, every key of seg_fields

    Added Keys:

    - center_pad: ``(top, bottom, left, right)`` rows/columns added.

    Args:
        size (Sequence[int]): ``(height, width)`` to reach.
        img_pad_val (Sequence[float]): Per-channel image padding. Default:
            MMSeg's ImageNet mean in BGR order (the loaded image's order).
        seg_pad_val (int): Label padding. Default 255 (void).
    """

    def __init__(self,
                 size: Sequence[int],
                 img_pad_val: Sequence[float] = (103.53, 116.28, 123.675),
                 seg_pad_val: int = IGNORE_INDEX) -> None:
        super().__init__()
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f'size must be (height, width) > 0, got {size}.')
        self.size = (int(size[0]), int(size[1]))
        self.img_pad_val = tuple(float(v) for v in img_pad_val)
        self.seg_pad_val = seg_pad_val

    def _margins(self, height: int, width: int) -> Tuple[int, int, int, int]:
        pad_h = max(self.size[0] - height, 0)
        pad_w = max(self.size[1] - width, 0)
        return pad_h // 2, pad_h - pad_h // 2, pad_w // 2, pad_w - pad_w // 2

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, bottom, left, right = self._margins(*img.shape[:2])
        results['center_pad'] = (top, bottom, left, right)
        if not (top or bottom or left or right):
            return results
        channels = 1 if img.ndim == 2 else img.shape[2]
        if len(self.img_pad_val) != channels:
            raise ValueError(
                f'{results.get("img_path", "the image")} has {channels} '
                f'channels but img_pad_val has {len(self.img_pad_val)} '
                'values; give one per channel.')
        padded = np.empty((img.shape[0] + top + bottom,
                           img.shape[1] + left + right) + img.shape[2:],
                          dtype=np.float32)
        fill = np.asarray(self.img_pad_val, dtype=np.float32)
        padded[...] = fill if img.ndim == 3 else fill[0]
        padded[top:top + img.shape[0], left:left + img.shape[1]] = img
        results['img'] = padded
        results['img_shape'] = padded.shape[:2]
        for key in results.get('seg_fields', []):
            seg = results[key]
            out = np.full((seg.shape[0] + top + bottom,
                           seg.shape[1] + left + right), self.seg_pad_val,
                          dtype=seg.dtype)
            out[top:top + seg.shape[0], left:left + seg.shape[1]] = seg
            results[key] = out
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, '
                f'img_pad_val={self.img_pad_val}, '
                f'seg_pad_val={self.seg_pad_val})')
