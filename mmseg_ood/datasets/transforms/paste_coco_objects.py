"""Paste COCO outlier objects into training frames (PEBAL, Balanced Energy).

The defaults are the paper's policy (Choi et al., CVPR 2023, after PEBAL:
one COCO object, native size, uniform position, in about 10% of the
frames); every option that departs from it is off by default.
"""
import math
import numbers
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

from ...utils.constants import (
    CITYSCAPES_CLASSES,
    IGNORE_INDEX,
    OUTLIER_INDEX,
    check_label_roles,
)
from .coco_ood_bank import (
    CocoOodEntry,
    load_coco_ood_bank,
    read_coco_ood_object,
)
from .sampling import NonzeroSampler

__all__ = [
    'PasteCocoObjects'
]

#: Anchor point of the object box that lands on a placement pixel, as a
#: function of the box height and width: (row, column) inside the box.
_ANCHORS = {
    'bottom_center': lambda h, w: (h - 1, w // 2),
    'center': lambda h, w: (h // 2, w // 2),
}
_SCALE_MODES = ('native', 'frame_height')
_FALLBACKS = ('uniform', 'skip')

# (y0, x0, how) of one placed object, or None for a skipped one.
_Placement = Optional[Tuple[int, int, str]]


def _check_num_objects(
        num_objects: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """``num_objects`` as an inclusive ``(min, max)`` pair of ints >= 1."""
    if isinstance(num_objects, numbers.Integral) and not isinstance(
            num_objects, bool):
        pair = (int(num_objects), int(num_objects))
    elif (isinstance(num_objects, (tuple, list)) and len(num_objects) == 2
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                  for v in num_objects)):
        pair = (int(num_objects[0]), int(num_objects[1]))
    else:
        raise TypeError('num_objects must be an int or a (min, max) pair of '
                        f'ints, got {num_objects!r}.')
    if not 1 <= pair[0] <= pair[1]:
        raise ValueError('num_objects must satisfy 1 <= min <= max, got '
                         f'{num_objects!r}.')
    return pair


def _check_scale_range(
        scale_range: Optional[Sequence[float]]
) -> Optional[Tuple[float, float]]:
    """``scale_range`` as a ``(lo, hi)`` pair with ``0 < lo <= hi``."""
    if scale_range is None:
        return None
    if (not isinstance(scale_range, (tuple, list)) or len(scale_range) != 2
            or not all(isinstance(v, numbers.Real)
                       and not isinstance(v, bool) for v in scale_range)):
        raise TypeError('scale_range must be None or a (low, high) pair of '
                        f'numbers, got {scale_range!r}.')
    low, high = float(scale_range[0]), float(scale_range[1])
    if not (0 < low <= high and math.isfinite(high)):
        raise ValueError('scale_range must satisfy 0 < low <= high < inf, '
                         f'got {scale_range!r}.')
    return low, high


def _class_ids(classes: Optional[Union[str, int, Sequence[Union[str, int]]]],
               outlier_index: int) -> Optional[Tuple[int, ...]]:
    """Label values of ``placement_classes`` (names or ids), sorted."""
    if classes is None:
        return None
    if isinstance(classes, (str, numbers.Integral)):
        classes = [classes]
    if not isinstance(classes, (tuple, list)) or not classes:
        raise ValueError('placement_classes must be None or a non-empty list '
                         f'of class names or label ids, got {classes!r}.')
    ids = set()
    for cls in classes:
        if isinstance(cls, str):
            if cls not in CITYSCAPES_CLASSES:
                raise ValueError(
                    f'Unknown class name {cls!r} in placement_classes; use '
                    f'one of {list(CITYSCAPES_CLASSES)} or integer label '
                    'ids.')
            ids.add(CITYSCAPES_CLASSES.index(cls))
        elif isinstance(cls, numbers.Integral) and not isinstance(cls, bool):
            if not 0 <= cls <= 255 or cls == outlier_index:
                raise ValueError(
                    f'Label id {cls} in placement_classes must be in '
                    f'[0, 255] and differ from outlier_index '
                    f'{outlier_index}.')
            ids.add(int(cls))
        else:
            raise TypeError('placement_classes entries must be class names '
                            f'or int label ids, got {cls!r}.')
    return tuple(sorted(ids))


def _choice(options: Sequence[str], value: str, name: str) -> str:
    if value not in options:
        raise ValueError(f'{name} must be one of {list(options)}, got '
                         f'{value!r}.')
    return value


@TRANSFORMS.register_module()
class PasteCocoObjects(BaseTransform):
    """Paste COCO outlier objects into the image and label them as outlier.

    The defaults are the paper's policy: with probability ``prob`` one entry
    of the COCO outlier bank (built by
    ``mmseg-ood-coco-bank``) is drawn uniformly, its union
    mask is cut by its tight bounding box and hard-pasted at native size at
    a uniformly random position inside the frame (put the transform before
    resize and crop). Pasted pixels get ``outlier_index`` in every
    segmentation field, overwriting whatever was there, void included. An
    object larger than the frame is scaled down to fit (aspect kept) and
    pasted whole.

    Options (all off by default):

    - ``num_objects``: paste several bank entries (drawn independently, with
      replacement), one after the other; later ones may cover earlier ones.
    - ``scale_range``: resize each object by a factor drawn uniformly from
      ``scale_range``; the factor multiplies the native size
      (``scale_mode='native'``) or gives the object's box height as a
      fraction of the frame height (``scale_mode='frame_height'``). An
      object that would not fit the frame is scaled down to fit instead.
    - ``placement_classes``: the object's anchor (``placement_anchor``, by
      default the bottom centre of its box) lands on a pixel, drawn
      uniformly, whose label in ``results[placement_key]`` is one of these
      classes and that is not covered by an object pasted before it in the
      same frame, among the positions where the whole box fits the frame.
      If there is no such pixel, ``placement_fallback='uniform'`` places the
      object uniformly (recorded as ``'fallback'``) and ``'skip'`` drops it
      (recorded in ``skipped``).
    - ``soft_edge``: feather the image paste over ``soft_edge`` pixels
      inside the object's border. With ``d`` the Euclidean distance of an
      object pixel to the nearest non-object pixel (1 on the border), the
      object's weight is ``alpha = min(1, d / (soft_edge + 1))`` and the
      image becomes ``alpha * object + (1 - alpha) * frame``. Labels stay
      hard: ``outlier_index`` where ``alpha >= 0.5``, unchanged elsewhere.
      An object too thin to have such a pixel (a 1-pixel object with
      ``soft_edge >= 1``) is not pasted and is recorded in ``skipped``
      (``'too_thin_for_soft_edge'``), so every pasted object is labelled.

    The frame must be a 3-channel (BGR) image and every segmentation field
    a label map of its height and width; anything else stops with the
    image's path and the fix.

    Put the transform after ``RandomResize``/``RandomCrop`` to paste into the
    crop; or keep it first and use ``RandomCropKeepOutlier`` instead of
    ``RandomCrop`` so that crops keep the pasted pixels.

    Randomness comes from NumPy's global generator, which MMEngine seeds
    per worker (``randomness=dict(seed=...)``), so seeded runs reproduce.

    Required Keys:

    - img
    - seg_fields
    - gt_seg_map (and any other key listed in ``seg_fields``)

    Modified Keys:

    - img
    - gt_seg_map (and every key of ``seg_fields``)

    Added Keys:

    - ood_paste (dict or None): None when the ``prob`` draw pastes nothing.
      Otherwise ``objects``, one dict per pasted object in paste order
      (``img_path``; ``bbox`` ``[x0, y0, x1, y1]`` in the frame; ``scale``,
      the resize factor applied to the bank object; ``placement``, one of
      ``'uniform'``, ``'class'``, ``'fallback'``; ``anchor`` ``[x, y]`` or
      None for uniform placement), ``skipped``, one dict (``img_path``,
      ``reason``) per drawn object that was not pasted, and ``img_path`` and
      ``bbox`` of the first pasted object (None if none was pasted).

    Args:
        data_root (str): The COCO root holding the bank.
        ann_file (str): Bank index, relative to ``data_root``.
        prob (float): Probability that a frame gets pasted objects. The
            paper: about 0.1.
        outlier_index (int): Label of pasted pixels. Default 254. It must
            differ from ``ignore_index`` and lie above the inlier classes
            (:func:`~mmseg_ood.utils.constants.check_label_roles`; the
            training run checks it against the model's heads and losses).
        num_objects (int | tuple[int, int]): Objects per pasted frame, or an
            inclusive ``(min, max)`` range drawn uniformly. Default 1.
        scale_range (tuple[float, float], optional): Range of the random
            scale factor. Default None: native size.
        scale_mode (str): ``'native'`` or ``'frame_height'``, see above.
            Default ``'native'``.
        placement_classes (str | int | Sequence, optional): Cityscapes class
            names (``CITYSCAPES_CLASSES``) or label ids the anchor must land
            on. Default None: uniform placement in the full frame.
        placement_anchor (str): ``'bottom_center'`` or ``'center'`` of the
            object box. Default ``'bottom_center'``.
        placement_fallback (str): ``'uniform'`` or ``'skip'``, what to do
            when the frame has no pixel of ``placement_classes`` where the
            object fits. Default ``'uniform'``.
        placement_key (str): Label map read for placement. Default
            ``'gt_seg_map'``.
        soft_edge (int): Feather width in pixels; 0 pastes hard (the
            paper). Default 0.
        num_classes (int, optional): Number of inlier classes, to check
            ``outlier_index`` against here; None leaves the check to the
            run (``mmseg-ood-train`` checks it against the model's heads).
        ignore_index (int): Void label of the label maps. Default 255.

    Example:
        >>> paste = dict(type='PasteCocoObjects', data_root='data/coco',
        ...              prob=0.5, num_objects=(1, 3), scale_range=(0.5, 1.5),
        ...              placement_classes=('road', 'sidewalk'), soft_edge=3)
    """

    #: It writes ``outlier_index`` into the label maps: an outlier source
    #: for the checks of ``OutlierExposureCheckHook`` (a transform of your
    #: own that pastes outliers sets this too).
    writes_outlier_label = True

    def __init__(self,
                 data_root: str,
                 ann_file: str = 'annotations/ood_seg_train2017.json',
                 prob: float = 0.1,
                 outlier_index: int = OUTLIER_INDEX,
                 num_objects: Union[int, Tuple[int, int]] = 1,
                 scale_range: Optional[Tuple[float, float]] = None,
                 scale_mode: str = 'native',
                 placement_classes: Optional[Sequence[Union[str,
                                                            int]]] = None,
                 placement_anchor: str = 'bottom_center',
                 placement_fallback: str = 'uniform',
                 placement_key: str = 'gt_seg_map',
                 soft_edge: int = 0,
                 num_classes: Optional[int] = None,
                 ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        check_label_roles(outlier_index, ignore_index, num_classes,
                          where='PasteCocoObjects')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}.')
        if (not isinstance(soft_edge, numbers.Integral)
                or isinstance(soft_edge, bool) or soft_edge < 0):
            raise ValueError('soft_edge must be an int >= 0 (feather width '
                             f'in pixels), got {soft_edge!r}.')
        self.data_root = data_root
        self.ann_file = ann_file
        self.prob = prob
        self.outlier_index = outlier_index
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.num_objects = _check_num_objects(num_objects)
        self.scale_range = _check_scale_range(scale_range)
        self.scale_mode = _choice(_SCALE_MODES, scale_mode, 'scale_mode')
        self.placement_classes = placement_classes
        self.placement_ids = _class_ids(placement_classes, outlier_index)
        self.placement_anchor = _choice(
            tuple(_ANCHORS), placement_anchor, 'placement_anchor')
        self.placement_fallback = _choice(_FALLBACKS, placement_fallback,
                                          'placement_fallback')
        self.placement_key = placement_key
        self.soft_edge = int(soft_edge)
        self.bank = load_coco_ood_bank(
            osp.join(data_root, ann_file), data_root=data_root)

    # ------------------------------------------------------------------
    # Random draws (each cached as a whole under cache_random_params)
    # ------------------------------------------------------------------

    @cache_randomness
    def _draw_plan(self) -> Optional[List[Tuple[int, Optional[float]]]]:
        """Bank indices and scale draws to paste, or None to paste nothing.

        The paper's policy draws ``rand()``, then ``randint(len(bank))``.
        """
        if np.random.rand() >= self.prob:
            return None
        low, high = self.num_objects
        count = low if low == high else int(np.random.randint(low, high + 1))
        plan = []
        for _ in range(count):
            index = int(np.random.randint(len(self.bank)))
            scale = None
            if self.scale_range is not None:
                lo, hi = self.scale_range
                scale = lo if lo == hi else float(np.random.uniform(lo, hi))
            plan.append((index, scale))
        return plan

    @cache_randomness
    def _draw_placements(self, masks: Sequence[np.ndarray], height: int,
                         width: int,
                         allowed: Optional[np.ndarray]) -> List[_Placement]:
        """Top-left corners of the objects, in paste order.

        Args:
            masks (Sequence[np.ndarray]): Bool masks of the objects, each
                fitting the frame.
            height (int): Frame height.
            width (int): Frame width.
            allowed (np.ndarray, optional): uint8 map, 1 on the pixels of
                the placement classes; updated in place (pixels covered by
                an object are set to 0). None for uniform placement.

        Returns:
            list: ``(y0, x0, how)`` per object with ``how`` in ``'uniform'``,
            ``'class'``, ``'fallback'``; None for a skipped object.
        """
        placements = []
        for mask in masks:
            h, w = mask.shape
            if allowed is not None:
                dy, dx = _ANCHORS[self.placement_anchor](h, w)
                # Anchor pixels for which the whole box fits the frame: the
                # row/column of a candidate in this window is y0/x0.
                draw = NonzeroSampler(
                    allowed[dy:height - h + dy + 1, dx:width - w + dx + 1])
                if len(draw):
                    y0, x0 = draw()
                    allowed[y0:y0 + h, x0:x0 + w][mask] = 0
                    placements.append((y0, x0, 'class'))
                    continue
                if self.placement_fallback == 'skip':
                    placements.append(None)
                    continue
            y0 = int(np.random.randint(height - h + 1))
            x0 = int(np.random.randint(width - w + 1))
            how = 'uniform' if allowed is None else 'fallback'
            if allowed is not None:
                # later class-placed objects must not anchor on this one
                allowed[y0:y0 + h, x0:x0 + w][mask] = 0
            placements.append((y0, x0, how))
        return placements

    # ------------------------------------------------------------------
    # Geometry and pixels
    # ------------------------------------------------------------------

    def _scale_factor(self, scale: Optional[float], obj_height: int,
                      frame_height: int) -> float:
        """Resize factor of an object of box height ``obj_height``."""
        if scale is None:
            return 1.0
        if self.scale_mode == 'frame_height':
            return scale * frame_height / obj_height
        return scale

    @staticmethod
    def _resize_object(obj_img: np.ndarray, obj_mask: np.ndarray,
                       factor: float, height: int, width: int):
        """Resize an object by ``factor``, or less so that it fits the frame.

        Returns:
            tuple: ``(image, mask, applied_factor)``.
        """
        h, w = obj_mask.shape
        fit = min(height / h, width / w)
        if factor == 1.0 and fit >= 1.0:
            return obj_img, obj_mask, 1.0
        scale = min(factor, fit)
        size = (max(1, min(width, int(w * scale))),
                max(1, min(height, int(h * scale))))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        obj_img = cv2.resize(obj_img, size, interpolation=interpolation)
        obj_mask = cv2.resize(
            obj_mask.astype(np.uint8), size,
            interpolation=cv2.INTER_NEAREST).astype(bool)
        return obj_img, obj_mask, scale

    @staticmethod
    def _feather(obj_mask: np.ndarray, soft_edge: int) -> np.ndarray:
        """Object weight ``min(1, d / (soft_edge + 1))`` (0 off the mask)."""
        padded = np.pad(obj_mask.astype(np.uint8), 1)
        dist = cv2.distanceTransform(padded, cv2.DIST_L2,
                                     cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        return np.minimum(dist / np.float32(soft_edge + 1), np.float32(1))

    def _check_frame(self, results: dict) -> None:
        """A 3-channel image and label maps of its size, or an error naming
        the image."""
        img = results['img']
        where = results.get('img_path') or 'the frame'
        if img.ndim != 3 or img.shape[2] != 3:
            channels = 1 if img.ndim == 2 else img.shape[-1]
            raise ValueError(
                f'PasteCocoObjects: {where} has {channels} channel(s) (shape '
                f'{img.shape}); the COCO objects are 3-channel BGR. Load the '
                "frames as colour images: LoadImageFromFile(color_type="
                "'color'), the default.")
        for key in results.get('seg_fields', []):
            seg = results.get(key)
            if seg is None or seg.shape != img.shape[:2]:
                raise ValueError(
                    f'PasteCocoObjects: results[{key!r}] of {where} has shape '
                    f'{None if seg is None else seg.shape}, the image '
                    f'{img.shape[:2]}; a label map must match its image. Put '
                    'the transform after LoadAnnotations and before any '
                    'transform that changes one without the other.')

    def _paste_one(self, results: dict, obj_img: np.ndarray,
                   obj_mask: np.ndarray, alpha: Optional[np.ndarray],
                   y0: int, x0: int) -> None:
        """Write one object into the image and every seg field, in place."""
        h, w = obj_mask.shape
        region = (slice(y0, y0 + h), slice(x0, x0 + w))
        img = results['img']
        if alpha is not None:
            label_mask = alpha >= 0.5
            weight = alpha[obj_mask][:, None]
            background = img[region][obj_mask].astype(np.float32)
            blended = background + weight * (
                obj_img[obj_mask].astype(np.float32) - background)
            if np.issubdtype(img.dtype, np.integer):
                blended = np.rint(blended)
            img[region][obj_mask] = blended.astype(img.dtype)
        else:
            img[region][obj_mask] = obj_img[obj_mask].astype(img.dtype)
            label_mask = obj_mask
        for key in results.get('seg_fields', []):
            results[key][region][label_mask] = self.outlier_index

    def _allowed_mask(self, results: dict) -> np.ndarray:
        """uint8 map, 1 where the label is a placement class, else 0."""
        if self.placement_key not in results:
            raise KeyError(
                f'PasteCocoObjects: placement_classes needs the label map '
                f'results[{self.placement_key!r}]; put the transform after '
                'LoadAnnotations or set placement_key.')
        labels = results[self.placement_key]
        if labels.dtype == np.uint8 and labels.ndim == 2:
            lut = np.zeros(256, dtype=np.uint8)
            lut[list(self.placement_ids)] = 1
            return cv2.LUT(labels, lut)  # 10x faster than lut[labels]
        return np.isin(labels, self.placement_ids).view(np.uint8)

    def transform(self, results: dict) -> dict:
        """Paste objects with probability ``prob``.

        Args:
            results (dict): Result dict from the loading pipeline.

        Returns:
            dict: The result dict, pasted in place.
        """
        results['ood_paste'] = None
        plan = self._draw_plan()
        if plan is None:
            return results
        self._check_frame(results)
        height, width = results['img'].shape[:2]
        objects: List[Tuple[CocoOodEntry, np.ndarray, np.ndarray,
                            Optional[np.ndarray], float]] = []
        skipped: List[Dict[str, str]] = []
        for index, scale in plan:
            entry = self.bank[index]
            obj_img, obj_mask = read_coco_ood_object(entry)
            factor = self._scale_factor(scale, obj_mask.shape[0], height)
            obj_img, obj_mask, applied = self._resize_object(
                obj_img, obj_mask, factor, height, width)
            if not obj_mask.any():
                skipped.append(
                    dict(img_path=entry.img_path, reason='empty_after_resize'))
                continue
            alpha = None
            if self.soft_edge:
                alpha = self._feather(obj_mask, self.soft_edge)
                if not (alpha >= 0.5).any():
                    skipped.append(
                        dict(img_path=entry.img_path,
                             reason='too_thin_for_soft_edge'))
                    continue
            objects.append((entry, obj_img, obj_mask, alpha, applied))
        allowed = (None if self.placement_ids is None else
                   self._allowed_mask(results))
        placements = self._draw_placements([obj[2] for obj in objects],
                                           height, width, allowed)
        records = []
        for (entry, obj_img, obj_mask, alpha, applied), place in zip(
                objects, placements):
            if place is None:
                skipped.append(
                    dict(img_path=entry.img_path, reason='no_placement_pixel'))
                continue
            y0, x0, how = place
            self._paste_one(results, obj_img, obj_mask, alpha, y0, x0)
            h, w = obj_mask.shape
            anchor = None
            if how == 'class':
                dy, dx = _ANCHORS[self.placement_anchor](h, w)
                anchor = [x0 + dx, y0 + dy]
            records.append(
                dict(img_path=entry.img_path, bbox=[x0, y0, x0 + w, y0 + h],
                     scale=applied, placement=how, anchor=anchor))
        first = records[0] if records else dict(img_path=None, bbox=None)
        results['ood_paste'] = dict(
            img_path=first['img_path'], bbox=first['bbox'], objects=records,
            skipped=skipped)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(data_root={self.data_root!r}, '
                f'ann_file={self.ann_file!r}, prob={self.prob}, '
                f'outlier_index={self.outlier_index}, '
                f'num_objects={self.num_objects}, '
                f'scale_range={self.scale_range}, '
                f'scale_mode={self.scale_mode!r}, '
                f'placement_classes={self.placement_classes!r}, '
                f'placement_anchor={self.placement_anchor!r}, '
                f'placement_fallback={self.placement_fallback!r}, '
                f'placement_key={self.placement_key!r}, '
                f'soft_edge={self.soft_edge}, '
                f'num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, '
                f'bank_size={len(self.bank)})')
