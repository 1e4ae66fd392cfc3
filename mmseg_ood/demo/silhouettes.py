"""Silhouettes of the things in a SYNTHETIC demo street scene.

Each function draws local boolean masks of shape (h, w) for one kind of
object: the rear view of a car, truck, bus or tram; a standing or seated
figure; the side view of a bicycle or motorcycle; a traffic-sign plate; a
tree. The street renderer fills a mask with its class texture, so the label
map and the pixels always come from the same mask.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np

__all__ = [
    'Rng', 'bicycle', 'box_vehicle', 'car', 'fill_polygon', 'motorcycle',
    'person', 'sign', 'tree'
]

Rng = np.random.Generator


def fill_polygon(mask: np.ndarray, pts: Sequence[Tuple[float,
                                                       float]]) -> None:
    """Fill a polygon given as float (x, y) points into a uint8 mask."""
    cv2.fillPoly(mask, [np.round(np.asarray(pts)).astype(np.int32)], 1)


def _wheel_blocks(h: int, w: int) -> np.ndarray:
    """Two wheel blocks at the bottom corners of a rear view."""
    wheel = np.zeros((h, w), bool)
    top = int(0.86 * h)
    for lo, hi in ((0.06, 0.24), (0.76, 0.94)):
        wheel[top:, int(lo * w):max(int(lo * w) + 1, int(hi * w))] = True
    return wheel


def car(rng: Rng, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rear view of a car: cabin, body and wheels.

    Returns:
        tuple: The whole mask and the wheel mask (painted dark).
    """
    m = np.zeros((h, w), np.uint8)
    fill_polygon(m, [(0.14 * w, 0), (0.86 * w, 0), (0.97 * w, 0.42 * h),
                     (0.03 * w, 0.42 * h)])
    cv2.rectangle(m, (0, int(0.38 * h)), (w - 1, int(0.9 * h)), 1, -1)
    wheels = _wheel_blocks(h, w)
    return m.astype(bool) | wheels, wheels


def box_vehicle(rng: Rng, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """Rear view of a truck, bus or tram: a tall box on wheels.

    Returns:
        tuple: The whole mask and the wheel mask (painted dark).
    """
    m = np.zeros((h, w), np.uint8)
    r = max(1, int(0.06 * w))
    cv2.rectangle(m, (0, r), (w - 1, int(0.9 * h)), 1, -1)
    cv2.rectangle(m, (r, 0), (w - 1 - r, r), 1, -1)
    wheels = _wheel_blocks(h, w)
    return m.astype(bool) | wheels, wheels


def person(rng: Rng, h: int, w: int, seated: bool = False) -> np.ndarray:
    """Front view of a figure: head, torso, arms and legs.

    Args:
        rng: Random generator (stride of the legs).
        h: Height in pixels.
        w: Width in pixels.
        seated: Draw the legs bent towards pedals (a rider).
    """
    m = np.zeros((h, w), np.uint8)
    head = max(1, int(min(0.07 * h, 0.3 * w)))
    cv2.circle(m, (w // 2, int(0.07 * h)), head, 1, -1)
    cv2.rectangle(m, (int(0.18 * w), int(0.13 * h)),
                  (int(0.82 * w), int(0.58 * h)), 1, -1)
    arm = max(1, int(0.14 * w))
    cv2.rectangle(m, (0, int(0.16 * h)), (arm, int(0.5 * h)), 1, -1)
    cv2.rectangle(m, (w - 1 - arm, int(0.16 * h)), (w - 1, int(0.5 * h)), 1,
                  -1)
    if seated:
        fill_polygon(m, [(0.2 * w, 0.55 * h), (0.8 * w, 0.55 * h), (w, h),
                         (0.6 * w, h)])
    else:
        step = rng.uniform(0.0, 0.18) * w
        fill_polygon(m, [(0.2 * w, 0.55 * h), (0.48 * w, 0.55 * h),
                         (0.47 * w - step, h), (0.2 * w - step, h)])
        fill_polygon(m, [(0.52 * w, 0.55 * h), (0.8 * w, 0.55 * h),
                         (0.8 * w + step, h), (0.53 * w + step, h)])
    return m.astype(bool)


def bicycle(rng: Rng, h: int, w: int) -> np.ndarray:
    """Side view of a bicycle: two wheel rings and a diamond frame."""
    m = np.zeros((h, w), np.uint8)
    r = int(min(0.2 * w, 0.45 * h))
    t = max(1, int(0.03 * w))
    hub_y = h - 1 - r
    rear, front = (int(0.22 * w), hub_y), (int(0.78 * w), hub_y)
    for hub in (rear, front):
        cv2.circle(m, hub, r, 1, t)
    crank = (int(0.47 * w), hub_y)
    seat = (int(0.38 * w), int(0.08 * h))
    bar = (int(0.72 * w), int(0.04 * h))
    for a, b in ((rear, crank), (rear, seat), (crank, seat), (seat, bar),
                 (crank, bar), (bar, front)):
        cv2.line(m, a, b, 1, t)
    return m.astype(bool)


def motorcycle(rng: Rng, h: int, w: int) -> np.ndarray:
    """Side view of a motorcycle: two solid wheels, body and handlebar."""
    m = np.zeros((h, w), np.uint8)
    r = int(min(0.19 * w, 0.4 * h))
    hub_y = h - 1 - r
    cv2.circle(m, (int(0.2 * w), hub_y), r, 1, -1)
    cv2.circle(m, (int(0.8 * w), hub_y), r, 1, -1)
    cv2.ellipse(m, (w // 2, int(0.5 * h)), (int(0.32 * w), int(0.2 * h)), 0,
                0, 360, 1, -1)
    cv2.line(m, (int(0.75 * w), int(0.45 * h)), (int(0.7 * w), 0), 1,
             max(1, int(0.04 * w)))
    return m.astype(bool)


def sign(rng: Rng, h: int, w: int) -> np.ndarray:
    """A traffic-sign plate: disc, downward triangle or rectangle."""
    m = np.zeros((h, w), np.uint8)
    kind = int(rng.integers(3))
    if kind == 0:
        cv2.ellipse(m, (w // 2, h // 2), (max(1, w // 2), max(1, h // 2)), 0,
                    0, 360, 1, -1)
    elif kind == 1:
        fill_polygon(m, [(0, 0), (w - 1, 0), (w / 2, h - 1)])
    else:
        m[:] = 1
    return m.astype(bool)


def tree(rng: Rng, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """A tree: crown (union of discs) and trunk.

    Returns:
        tuple: The crown mask and the trunk mask.
    """
    crown = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(3, 7))):
        r = int(rng.uniform(0.18, 0.3) * min(w, h))
        cx = int(w / 2 + rng.uniform(-0.25, 0.25) * w)
        cy = int(rng.uniform(0.22, 0.45) * h)
        cv2.circle(crown, (cx, cy), max(1, r), 1, -1)
    trunk = np.zeros((h, w), np.uint8)
    tw = max(1, int(0.05 * w))
    cv2.rectangle(trunk, (w // 2 - tw, int(0.4 * h)), (w // 2 + tw, h - 1), 1,
                  -1)
    return crown.astype(bool), trunk.astype(bool)
