"""A random crop that keeps pasted outlier pixels inside the crop."""
import math
import numbers
from typing import Callable, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms.utils import cache_randomness
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS

from ...utils.constants import IGNORE_INDEX, OUTLIER_INDEX
from .sampling import NonzeroSampler

__all__ = [
    'RandomCropKeepOutlier'
]

# (y1, y2, x1, x2) of a crop, as MMSeg's RandomCrop returns it.
_Box = Tuple[int, int, int, int]


def _check_crop_size(crop_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(crop_size, numbers.Integral) and not isinstance(
            crop_size, bool):
        crop_size = (crop_size, crop_size)
    if (not isinstance(crop_size, (tuple, list)) or len(crop_size) != 2
            or not all(isinstance(v, numbers.Integral) and v > 0
                       for v in crop_size)):
        raise ValueError('crop_size must be a positive int or an (h, w) pair '
                         f'of positive ints, got {crop_size!r}.')
    return int(crop_size[0]), int(crop_size[1])


@TRANSFORMS.register_module()
class RandomCropKeepOutlier(RandomCrop):
    """MMSeg's ``RandomCrop`` that keeps pasted outliers inside the crop.

    When ``gt_seg_map`` holds pixels labelled ``outlier_index`` (pasted by
    ``PasteCocoObjects`` earlier in the pipeline), the crop window is drawn
    uniformly among the windows that contain at least ``need`` of them,
    where ``need = max(min_outlier_pixels, ceil(min_outlier_fraction *
    total))`` and ``total`` is the number of outlier pixels in the frame. If
    no window reaches ``need`` (a crop smaller than the object), the windows
    with the most outlier pixels are used, so a crop never loses the paste
    entirely. Without outlier pixels it draws exactly what ``RandomCrop``
    draws (same output for the same seed). ``cat_max_ratio`` works as in
    ``RandomCrop``: up to 10 redraws, from the same set of windows.

    Required Keys:

    - img
    - gt_seg_map

    Modified Keys:

    - img
    - img_shape
    - gt_seg_map (and every key of ``seg_fields``)

    Args:
        crop_size (int | tuple[int, int]): Crop ``(h, w)``, or one int for a
            square.
        cat_max_ratio (float): Largest share one class may take in the
            crop (as in ``RandomCrop``). Default 1.0: no constraint.
        ignore_index (int): Label ignored by ``cat_max_ratio``. Default 255.
        outlier_index (int): Label of pasted outlier pixels. Default 254.
        min_outlier_pixels (int): Outlier pixels a crop must contain.
            Default 1.
        min_outlier_fraction (float): Share of the frame's outlier pixels a
            crop must contain, in [0, 1]. Default 0.

    Example:
        >>> crop = dict(type='RandomCropKeepOutlier', crop_size=(512, 1024),
        ...             cat_max_ratio=0.75, min_outlier_pixels=64)
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 cat_max_ratio: float = 1.,
                 ignore_index: int = IGNORE_INDEX,
                 outlier_index: int = OUTLIER_INDEX,
                 min_outlier_pixels: int = 1,
                 min_outlier_fraction: float = 0.) -> None:
        if (not isinstance(min_outlier_pixels, numbers.Integral)
                or isinstance(min_outlier_pixels, bool)
                or min_outlier_pixels < 1):
            raise ValueError('min_outlier_pixels must be an int >= 1, got '
                             f'{min_outlier_pixels!r}.')
        if not (isinstance(min_outlier_fraction, numbers.Real)
                and 0 <= min_outlier_fraction <= 1):
            raise ValueError('min_outlier_fraction must be in [0, 1], got '
                             f'{min_outlier_fraction!r}.')
        super().__init__(
            crop_size=_check_crop_size(crop_size),
            cat_max_ratio=cat_max_ratio,
            ignore_index=ignore_index)
        self.outlier_index = outlier_index
        self.min_outlier_pixels = int(min_outlier_pixels)
        self.min_outlier_fraction = float(min_outlier_fraction)

    def _window_sampler(self, seg: np.ndarray) -> Callable[[], _Box]:
        """A function that draws one crop window of ``seg``'s frame."""
        height, width = seg.shape[:2]
        crop_h = min(self.crop_size[0], height)
        crop_w = min(self.crop_size[1], width)
        margin_h, margin_w = height - crop_h, width - crop_w
        outlier = seg == self.outlier_index
        if outlier.ndim > 2:
            outlier = outlier.any(axis=tuple(range(2, outlier.ndim)))
        rows = np.flatnonzero(outlier.any(axis=1))
        if len(rows) == 0 or (margin_h == 0 and margin_w == 0):

            def uniform() -> _Box:
                y = np.random.randint(0, margin_h + 1)
                x = np.random.randint(0, margin_w + 1)
                return y, y + self.crop_size[0], x, x + self.crop_size[1]

            return uniform

        cols = np.flatnonzero(outlier.any(axis=0))
        # Offsets of windows that touch the outliers' bounding box.
        y_lo = max(0, int(rows[0]) - crop_h + 1)
        y_hi = min(margin_h, int(rows[-1]))
        x_lo = max(0, int(cols[0]) - crop_w + 1)
        x_hi = min(margin_w, int(cols[-1]))
        part = outlier[y_lo:y_hi + crop_h, x_lo:x_hi + crop_w]
        # (h + 1, w + 1) summed-area table, int32 (outlier counts < 2**31)
        integral = cv2.integral(part.view(np.uint8), sdepth=cv2.CV_32S)
        # counts[a, b]: outlier pixels in the window at (y_lo + a, x_lo + b)
        counts = integral[crop_h:, crop_w:] - integral[:-crop_h, crop_w:]
        counts -= integral[crop_h:, :-crop_w]
        counts += integral[:-crop_h, :-crop_w]
        total = int(integral[-1, -1])
        need = max(self.min_outlier_pixels,
                   math.ceil(self.min_outlier_fraction * total))
        if need > 1:
            need = min(need, int(counts.max()))
        # A uniform draw among the valid windows, without listing them.
        draw_valid = NonzeroSampler(counts >= need)

        def keep() -> _Box:
            row, col = draw_valid()
            y, x = y_lo + row, x_lo + col
            return y, y + self.crop_size[0], x, x + self.crop_size[1]

        return keep

    @cache_randomness
    def crop_bbox(self, results: dict) -> _Box:
        """Draw a crop window ``(y1, y2, x1, x2)``.

        Args:
            results (dict): Result dict with ``gt_seg_map``.

        Returns:
            tuple: Coordinates of the crop.
        """
        draw = self._window_sampler(results['gt_seg_map'])
        box = draw()
        if self.cat_max_ratio < 1.:
            for _ in range(10):
                labels, counts = np.unique(
                    self.crop(results['gt_seg_map'], box), return_counts=True)
                counts = counts[labels != self.ignore_index]
                if len(counts) > 1 and (np.max(counts) / np.sum(counts) <
                                        self.cat_max_ratio):
                    break
                box = draw()
        return box

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio}, '
                f'ignore_index={self.ignore_index}, '
                f'outlier_index={self.outlier_index}, '
                f'min_outlier_pixels={self.min_outlier_pixels}, '
                f'min_outlier_fraction={self.min_outlier_fraction})')
