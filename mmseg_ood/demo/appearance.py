"""Class appearances of the SYNTHETIC demo world.

Everything here draws made-up textures; nothing comes from Cityscapes, COCO or
any other real data set. Each of the 19 Cityscapes train-ID classes has one
appearance function with the signature::

    texture(rng, height, width, coords=None) -> float32 array (H, W, 3), RGB

that returns an unclipped RGB texture in [0, 255]. ``coords`` optionally gives
the pattern coordinates ``(cx, cy)`` (two float arrays of shape (H, W), in
units of the pattern period) so that a street scene can lay windows, paving
tiles or fence slats out in perspective; without it the pattern runs in pixel
coordinates. Every texture is noisy so a class is never one flat colour.

Auxiliary outliers (the synthetic COCO objects) and the anomalies of the
synthetic evaluation sets reuse these functions: an outlier *looks like* an
inlier class drawn from :data:`OUTLIER_APPEARANCE_PRIOR`, plus a novel tint
and pattern (:func:`novel_texture`), which reproduces the class imbalance that
Choi et al. (CVPR 2023) observe.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmseg_ood.models.losses.balanced_energy_loss import sharpen_prior
from mmseg_ood.utils.constants import (
    CITYSCAPES_CLASSES,
    PAPER_CITYSCAPES_PRIOR,
)

__all__ = [
    'APPEARANCES', 'OUTLIER_APPEARANCE_GAMMA', 'OUTLIER_APPEARANCE_PRIOR',
    'Coords', 'TextureFn', 'class_texture', 'make_outlier_object',
    'novel_texture', 'outlier_polygons', 'polygons_mask',
    'sample_appearance_class', 'smooth_noise', 'texture_bicycle',
    'texture_building', 'texture_bus', 'texture_car', 'texture_fence',
    'texture_motorcycle', 'texture_person', 'texture_pole', 'texture_rider',
    'texture_road', 'texture_sidewalk', 'texture_sky', 'texture_terrain',
    'texture_traffic_light', 'texture_traffic_sign', 'texture_train',
    'texture_truck', 'texture_vegetation', 'texture_wall'
]

Coords = Optional[Tuple[np.ndarray, np.ndarray]]
TextureFn = Callable[[np.random.Generator, int, int, Coords], np.ndarray]


#: Power that sharpens the paper's prior into the appearance distribution.
OUTLIER_APPEARANCE_GAMMA = 3.0

#: Distribution over the 19 train IDs of the class an outlier object *looks
#: like*: :data:`~mmseg_ood.utils.constants.PAPER_CITYSCAPES_PRIOR` raised to
#: the power :data:`OUTLIER_APPEARANCE_GAMMA` (the paper's gamma) and
#: renormalised. It is strongly imbalanced: person 0.29, road 0.29,
#: truck 0.14, building 0.10, terrain 0.08, car 0.05, vegetation 0.04; the
#: top three hold about 72 % of the mass, the twelve rarest under 2 %.
OUTLIER_APPEARANCE_PRIOR = tuple(
    float(p) for p in sharpen_prior(
        np.asarray(PAPER_CITYSCAPES_PRIOR), OUTLIER_APPEARANCE_GAMMA))


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------
def _jitter(rng: np.random.Generator, rgb: Sequence[float],
            amount: float) -> np.ndarray:
    """Perturb a base colour by a uniform offset per channel."""
    return np.asarray(rgb, np.float32) + rng.uniform(
        -amount, amount, 3).astype(np.float32)


def _fill(h: int, w: int, rgb: np.ndarray) -> np.ndarray:
    """An (h, w, 3) float32 image of one colour."""
    return np.broadcast_to(np.asarray(rgb, np.float32), (h, w, 3)).copy()


def _noise(rng: np.random.Generator, h: int, w: int,
           sigma: float) -> np.ndarray:
    """Per-pixel grain (luminance only), shape (h, w, 1)."""
    return rng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(sigma)


def smooth_noise(rng: np.random.Generator, h: int, w: int,
                 cell: float) -> np.ndarray:
    """Zero-mean, unit-ish variance noise smooth over ``cell`` pixels.

    Args:
        rng: Random generator.
        h: Height in pixels.
        w: Width in pixels.
        cell: Correlation length in pixels.

    Returns:
        np.ndarray: float32 array of shape (h, w, 1).
    """
    gh = max(2, int(np.ceil(h / cell)) + 1)
    gw = max(2, int(np.ceil(w / cell)) + 1)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]


def _coords(h: int, w: int, coords: Coords, px: float,
            py: float) -> Tuple[np.ndarray, np.ndarray]:
    """Pattern coordinates: given ones, or pixel coordinates / period."""
    if coords is not None:
        return coords
    cx = np.broadcast_to(np.arange(w, dtype=np.float32)[None] / px, (h, w))
    cy = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None] / py, (h, w))
    return cx, cy


def _norm_yx(h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """Normalised row and column coordinates in [0, 1], shape (h, w)."""
    ny = np.broadcast_to(
        np.linspace(0, 1, h, dtype=np.float32)[:, None], (h, w))
    nx = np.broadcast_to(
        np.linspace(0, 1, w, dtype=np.float32)[None], (h, w))
    return ny, nx


def _frac(a: np.ndarray) -> np.ndarray:
    return a - np.floor(a)


def _random_hue(rng: np.random.Generator, sat: Tuple[float, float],
                val: Tuple[float, float]) -> np.ndarray:
    """A random saturated RGB colour in [0, 255]."""
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*sat) * 255,
                      rng.uniform(*val) * 255]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _pick(rng: np.random.Generator, options: Sequence) -> np.ndarray:
    return np.asarray(options[int(rng.integers(len(options)))], np.float32)


# ----------------------------------------------------------------------------
# one appearance function per train-ID class
# ----------------------------------------------------------------------------
def texture_road(rng: np.random.Generator,
                 h: int,
                 w: int,
                 coords: Coords = None) -> np.ndarray:
    """Dark grey asphalt with patchy tar and fine grain."""
    img = _fill(h, w, _jitter(rng, (86, 86, 91), 8))
    img += smooth_noise(rng, h, w, 24) * 7 + smooth_noise(rng, h, w, 5) * 4
    img -= (smooth_noise(rng, h, w, 40) > 1.1) * 14.0
    return img + _noise(rng, h, w, 5)


def texture_sidewalk(rng: np.random.Generator,
                     h: int,
                     w: int,
                     coords: Coords = None) -> np.ndarray:
    """Pinkish-grey paving slabs with darker joints."""
    cx, cy = _coords(h, w, coords, 7.0, 7.0)
    img = _fill(h, w, _jitter(rng, (172, 153, 150), 10))
    table = rng.normal(0, 7, 97).astype(np.float32)
    tile = (np.floor(cx).astype(np.int64) * 31 +
            np.floor(cy).astype(np.int64) * 17) % 97
    img += table[tile][..., None]
    joint = (_frac(cx) < 0.1) | (_frac(cy) < 0.1)
    img -= joint[..., None] * 38.0
    return img + _noise(rng, h, w, 6)


_BUILDING_COLOURS = ((192, 172, 142), (152, 84, 62), (140, 140, 146),
                     (204, 192, 170), (120, 110, 100))


def texture_building(rng: np.random.Generator,
                     h: int,
                     w: int,
                     coords: Coords = None) -> np.ndarray:
    """Facade colour with a regular grid of dark blue-grey windows."""
    cx, cy = _coords(h, w, coords, 9.0, 11.0)
    img = _fill(h, w, _jitter(rng, _pick(rng, _BUILDING_COLOURS), 12))
    img += smooth_noise(rng, h, w, 12) * 6
    fx, fy = _frac(cx), _frac(cy)
    window = (fx > 0.28) & (fx < 0.72) & (fy > 0.3) & (fy < 0.8)
    glass = _jitter(rng, (55, 66, 88), 10) + (fy[..., None] - 0.5) * 30
    img = np.where(window[..., None], glass, img)
    return img + _noise(rng, h, w, 5)


def texture_wall(rng: np.random.Generator,
                 h: int,
                 w: int,
                 coords: Coords = None) -> np.ndarray:
    """Yellowish concrete blocks in a staggered bond with light mortar."""
    cx, cy = _coords(h, w, coords, 12.0, 5.0)
    img = _fill(h, w, _jitter(rng, (176, 168, 140), 10))
    row = np.floor(cy)
    shifted = cx + 0.5 * (row % 2)
    mortar = (_frac(cy) < 0.16) | (_frac(shifted) < 0.07)
    img += mortar[..., None] * 28.0
    img += smooth_noise(rng, h, w, 8) * 5
    return img + _noise(rng, h, w, 5)


def texture_fence(rng: np.random.Generator,
                  h: int,
                  w: int,
                  coords: Coords = None) -> np.ndarray:
    """Brown or green vertical slats over dark gaps, with a rail."""
    cx, cy = _coords(h, w, coords, 5.0, 20.0)
    slat = _pick(rng, ((124, 96, 70), (66, 92, 66), (150, 150, 150)))
    img = _fill(h, w, _jitter(rng, slat, 10))
    gap = _frac(cx) > 0.55
    rail = _frac(cy) < 0.12
    img = np.where((gap & ~rail)[..., None], _jitter(rng, (46, 48, 44), 6),
                   img)
    return img + _noise(rng, h, w, 5)


def texture_pole(rng: np.random.Generator,
                 h: int,
                 w: int,
                 coords: Coords = None) -> np.ndarray:
    """Metallic grey with cylindrical shading across its width."""
    _, nx = _norm_yx(h, w)
    shade = 1.0 - 0.9 * (2 * nx - 1)**2
    img = _fill(h, w, _jitter(rng, (118, 120, 126), 10))
    img = img * (0.65 + 0.5 * shade[..., None])
    return img + _noise(rng, h, w, 4)


def texture_traffic_light(rng: np.random.Generator,
                          h: int,
                          w: int,
                          coords: Coords = None) -> np.ndarray:
    """Black housing with three lamps stacked vertically, one lit."""
    img = _fill(h, w, _jitter(rng, (30, 32, 30), 6))
    lamps = ((232, 40, 30), (242, 172, 24), (40, 224, 96))
    lit = int(rng.integers(3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    radius = max(1.0, 0.36 * min(w, h / 3.0))
    for k, colour in enumerate(lamps):
        cy = h * (2 * k + 1) / 6.0
        disc = (yy - cy)**2 + (xx - w / 2.0)**2 <= radius**2
        c = np.asarray(colour, np.float32) * (1.0 if k == lit else 0.35)
        img[disc] = c
    return img + _noise(rng, h, w, 4)


def texture_traffic_sign(rng: np.random.Generator,
                         h: int,
                         w: int,
                         coords: Coords = None) -> np.ndarray:
    """Saturated red, blue or yellow plate with a white centre symbol."""
    kind = int(rng.integers(3))
    plate = ((205, 30, 32), (32, 64, 182), (236, 196, 30))[kind]
    img = _fill(h, w, _jitter(rng, plate, 10))
    ny, nx = _norm_yx(h, w)
    if kind == 0:
        inner = (ny - 0.5)**2 + (nx - 0.5)**2 < 0.09
    elif kind == 1:
        inner = (np.abs(ny - 0.5) < 0.12) & (np.abs(nx - 0.5) < 0.32)
    else:
        inner = np.abs(ny - 0.5) + np.abs(nx - 0.5) < 0.25
    img[inner] = _jitter(rng, (238, 238, 236), 6)
    return img + _noise(rng, h, w, 4)


def texture_vegetation(rng: np.random.Generator,
                       h: int,
                       w: int,
                       coords: Coords = None) -> np.ndarray:
    """Mottled foliage green with dark shadows and leafy speckle."""
    img = _fill(h, w, _jitter(rng, (62, 108, 42), 10))
    leaf = smooth_noise(rng, h, w, 10) * 16 + smooth_noise(rng, h, w, 2.5) * 16
    img += leaf * np.array([0.6, 1.0, 0.4], np.float32)
    img *= np.where(smooth_noise(rng, h, w, 18) < -0.7, 0.6, 1.0)
    return img + _noise(rng, h, w, 6)


def texture_terrain(rng: np.random.Generator,
                    h: int,
                    w: int,
                    coords: Coords = None) -> np.ndarray:
    """Yellow-green, brownish grass with vertical blade streaks."""
    img = _fill(h, w, _jitter(rng, (150, 146, 82), 12))
    streak = rng.standard_normal((max(2, h // 4 + 1), w)).astype(np.float32)
    streak = cv2.resize(streak, (w, h), interpolation=cv2.INTER_LINEAR)
    img += streak[..., None] * np.array([12, 14, 6], np.float32)
    img += smooth_noise(rng, h, w, 16) * 9
    return img + _noise(rng, h, w, 5)


def texture_sky(rng: np.random.Generator,
                h: int,
                w: int,
                coords: Coords = None) -> np.ndarray:
    """Blue gradient, whitening towards the horizon, with soft clouds.

    ``coords[1]`` (if given) is the normalised height: 0 at the top of the
    sky, 1 at the horizon.
    """
    ny = (coords[1] if coords is not None else _norm_yx(h, w)[0])[..., None]
    top = _jitter(rng, (92, 140, 214), 12)
    bottom = _jitter(rng, (186, 206, 230), 8)
    img = top * (1 - ny) + bottom * ny
    cloud = np.clip(smooth_noise(rng, h, w, 30) - 0.4, 0, 1)
    img = img * (1 - 0.7 * cloud) + 238.0 * 0.7 * cloud
    return (img + _noise(rng, h, w, 2)).astype(np.float32)


def _figure(rng, h, w, head, torso, legs, stripe=None):
    """Head / torso / legs bands of a standing figure (normalised rows)."""
    ny, _ = _norm_yx(h, w)
    img = _fill(h, w, torso)
    img = np.where((ny < 0.14)[..., None], head, img)
    img = np.where((ny >= 0.55)[..., None], legs, img)
    if stripe is not None:
        band = (ny > 0.4) & (ny < 0.45)
        img = np.where(band[..., None], stripe, img)
    img = np.where((ny > 0.95)[..., None], np.float32(25), img)
    img += smooth_noise(rng, h, w, 6) * 6
    return img + _noise(rng, h, w, 5)


def texture_person(rng: np.random.Generator,
                   h: int,
                   w: int,
                   coords: Coords = None) -> np.ndarray:
    """Skin-toned head, random shirt colour, dark trousers."""
    skin = _jitter(rng, (198, 158, 128), 18)
    shirt = _random_hue(rng, (0.35, 0.8), (0.35, 0.85))
    trousers = _jitter(rng, (46, 46, 72), 12)
    return _figure(rng, h, w, skin, shirt, trousers)


def texture_rider(rng: np.random.Generator,
                  h: int,
                  w: int,
                  coords: Coords = None) -> np.ndarray:
    """Helmet, high-visibility jacket with a reflective band, dark legs."""
    helmet = _pick(rng, ((236, 236, 236), (24, 24, 26), (200, 30, 30)))
    jacket = _jitter(rng, _pick(rng, ((226, 212, 40), (242, 126, 30))), 10)
    legs = _jitter(rng, (36, 36, 44), 8)
    return _figure(rng, h, w, helmet, jacket, legs,
                   stripe=np.float32(210))


_CAR_COLOURS = ((172, 30, 30), (30, 60, 152), (182, 182, 188), (26, 26, 30),
                (230, 230, 228), (40, 92, 62), (122, 122, 128))


def texture_car(rng: np.random.Generator,
                h: int,
                w: int,
                coords: Coords = None) -> np.ndarray:
    """Glossy body colour, dark glass on top, bumper and red tail lights."""
    ny, nx = _norm_yx(h, w)
    body = _jitter(rng, _pick(rng, _CAR_COLOURS), 10)
    gloss = 1.0 + 0.25 * np.exp(-((ny - 0.48) / 0.08)**2)
    img = body * gloss[..., None]
    glass = (ny < 0.38)[..., None]
    reflect = 18.0 * np.exp(-((nx - ny - 0.3) / 0.12)**2)[..., None]
    img = np.where(glass, _jitter(rng, (46, 56, 68), 6) + reflect, img)
    img = np.where((ny > 0.86)[..., None], np.float32(34), img)
    tail = (ny > 0.45) & (ny < 0.56) & ((nx < 0.14) | (nx > 0.86))
    img = np.where(tail[..., None], np.float32([205, 22, 22]), img)
    return img + _noise(rng, h, w, 3)


def texture_truck(rng: np.random.Generator,
                  h: int,
                  w: int,
                  coords: Coords = None) -> np.ndarray:
    """Pale corrugated cargo box over a dark chassis."""
    cx, _ = _coords(h, w, coords, 4.0, 4.0)
    ny, _ = _norm_yx(h, w)
    box = _pick(rng, ((216, 216, 210), (204, 188, 124), (170, 186, 200)))
    img = _fill(h, w, _jitter(rng, box, 10))
    img -= (_frac(cx) < 0.3)[..., None] * 20.0
    img = np.where((ny > 0.88)[..., None], np.float32(32), img)
    return img + _noise(rng, h, w, 4)


def texture_bus(rng: np.random.Generator,
                h: int,
                w: int,
                coords: Coords = None) -> np.ndarray:
    """Red, yellow or blue body with a long window band and a display."""
    ny, nx = _norm_yx(h, w)
    body = _pick(rng, ((200, 46, 40), (226, 186, 46), (40, 112, 172)))
    img = _fill(h, w, _jitter(rng, body, 10))
    pillar = _frac(nx * max(2, w // 12)) < 0.12
    band = (ny > 0.18) & (ny < 0.5) & ~pillar
    img = np.where(band[..., None], _jitter(rng, (40, 50, 66), 6), img)
    display = (ny > 0.04) & (ny < 0.13) & (nx > 0.2) & (nx < 0.8)
    img = np.where(display[..., None], np.float32([230, 150, 20]), img)
    img = np.where((ny > 0.9)[..., None], np.float32(30), img)
    return img + _noise(rng, h, w, 4)


def texture_train(rng: np.random.Generator,
                  h: int,
                  w: int,
                  coords: Coords = None) -> np.ndarray:
    """White tram body with a coloured stripe and a window band."""
    ny, nx = _norm_yx(h, w)
    img = _fill(h, w, _jitter(rng, (228, 228, 232), 6))
    stripe = _pick(rng, ((30, 76, 166), (180, 30, 40)))
    img = np.where(((ny > 0.56) & (ny < 0.7))[..., None], stripe, img)
    pillar = _frac(nx * max(2, w // 18)) < 0.1
    band = (ny > 0.2) & (ny < 0.5) & ~pillar
    img = np.where(band[..., None], _jitter(rng, (54, 62, 72), 6), img)
    return img + _noise(rng, h, w, 3)


def texture_motorcycle(rng: np.random.Generator,
                       h: int,
                       w: int,
                       coords: Coords = None) -> np.ndarray:
    """Black machine with chrome speckles and a coloured tank."""
    ny, nx = _norm_yx(h, w)
    img = _fill(h, w, _jitter(rng, (30, 30, 34), 6))
    chrome = smooth_noise(rng, h, w, 3)[..., 0] > 0.9
    img[chrome] = _jitter(rng, (196, 196, 206), 8)
    tank = ((nx - 0.5) / 0.18)**2 + ((ny - 0.32) / 0.14)**2 < 1
    img[tank] = _random_hue(rng, (0.6, 0.9), (0.5, 0.9))
    return img + _noise(rng, h, w, 5)


def texture_bicycle(rng: np.random.Generator,
                    h: int,
                    w: int,
                    coords: Coords = None) -> np.ndarray:
    """Dark tyres and a brightly coloured frame in diagonal stripes."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = _fill(h, w, _jitter(rng, (36, 36, 38), 6))
    frame = _frac((xx + yy) / 6.0) < 0.38
    img[frame] = _random_hue(rng, (0.6, 0.95), (0.55, 0.95))
    return img + _noise(rng, h, w, 4)


#: The appearance function of each train ID (same order as the classes).
APPEARANCES: Tuple[TextureFn, ...] = (
    texture_road, texture_sidewalk, texture_building, texture_wall,
    texture_fence, texture_pole, texture_traffic_light, texture_traffic_sign,
    texture_vegetation, texture_terrain, texture_sky, texture_person,
    texture_rider, texture_car, texture_truck, texture_bus, texture_train,
    texture_motorcycle, texture_bicycle)

assert len(APPEARANCES) == len(CITYSCAPES_CLASSES)


def class_texture(train_id: int,
                  rng: np.random.Generator,
                  h: int,
                  w: int,
                  coords: Coords = None) -> np.ndarray:
    """Texture of a Cityscapes train-ID class.

    Args:
        train_id: Class, 0..18.
        rng: Random generator.
        h: Height in pixels.
        w: Width in pixels.
        coords: Optional pattern coordinates ``(cx, cy)``.

    Returns:
        np.ndarray: float32 RGB image of shape (h, w, 3), not clipped.
    """
    return APPEARANCES[train_id](rng, h, w, coords)


# ----------------------------------------------------------------------------
# outlier objects: shapes and novel appearance
# ----------------------------------------------------------------------------
def sample_appearance_class(rng: np.random.Generator) -> int:
    """Draw the train ID an outlier object looks like.

    Args:
        rng: Random generator.

    Returns:
        int: A train ID drawn from :data:`OUTLIER_APPEARANCE_PRIOR`.
    """
    return int(rng.choice(len(OUTLIER_APPEARANCE_PRIOR),
                          p=OUTLIER_APPEARANCE_PRIOR))


def novel_texture(rng: np.random.Generator, h: int, w: int,
                  appearance: int) -> np.ndarray:
    """Texture of an outlier object that looks like an inlier class.

    The class texture gets a random tint and, in most cases, a pattern no
    inlier class has (dots, checkers, rings or diagonal stripes), so the
    object is similar to, but not the same as, the class it mimics.

    Args:
        rng: Random generator.
        h: Height in pixels.
        w: Width in pixels.
        appearance: Train ID whose appearance the object borrows.

    Returns:
        np.ndarray: float32 RGB image of shape (h, w, 3), not clipped.
    """
    img = class_texture(appearance, rng, h, w)
    tint = _random_hue(rng, (0.4, 1.0), (0.3, 1.0))
    alpha = rng.uniform(0.12, 0.3)
    img = img * (1 - alpha) + tint * alpha
    kind = int(rng.integers(5))
    if kind < 4:
        period = rng.uniform(4.0, 14.0)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / period
        if kind == 0:
            pattern = (_frac(xx) - 0.5)**2 + (_frac(yy) - 0.5)**2 < 0.07
        elif kind == 1:
            pattern = (np.floor(xx) + np.floor(yy)) % 2 == 0
        elif kind == 2:
            r = np.hypot(xx - w / (2 * period), yy - h / (2 * period))
            pattern = _frac(r) < 0.4
        else:
            pattern = _frac(xx - yy) < 0.35
        colour = _random_hue(rng, (0.3, 1.0), (0.2, 1.0))
        img = np.where(pattern[..., None], img * 0.7 + colour * 0.3, img)
    return img.astype(np.float32)


def _radial_shape(rng: np.random.Generator, n: int,
                  roughness: float) -> np.ndarray:
    """Star-shaped closed outline with unit-ish radius around the origin."""
    theta = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = np.ones(n)
    for k in range(1, 5):
        radius += rng.uniform(0, roughness / k) * np.cos(
            k * theta + rng.uniform(0, 2 * np.pi))
    radius = np.clip(radius, 0.25, None)
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], 1)


def outlier_polygons(rng: np.random.Generator, h: float,
                     w: float) -> List[np.ndarray]:
    """Random outline(s) of one outlier object inside a (h, w) box.

    The shape is a smooth blob, a rotated ellipse, a jagged polygon or a
    compound of two or three of those, scaled to fill the box.

    Args:
        rng: Random generator.
        h: Box height in pixels.
        w: Box width in pixels.

    Returns:
        list[np.ndarray]: Polygons as float arrays of shape (N, 2) holding
        (x, y) points inside ``[0, w] x [0, h]``; their union is the object.
    """
    kind = int(rng.integers(4))
    parts = int(rng.integers(2, 4)) if kind == 3 else 1
    shapes = []
    for _ in range(parts):
        sub = kind if kind < 3 else int(rng.integers(3))
        if sub == 0:
            pts = _radial_shape(rng, int(rng.integers(18, 30)), 0.5)
        elif sub == 1:
            t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            a, b = 1.0, rng.uniform(0.35, 1.0)
            rot = rng.uniform(0, np.pi)
            x, y = a * np.cos(t), b * np.sin(t)
            pts = np.stack([
                x * np.cos(rot) - y * np.sin(rot),
                x * np.sin(rot) + y * np.cos(rot)
            ], 1)
        else:
            pts = _radial_shape(rng, int(rng.integers(5, 10)), 1.2)
        if parts > 1:  # sub-shapes of a compound share the box
            pts = pts * rng.uniform(0.45, 0.7) + rng.uniform(-0.5, 0.5, 2)
        shapes.append(pts)
    allpts = np.concatenate(shapes)
    lo, hi = allpts.min(0), allpts.max(0)
    scale = np.array([w, h]) / np.maximum(hi - lo, 1e-6)
    return [np.clip((p - lo) * scale, 0, [w, h]) for p in shapes]


def polygons_mask(polygons: Sequence[np.ndarray], h: int,
                  w: int) -> np.ndarray:
    """Rasterise polygons into a boolean (h, w) mask with OpenCV."""
    mask = np.zeros((h, w), np.uint8)
    for poly in polygons:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def make_outlier_object(
        rng: np.random.Generator, h: int, w: int
) -> Tuple[np.ndarray, np.ndarray, int]:
    """A random outlier object: mask, texture and the class it looks like.

    Args:
        rng: Random generator.
        h: Box height in pixels (>= 2).
        w: Box width in pixels (>= 2).

    Returns:
        tuple: ``(mask, rgb, appearance)``: a bool (h, w) mask, a float32
        (h, w, 3) RGB texture and the borrowed train ID.
    """
    appearance = sample_appearance_class(rng)
    mask = polygons_mask(outlier_polygons(rng, h - 1, w - 1), h, w)
    return mask, novel_texture(rng, h, w, appearance), appearance

