"""Anomaly score heat maps blended on the image, with the ground truth.

:func:`anomaly_overlay` colours the score map with a colour map (turbo by
default: blue = low, dark red = high), blends it on the image, draws the
outline of the ground-truth anomalies (label 1) and hatches void pixels
(label 255) in grey. A colour bar on the right names the value range.

**Comparable pictures**: the colours map the fixed range ``[vmin, vmax]``
(scores outside are clipped). Use the same range for every image of a set,
e.g. :func:`score_range` over the set's score maps, so that the same colour
means the same score in every picture. Without a range, each picture uses
its own minimum and maximum and pictures are not comparable.

Example:
    >>> vmin, vmax = score_range(score_maps)          # once per set
    >>> picture = anomaly_overlay(image, score_maps[0], label_maps[0],
    ...                           vmin=vmin, vmax=vmax)
    >>> save_anomaly_overlay('vis/0000.png', image, score_maps[0],
    ...                      label_maps[0], vmin=vmin, vmax=vmax)
"""
import os.path as osp
from typing import Iterable, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..utils.constants import ANOMALY_EVAL_ANOMALY, IGNORE_INDEX
from ..utils.file_io import atomic_output

__all__ = [
    'COLORBAR_WIDTH', 'CONTOUR_BGR', 'VOID_BGR', 'anomaly_boundary',
    'anomaly_overlay', 'colorbar', 'colorize_scores', 'save_anomaly_overlay',
    'score_range', 'void_hatching'
]

#: Colour (BGR) of the ground-truth anomaly outline.
CONTOUR_BGR = (0, 255, 0)
#: Colour (BGR) of the void hatching stripes.
VOID_BGR = (128, 128, 128)
#: Width of the colour bar strip in pixels.
COLORBAR_WIDTH = 80
#: Hatching period in pixels (stripes along the anti-diagonal).
_HATCH_PERIOD = 8


def score_range(score_maps: Iterable[np.ndarray],
                label_maps: Optional[Iterable[np.ndarray]] = None,
                percentiles: Tuple[float, float] = (1.0, 99.0),
                ignore_index: int = IGNORE_INDEX) -> Tuple[float, float]:
    """A fixed colour range for all pictures of a set.

    Args:
        score_maps (Iterable[np.ndarray]): The set's score maps.
        label_maps (Iterable[np.ndarray], optional): Matching label maps;
            void pixels (``ignore_index``) are left out.
        percentiles (tuple[float, float]): Lower and upper percentile of the
            pooled scores. Defaults to (1, 99), robust to a few extremes.
        ignore_index (int): Void label. Defaults to 255.

    Returns:
        tuple[float, float]: ``(vmin, vmax)`` with ``vmin < vmax``.
    """
    labels = list(label_maps) if label_maps is not None else None
    pooled = []
    for i, score in enumerate(score_maps):
        score = np.asarray(score, dtype=np.float32)
        if labels is not None:
            if labels[i].shape != score.shape:
                raise ValueError(f'Score map {i} is {score.shape} but its '
                                 f'label map is {labels[i].shape}.')
            score = score[labels[i] != ignore_index]
        pooled.append(score.ravel())
    if not pooled:
        raise ValueError('score_range needs at least one score map.')
    pooled = np.concatenate(pooled)
    pooled = pooled[np.isfinite(pooled)]
    if pooled.size == 0:
        raise ValueError('score_range found no finite, non-void score.')
    vmin, vmax = np.percentile(pooled, percentiles)
    return _valid_range(float(vmin), float(vmax))


def _valid_range(vmin: float, vmax: float) -> Tuple[float, float]:
    if not (np.isfinite(vmin) and np.isfinite(vmax)):
        raise ValueError(f'Colour range ({vmin}, {vmax}) is not finite.')
    if vmax < vmin:
        raise ValueError(f'vmin={vmin} is larger than vmax={vmax}.')
    if vmax == vmin:
        vmax = vmin + 1.0
    return vmin, vmax


def colorize_scores(score_map: np.ndarray, vmin: float, vmax: float,
                    colormap: int = cv2.COLORMAP_TURBO) -> np.ndarray:
    """Colour a score map: ``vmin`` and below -> the map's first colour,
    ``vmax`` and above -> its last.

    Args:
        score_map (np.ndarray): Scores, shape (H, W).
        vmin (float): Score of the lowest colour.
        vmax (float): Score of the highest colour.
        colormap (int): OpenCV colour map. Defaults to turbo.

    Returns:
        np.ndarray: BGR uint8 image, shape (H, W, 3).
    """
    vmin, vmax = _valid_range(vmin, vmax)
    scaled = (np.asarray(score_map, dtype=np.float64) - vmin) / (vmax - vmin)
    scaled = np.nan_to_num(scaled, nan=0.0)
    levels = np.rint(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)
    return cv2.applyColorMap(levels, colormap)


def anomaly_boundary(label_map: np.ndarray, thickness: int = 1,
                     anomaly_index: int = ANOMALY_EVAL_ANOMALY) -> np.ndarray:
    """Inner outline of the anomaly regions of a label map.

    A pixel is on the outline when it is an anomaly pixel with a
    4-neighbour (inside the image) that is not. ``thickness`` > 1 widens
    the outline inwards.

    Args:
        label_map (np.ndarray): Labels (H, W), anomaly = ``anomaly_index``.
        thickness (int): Outline width in pixels. Defaults to 1.
        anomaly_index (int): Anomaly label. Defaults to 1.

    Returns:
        np.ndarray: Boolean mask (H, W).
    """
    if thickness < 1:
        raise ValueError(f'thickness must be >= 1, got {thickness}.')
    mask = (np.asarray(label_map) == anomaly_index).astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    # pixels outside the image count as anomaly: the image border is no edge
    inner = cv2.erode(mask, cross, iterations=thickness,
                      borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return (mask > 0) & (inner == 0)


def void_hatching(shape: Tuple[int, int]) -> np.ndarray:
    """Boolean mask of diagonal hatching stripes over a whole image."""
    rows, cols = np.indices(shape)
    return (rows + cols) % _HATCH_PERIOD < _HATCH_PERIOD // 4


def _as_bgr(image: np.ndarray, channel_order: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f'The image must be uint8, got {image.dtype}.')
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError('The image must be (H, W) or (H, W, 3), got '
                         f'{image.shape}.')
    if channel_order == 'rgb':
        return image[..., ::-1]
    return image


def _range_labels(vmin: float, vmax: float) -> Tuple[str, str]:
    """Shortest ``g`` formats (3 to 8 digits) that tell vmin and vmax apart.
    """
    for digits in range(3, 9):
        low, high = f'{vmin:.{digits}g}', f'{vmax:.{digits}g}'
        if low != high:
            break
    return low, high


def colorbar(height: int, vmin: float, vmax: float,
             colormap: int = cv2.COLORMAP_TURBO,
             width: int = COLORBAR_WIDTH) -> np.ndarray:
    """A vertical colour bar with ``vmax`` written at the top and ``vmin``
    at the bottom.

    Args:
        height (int): Height in pixels.
        vmin (float): Score of the bottom colour.
        vmax (float): Score of the top colour.
        colormap (int): OpenCV colour map.
        width (int): Width in pixels (the gradient takes the left 16).

    Returns:
        np.ndarray: BGR uint8 strip, shape (height, width, 3).
    """
    strip = np.full((height, width, 3), 255, dtype=np.uint8)
    gradient = np.linspace(vmax, vmin, height, dtype=np.float64)[:, None]
    bar_width = min(16, width)
    strip[:, :bar_width] = colorize_scores(
        np.repeat(gradient, bar_width, axis=1), vmin, vmax, colormap)
    scale = 0.35 if height < 256 else 0.5
    text_x = bar_width + 2
    low, high = _range_labels(vmin, vmax)
    for text, y in ((high, 12), (low, height - 4)):
        cv2.putText(strip, text, (text_x, y), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def anomaly_overlay(image: np.ndarray,
                    score_map: np.ndarray,
                    label_map: Optional[np.ndarray] = None,
                    vmin: Optional[float] = None,
                    vmax: Optional[float] = None,
                    alpha: float = 0.5,
                    channel_order: str = 'bgr',
                    colormap: int = cv2.COLORMAP_TURBO,
                    contour_color: Sequence[int] = CONTOUR_BGR,
                    contour_thickness: int = 1,
                    show_colorbar: bool = True,
                    ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Blend the coloured anomaly score on the image.

    Args:
        image (np.ndarray): uint8 image, (H, W, 3) in ``channel_order`` or
            greyscale (H, W).
        score_map (np.ndarray): Anomaly scores (H, W), higher = more
            anomalous.
        label_map (np.ndarray, optional): Labels (H, W): anomaly (1) gets an
            outline in ``contour_color``, void (``ignore_index``) grey
            hatching.
        vmin (float, optional): Score of the lowest colour. Give the same
            ``vmin``/``vmax`` for all pictures of a set (see
            :func:`score_range`); None uses this map's minimum.
        vmax (float, optional): Score of the highest colour; None uses this
            map's maximum.
        alpha (float): Weight of the heat map in the blend (0 = image only,
            1 = heat map only). Defaults to 0.5.
        channel_order (str): ``'bgr'`` (OpenCV) or ``'rgb'``; the result
            has the same order. Defaults to ``'bgr'``.
        colormap (int): OpenCV colour map. Defaults to turbo.
        contour_color (Sequence[int]): Outline colour, BGR.
        contour_thickness (int): Outline width in pixels.
        show_colorbar (bool): Append a colour bar of
            :data:`COLORBAR_WIDTH` pixels on the right with the range's
            values. Defaults to True.
        ignore_index (int): Void label. Defaults to 255.

    Returns:
        np.ndarray: uint8 picture, (H, W, 3), or (H, W + 80, 3) with the
        colour bar, in ``channel_order``.
    """
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got "
                         f'{channel_order!r}.')
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}.')
    bgr = _as_bgr(image, channel_order)
    score_map = np.asarray(score_map, dtype=np.float32)
    if score_map.shape != bgr.shape[:2]:
        raise ValueError(f'The score map is {score_map.shape} but the image '
                         f'is {bgr.shape[:2]}; score maps must have the '
                         "image's resolution.")
    finite = score_map[np.isfinite(score_map)]
    if vmin is None:
        vmin = float(finite.min()) if finite.size else 0.0
    if vmax is None:
        vmax = float(finite.max()) if finite.size else 1.0
    vmin, vmax = _valid_range(float(vmin), float(vmax))
    heat = colorize_scores(score_map, vmin, vmax, colormap)
    out = cv2.addWeighted(bgr, 1.0 - alpha, heat, alpha, 0.0)
    if label_map is not None:
        label_map = np.asarray(label_map)
        if label_map.shape != score_map.shape:
            raise ValueError(f'The label map is {label_map.shape} but the '
                             f'score map is {score_map.shape}.')
        void = label_map == ignore_index
        out[void & void_hatching(void.shape)] = VOID_BGR
        out[anomaly_boundary(label_map, contour_thickness)] = tuple(
            contour_color)
    if show_colorbar:
        out = np.concatenate(
            [out, colorbar(out.shape[0], vmin, vmax, colormap)], axis=1)
    if channel_order == 'rgb':
        out = out[..., ::-1]
    return np.ascontiguousarray(out)


def save_anomaly_overlay(out_file: str, image: Union[str, np.ndarray],
                         score_map: np.ndarray, *args, **kwargs) -> str:
    """Draw :func:`anomaly_overlay` and write it atomically as an image.

    Args:
        out_file (str): Image path (PNG recommended; the suffix picks the
            format). Its folder is created.
        image (str | np.ndarray): The image, or its file (read as BGR).
        score_map (np.ndarray): Anomaly scores (H, W).
        *args: Further arguments of :func:`anomaly_overlay`.
        **kwargs: Further keyword arguments of :func:`anomaly_overlay`
            (``channel_order`` is forced to ``'bgr'`` for a file).

    Returns:
        str: ``out_file``.
    """
    if isinstance(image, str):
        path = image
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'Cannot read image {path!r}.')
        kwargs['channel_order'] = 'bgr'
    picture = anomaly_overlay(image, score_map, *args, **kwargs)
    if kwargs.get('channel_order', 'bgr') == 'rgb':
        picture = picture[..., ::-1]
    suffix = osp.splitext(out_file)[1] or '.png'
    ok, encoded = cv2.imencode(suffix, picture)
    if not ok:
        raise ValueError(f'OpenCV cannot write {suffix!r} images '
                         f'({out_file!r}); use .png.')
    with atomic_output(out_file) as tmp:
        with open(tmp, 'wb') as f:
            f.write(encoded.tobytes())
    return out_file
