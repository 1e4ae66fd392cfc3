"""SYNTHETIC street scenes for the demo world (no real data involved).

A scene is a pinhole-camera view of a straight street: sky, building facades
with windows, trees, grass, a wall or fence along the sidewalk, a road with
lane markings running to the vanishing point, and things standing on the
ground (poles with traffic lights and signs, cars, trucks, buses, a tram,
people, riders on bicycles or motorcycles, parked bicycles, unlabelled
street furniture), optionally with the ego vehicle's bonnet at the bottom.

Geometry: the camera looks horizontally, so an object standing on row ``y``
and as tall as the camera reaches exactly the horizon row ``yh``; one
*camera height* is ``y - yh`` pixels there. Lateral positions ``u`` are in
camera heights, so a point on the ground at lateral offset ``u`` and row
``y`` lies at column ``vx + u * (y - yh)``. Everything is painted in
painter's order (far before near); every paint writes the image and the
Cityscapes label-id map through the same mask, so labels match the pixels.
"""
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

import numpy as np

from mmseg_ood.utils.constants import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_LABEL_IDS,
    IGNORE_INDEX,
)

from . import silhouettes as sil
from .appearance import class_texture, make_outlier_object, smooth_noise

__all__ = [
    'EGO_VEHICLE_ID', 'LID', 'TID', 'UNLABELED_ID', 'StreetScene',
    'add_outliers', 'finish_image', 'label_ids_to_train_ids',
    'render_street_scene'
]

#: Train ID of each class name.
TID = {name: i for i, name in enumerate(CITYSCAPES_CLASSES)}
#: Cityscapes label id of each train ID.
LID = dict(enumerate(CITYSCAPES_LABEL_IDS))
#: Cityscapes label ids of the two void classes the demo world draws.
UNLABELED_ID = 0
EGO_VEHICLE_ID = 1

# Focal length in units of the frame width; only sets pattern sizes.
_FOCAL = 0.9


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map Cityscapes label ids to train ids (void -> 255).

    Args:
        label_ids: uint8 label-id map.

    Returns:
        np.ndarray: uint8 train-id map, 0..18 or 255.
    """
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    for train_id, label_id in enumerate(CITYSCAPES_LABEL_IDS):
        lut[label_id] = train_id
    return lut[label_ids]


@dataclass
class StreetScene:
    """A rendered synthetic street scene.

    Attributes:
        image: float32 RGB image (H, W, 3), not yet clipped or quantised.
        label_ids: uint8 Cityscapes label-id map (H, W).
        horizon: Row of the horizon.
        vanish_x: Column of the vanishing point.
        road_u: Lateral extent of the road (left, right) in camera heights.
    """
    image: np.ndarray
    label_ids: np.ndarray
    horizon: int
    vanish_x: float
    road_u: Tuple[float, float]

    @property
    def train_ids(self) -> np.ndarray:
        """uint8 train-id map of the scene."""
        return label_ids_to_train_ids(self.label_ids)


class _Canvas:
    """Image plus label map, painted together through shared masks."""

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.image = np.zeros((h, w, 3), np.float32)
        self.labels = np.zeros((h, w), np.uint8)

    def fill(self, mask: np.ndarray, rgb: np.ndarray, label_id: int) -> None:
        """Paint full-frame ``rgb`` where the full-frame ``mask`` is set."""
        self.image[mask] = rgb[mask]
        self.labels[mask] = label_id

    def paste(self,
              x0: int,
              y0: int,
              mask: np.ndarray,
              rgb: np.ndarray,
              label_id: Optional[int],
              painted: Optional[np.ndarray] = None) -> None:
        """Paint a local (h, w) patch with its top-left corner at (x0, y0).

        Args:
            x0: Column of the patch's left edge (may be off the frame).
            y0: Row of the patch's top edge (may be off the frame).
            mask: bool (h, w) mask of the pixels to paint.
            rgb: (h, w, 3) colours.
            label_id: Label written under the mask; None keeps the labels.
            painted: Optional full-frame bool mask; painted pixels are set.
        """
        h, w = mask.shape
        ax0, ay0 = max(x0, 0), max(y0, 0)
        ax1, ay1 = min(x0 + w, self.w), min(y0 + h, self.h)
        if ax1 <= ax0 or ay1 <= ay0:
            return
        m = mask[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0]
        np.copyto(self.image[ay0:ay1, ax0:ax1],
                  rgb[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0],
                  where=m[..., None])
        if label_id is not None:
            np.copyto(self.labels[ay0:ay1, ax0:ax1], np.uint8(label_id),
                      where=m)
        if painted is not None:
            painted[ay0:ay1, ax0:ax1] |= m


# ----------------------------------------------------------------------------
# the scene generator
# ----------------------------------------------------------------------------
class _SceneBuilder:
    """Paints one street scene; see :func:`render_street_scene`."""

    def __init__(self, rng: np.random.Generator, size: Tuple[int, int],
                 must: Iterable[int]):
        self.rng = rng
        self.h, self.w = size
        self.must = set(must)
        self.canvas = _Canvas(self.h, self.w)
        self.yh = int(round(self.h * rng.uniform(0.36, 0.48)))
        self.vx = float(self.w * rng.uniform(0.38, 0.62))
        self.span = self.h - self.yh
        self.f = _FOCAL * self.w
        # lateral layout in camera heights: road, sidewalk, terrain edges
        self.u_road = (-rng.uniform(1.8, 3.4), rng.uniform(1.8, 3.4))
        self.u_side = (self.u_road[0] - rng.uniform(1.0, 2.2),
                       self.u_road[1] + rng.uniform(1.0, 2.2))
        terrain = [rng.random() < 0.5, rng.random() < 0.5]
        if TID['terrain'] in self.must and not any(terrain):
            terrain[int(rng.integers(2))] = True
        self.u_face = tuple(
            us + sgn * (rng.uniform(0.8, 2.5) if has else 0.0)
            for us, sgn, has in zip(self.u_side, (-1, 1), terrain))
        yy, xx = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        self.yy, self.xx = yy + 0.5, xx + 0.5
        self.dy = self.yy - self.yh
        self.below = self.dy > 0
        safe = np.where(self.below, self.dy, 1.0)
        self.u = np.where(self.below, (self.xx - self.vx) / safe, 0.0)
        self.depth = np.where(self.below, self.f / safe, 1e6)

    # --- helpers -------------------------------------------------------
    def _ground_y(self, x, u_line):
        """Row where the ground line at lateral ``u_line`` meets column x."""
        return self.yh + (x - self.vx) / u_line

    def _texture(self, name, h, w, coords=None):
        return class_texture(TID[name], self.rng, h, w, coords)

    def _region(self, mask, name, coords=None):
        """Fill a full-frame region with a class texture (over its box)."""
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if rows.size == 0:
            return
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        if coords is not None:
            coords = tuple(c[y0:y1, x0:x1] for c in coords)
        tex = self._texture(name, int(y1 - y0), int(x1 - x0), coords)
        self.canvas.paste(int(x0), int(y0), mask[y0:y1, x0:x1], tex,
                          LID[TID[name]])

    def _depth_t(self, forced=False, big=False):
        """Foot row as a fraction of the ground span (far objects likelier).

        Forced things go to mid depth; forced big vehicles a little farther
        than forced small things, so that painter's order does not hide the
        small ones behind them.
        """
        if forced:
            return self.rng.uniform(0.22, 0.5) if big else self.rng.uniform(
                0.4, 0.9)
        return 0.08 + 0.92 * self.rng.random()**1.4

    def _object(self, u, t, w_units, h_units, lift=0.0):
        """Pixel box (x0, y0, w, h) of a thing standing at (u, t).

        Returns None if it is too small or mostly out of the frame.
        """
        foot = self.yh + t * self.span
        unit = foot - self.yh
        w, h = int(round(w_units * unit)), int(round(h_units * unit))
        if h < 4:
            return None
        w = max(w, 2)
        x0 = int(round(self.vx + u * unit - w / 2))
        y0 = int(round(foot - lift * unit - h))
        vis_w = min(x0 + w, self.w) - max(x0, 0)
        vis_h = min(y0 + h, self.h) - max(y0, 0)
        if vis_w <= 0 or vis_h <= 0 or vis_w * vis_h < 0.4 * w * h:
            return None
        return x0, y0, w, h

    def _paste_class(self, box, mask, name, rgb=None):
        x0, y0, w, h = box
        if rgb is None:
            rgb = self._texture(name, h, w)
        self.canvas.paste(x0, y0, mask, rgb, LID[TID[name]])

    # --- background layer ----------------------------------------------
    def ground_and_sky(self):
        rng = self.rng
        ny = np.clip(self.yy / max(self.yh, 1), 0, 1)
        self._region(~self.below, 'sky', (ny, ny))
        u, below = self.u, self.below
        (rl, rr), (sl, sr), (fl, fr) = self.u_road, self.u_side, self.u_face
        veg_sides = [rng.random() < 0.6, rng.random() < 0.6]
        if TID['vegetation'] in self.must:
            veg_sides[int(rng.integers(2))] = True
        for outside, veg in ((u < fl, veg_sides[0]), (u > fr, veg_sides[1])):
            self._region(below & outside, 'vegetation' if veg else 'terrain')
        self._region(below & (((u >= fl) & (u < sl)) | ((u > sr) & (u <= fr))),
                     'terrain')
        tiles = (self.u * 2.0, self.depth * 2.0)
        self._region(below & (((u >= sl) & (u < rl)) | ((u > rr) & (u <= sr))),
                     'sidewalk', tiles)
        road = below & (u >= rl) & (u <= rr)
        self._region(road, 'road')
        # lane markings are road pixels painted white
        lanes = max(1, int(round((rr - rl) / 2.4)))
        marks = np.zeros_like(road)
        dashes = (self.depth / 2.0) % 1.0 < 0.5
        for k in range(1, lanes):
            marks |= (np.abs(u - (rl + k * (rr - rl) / lanes)) < 0.06) & dashes
        if rng.random() < 0.6:
            marks |= (np.abs(u - rl - 0.15) < 0.05) | (np.abs(u - rr + 0.15) <
                                                      0.05)
        marks &= road
        if marks.any():
            white = np.float32(rng.uniform(200, 235)) + smooth_noise(
                rng, self.h, self.w, 4) * 8
            self.canvas.fill(marks, np.repeat(white, 3, axis=2),
                             LID[TID['road']])

    def _facade_coords(self, xs, ys, u_line):
        """Window-grid coordinates (depth, height) on a facade plane."""
        yg = self._ground_y(xs, u_line)
        d = np.maximum(yg - self.yh, 1e-3)
        return ((self.f / d) / 2.2).astype(np.float32), ((yg - ys) /
                                                         d).astype(np.float32)

    def _facade_segments(self, side):
        """Depth-ordered column ranges (near to far) along one side."""
        rng = self.rng
        d = (self.vx if side == 0 else self.w - self.vx) + 10.0
        segs = []
        while d > 3.0:
            d_next = d * rng.uniform(0.5, 0.82)
            segs.append((d, d_next))
            d = d_next
        return segs

    def buildings(self):
        rng = self.rng
        forced = TID['building'] in self.must
        for side in (0, 1):
            u_line = self.u_face[side]
            sgn = -1 if side == 0 else 1
            for k, (d0, d1) in enumerate(self._facade_segments(side)):
                if rng.random() > 0.85 and not (forced and k == 0):
                    continue
                hb = rng.uniform(2.5, 9.0)
                xa, xb = self.vx + sgn * d0, self.vx + sgn * d1
                pts = []
                for x in (xa, xb):
                    yg = self._ground_y(x, u_line)
                    pts.append((x, self.yh - (hb - 1) * (yg - self.yh)))
                for x in (xb, xa):
                    pts.append((x, self._ground_y(x, u_line)))
                self._facade(pts, 'building', u_line, 1.0, 0.5)
            forced = False

    def _facade(self, pts, name, u_line, sx, sy):
        """Paint a facade-plane polygon with perspective pattern coords."""
        pts = np.asarray(pts, np.float64)
        x0 = int(np.clip(np.floor(pts[:, 0].min()), 0, self.w))
        x1 = int(np.clip(np.ceil(pts[:, 0].max()) + 1, 0, self.w))
        y0 = int(np.clip(np.floor(pts[:, 1].min()), 0, self.h))
        y1 = int(np.clip(np.ceil(pts[:, 1].max()) + 1, 0, self.h))
        if x1 - x0 < 1 or y1 - y0 < 1:
            return
        clipped = np.clip(pts - [x0, y0], -1e5, 1e5)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        sil.fill_polygon(mask, clipped)
        if not mask.any():
            return
        cx, cy = self._facade_coords(self.xx[y0:y1, x0:x1],
                                     self.yy[y0:y1, x0:x1], u_line)
        rgb = self._texture(name, y1 - y0, x1 - x0, (cx * sx, cy * sy))
        self.canvas.paste(x0, y0, mask.astype(bool), rgb, LID[TID[name]])

    def walls_and_fences(self):
        rng = self.rng
        wall_side = int(rng.integers(2))  # a forced fence goes opposite
        for name, p, hr, sx, sy, forced_side in (
                ('wall', 0.35, (0.45, 0.9), 2.0, 4.0, wall_side),
                ('fence', 0.35, (0.5, 1.0), 8.0, 2.0, 1 - wall_side)):
            if TID[name] not in self.must:
                forced_side = -1
            for side in (0, 1):
                if (name == 'fence' and side == wall_side
                        and TID['wall'] in self.must):
                    continue  # a fence must not hide the forced wall
                if rng.random() > p and side != forced_side:
                    continue
                u_line = self.u_side[side]
                sgn = -1 if side == 0 else 1
                d_max = self.vx if side == 0 else self.w - self.vx
                da = d_max * rng.uniform(0.5, 1.0)
                db = da * rng.uniform(0.1, 0.5)
                hw = rng.uniform(*hr)
                pts = []
                for x in (self.vx + sgn * da, self.vx + sgn * db):
                    pts.append((x, self._ground_y(x, u_line)))
                for x, y in pts[::-1]:
                    pts.append((x, y - hw * (y - self.yh)))
                self._facade(pts, name, u_line, sx, sy)

    def _tree(self, u, t, height):
        box = self._object(u, t, 0.55 * height, height)
        if box is None:
            return False
        crown, trunk = sil.tree(self.rng, box[3], box[2])
        veg = self._texture('vegetation', box[3], box[2])
        bark = veg * 0.3 + np.float32([88, 62, 40]) * 0.7
        self._paste_class(box, trunk, 'vegetation', bark)
        self._paste_class(box, crown, 'vegetation', veg)
        return True

    def trees_behind(self):
        """Trees on the grass strip / facade line (behind the wall line)."""
        rng = self.rng
        todo = []
        for side in (0, 1):
            for _ in range(int(rng.integers(1, 6))):
                lo = self.u_face[side] - 0.3 * (1 if side == 1 else -1)
                u = rng.uniform(min(lo, self.u_side[side]),
                                max(lo, self.u_side[side]))
                todo.append((self._depth_t(), u, rng.uniform(2.5, 6.0)))
        if TID['vegetation'] in self.must:
            side = int(rng.integers(2))
            todo.append((self._depth_t(True), self.u_face[side],
                         rng.uniform(2.5, 4.0)))
        for t, u, ht in sorted(todo):
            self._tree(u, t, ht)

    # --- things standing on sidewalk / road ------------------------------
    def _sidewalk_u(self, side, margin=0.2):
        lo, hi = sorted((self.u_road[side], self.u_side[side]))
        return self.rng.uniform(lo + margin, max(lo + margin, hi - margin))

    def _lane_u(self):
        rl, rr = self.u_road
        return self.rng.uniform(rl + 0.7, rr - 0.7)

    def plan_things(self):
        """List of (t, kind, u) things, drawn far to near."""
        rng, must = self.rng, self.must
        plan = []

        def add(kind, u_fn, count, forced):
            for i in range(count):
                plan.append((kind, u_fn, forced and i == 0))
            if forced and count == 0:
                plan.append((kind, u_fn, True))

        def side():  # anywhere on either sidewalk
            return self._sidewalk_u(int(rng.integers(2)))

        def curb():  # on a sidewalk, next to the road
            if rng.random() < 0.5:
                return self.u_road[0] - rng.uniform(0.15, 0.4)
            return self.u_road[1] + rng.uniform(0.15, 0.4)

        def edge():  # on the road, near its edge (parking, cycling)
            if rng.random() < 0.5:
                return self.u_road[0] + rng.uniform(0.6, 0.9)
            return self.u_road[1] - rng.uniform(0.6, 0.9)

        def anywhere():  # a sidewalk or a lane
            return side() if rng.random() < 0.5 else self._lane_u()

        def tram_track():
            return rng.uniform(-0.5, 0.5) + sum(self.u_road) / 2

        n_lights = int(rng.random() < 0.5)
        n_signs = int(rng.integers(0, 3))
        if TID['traffic light'] in must:
            n_lights = max(n_lights, 1)
        if TID['traffic sign'] in must:
            n_signs = max(n_signs, 1)
        add('pole_light', curb, n_lights, TID['traffic light'] in must)
        add('pole_sign', curb, n_signs, TID['traffic sign'] in must)
        add('pole', curb, int(rng.integers(0, 3)), TID['pole'] in must)
        add('person', side, int(rng.poisson(1.3)), False)
        add('person', anywhere, int(rng.random() < 0.2),
            TID['person'] in must)
        add('rider_bicycle', edge, int(rng.random() < 0.2),
            TID['rider'] in must or TID['bicycle'] in must)
        add('rider_motorcycle', self._lane_u, int(rng.random() < 0.12),
            TID['motorcycle'] in must)
        add('bicycle', side, int(rng.random() < 0.2), False)
        add('motorcycle', edge, int(rng.random() < 0.1), False)
        add('car', self._lane_u, int(rng.poisson(1.6)), TID['car'] in must)
        add('car', edge, int(rng.poisson(0.8)), False)
        add('truck', self._lane_u, int(rng.random() < 0.25),
            TID['truck'] in must)
        add('bus', self._lane_u, int(rng.random() < 0.15), TID['bus'] in must)
        add('train', tram_track, int(rng.random() < 0.04),
            TID['train'] in must)
        add('clutter', side, int(rng.integers(0, 3)), False)
        things = []
        for kind, u_fn, forced in plan:
            big = kind in ('car', 'truck', 'bus', 'train')
            for _ in range(12 if forced else 4):
                t, u = self._depth_t(forced, big), u_fn()
                if self._thing_box(kind, u, t) is not None:
                    things.append((t, kind, u))
                    break
        return sorted(things)

    _SIZES = {  # width, height in camera heights
        'car': (1.2, 0.95), 'truck': (1.65, 2.2), 'bus': (1.7, 2.1),
        'train': (1.8, 2.4), 'person': (0.34, 1.15), 'bicycle': (1.15, 0.65),
        'motorcycle': (1.4, 0.75), 'rider_bicycle': (1.15, 0.65),
        'rider_motorcycle': (1.4, 0.75), 'clutter': (0.4, 0.6),
        'pole': (0.09, 2.6), 'pole_light': (0.09, 2.6),
        'pole_sign': (0.07, 1.8)
    }

    def _thing_box(self, kind, u, t):
        w, h = self._SIZES[kind]
        return self._object(u, t, w, h)

    def draw_thing(self, t, kind, u):
        rng = self.rng
        jit = rng.uniform(0.9, 1.1)
        w_u, h_u = self._SIZES[kind]
        box = self._object(u, t, w_u * jit, h_u * jit)
        if box is None:
            return
        x0, y0, w, h = box
        if kind in ('car', 'truck', 'bus', 'train'):
            fn = sil.car if kind == 'car' else sil.box_vehicle
            mask, wheels = fn(rng, h, w)
            rgb = self._texture(kind, h, w)
            rgb[wheels] = np.float32(24) + rgb[wheels] * 0.05
            self._paste_class(box, mask, kind, rgb)
        elif kind == 'person':
            self._paste_class(box, sil.person(rng, h, w), 'person')
        elif kind in ('bicycle', 'rider_bicycle'):
            self._paste_class(box, sil.bicycle(rng, h, w), 'bicycle')
        elif kind in ('motorcycle', 'rider_motorcycle'):
            self._paste_class(box, sil.motorcycle(rng, h, w), 'motorcycle')
        elif kind == 'clutter':
            rgb = (np.float32(rng.uniform(40, 200, 3)) +
                   smooth_noise(rng, h, w, 3) * 10)
            m = np.ones((h, w), bool)
            self.canvas.paste(x0, y0, m, rgb, UNLABELED_ID)
        else:
            self._pole(kind, u, t, box)
        if kind.startswith('rider_'):
            rbox = self._object(u - 0.05, t, 0.4 * jit, 0.95 * jit, lift=0.3)
            if rbox is not None:
                mask = sil.person(rng, rbox[3], rbox[2], seated=True)
                self._paste_class(rbox, mask, 'rider')

    def _pole(self, kind, u, t, box):
        rng = self.rng
        x0, y0, w, h = box
        unit = t * self.span
        if kind == 'pole_light' and y0 < 1:  # keep the light in the frame
            cut = min(1 - y0, h - 4)
            y0, h = y0 + cut, h - cut
        self._paste_class((x0, y0, w, h), np.ones((h, w), bool), 'pole')
        if kind == 'pole_light':
            # arm towards the road, light hanging at its end
            toward = 1 if u < sum(self.u_road) / 2 else -1
            arm = int(rng.uniform(0.0, 1.2) * unit)
            thick = max(2, int(0.06 * unit))
            ax0 = x0 + w // 2 if toward > 0 else x0 + w // 2 - arm
            if arm > 0:
                self._paste_class((ax0, y0, arm, thick),
                                  np.ones((thick, arm), bool), 'pole')
            lw, lh = max(2, int(0.22 * unit)), max(3, int(0.6 * unit))
            lx = (x0 + w // 2 + toward * arm) - lw // 2
            self._paste_class((lx, y0 + thick, lw, lh),
                              np.ones((lh, lw), bool), 'traffic light')
        elif kind == 'pole_sign':
            s = max(3, int(rng.uniform(0.35, 0.5) * unit))
            sx = x0 + w // 2 - s // 2
            self._paste_class((sx, y0 - s // 3, s, s), sil.sign(rng, s, s),
                              'traffic sign')

    def ego_vehicle(self):
        rng = self.rng
        e = rng.uniform(0.07, 0.13) * self.h
        bend = rng.uniform(0.3, 0.8) * e
        top = self.h - e + bend * ((self.xx - self.w / 2) / (self.w / 2))**2
        mask = self.yy >= top
        reflect = np.clip(1 - (self.yy - top) / max(e, 1), 0, 1)[..., None]
        rgb = (np.float32([22, 24, 28]) + reflect * 60 +
               smooth_noise(rng, self.h, self.w, 20) * 6)
        self.canvas.fill(mask, np.broadcast_to(rgb, (self.h, self.w, 3)),
                         EGO_VEHICLE_ID)


def render_street_scene(rng: np.random.Generator,
                        size: Tuple[int, int],
                        must_include: Iterable[int] = (),
                        ego_prob: float = 0.3) -> StreetScene:
    """Paint one synthetic street scene.

    Args:
        rng: Random generator; the scene is a pure function of its state.
        size: Frame size (height, width).
        must_include: Train IDs the scene tries hard to contain (forced
            objects, placed at mid depth). Callers check the result.
        ego_prob: Probability of showing the ego vehicle's bonnet.

    Returns:
        StreetScene: The float image and the label-id map.
    """
    b = _SceneBuilder(rng, size, must_include)
    b.ground_and_sky()
    b.buildings()
    b.trees_behind()
    b.walls_and_fences()
    for thing in b.plan_things():
        b.draw_thing(*thing)
    if rng.random() < ego_prob:
        b.ego_vehicle()
    return StreetScene(b.canvas.image, b.canvas.labels, b.yh, b.vx,
                       tuple(b.u_road))


def add_outliers(rng: np.random.Generator, scene: StreetScene, count: int,
                 placement: str,
                 height_units: Tuple[float, float] = (0.15, 0.7)
                 ) -> Tuple[np.ndarray, List[int]]:
    """Paste novel objects into a scene (image only; labels unchanged).

    Args:
        rng: Random generator.
        scene: Scene to modify in place (its image).
        count: Number of objects.
        placement: ``'road'`` (standing on the road, perspective size given
            by ``height_units`` in camera heights) or ``'anywhere'`` (random
            position, 6-30 % of the frame height).
        height_units: Object height range for ``'road'``.

    Returns:
        tuple: The bool anomaly mask (H, W) and the train IDs the objects
        look like.
    """
    h, w = scene.label_ids.shape
    canvas = _Canvas(h, w)
    canvas.image = scene.image
    anomaly = np.zeros((h, w), bool)
    looks = []
    span = h - scene.horizon
    for _ in range(count):
        if placement == 'road':
            t = rng.uniform(0.15, 0.95)
            unit = t * span
            oh = max(4, int(round(rng.uniform(*height_units) * unit)))
            ow = max(4, int(round(oh * rng.uniform(0.6, 1.8))))
            rl, rr = scene.road_u
            u = rng.uniform(rl + 0.3, rr - 0.3)
            x0 = int(round(scene.vanish_x + u * unit - ow / 2))
            y0 = int(round(scene.horizon + unit - oh))
        elif placement == 'anywhere':
            oh = max(4, int(round(rng.uniform(0.06, 0.3) * h)))
            ow = max(4, int(round(oh * rng.uniform(0.6, 1.6))))
            x0 = int(rng.integers(0, max(1, w - ow)))
            y0 = int(rng.integers(0, max(1, h - oh)))
        else:
            raise ValueError(f"placement must be 'road' or 'anywhere', "
                             f'got {placement!r}')
        mask, rgb, look = make_outlier_object(rng, oh, ow)
        canvas.paste(x0, y0, mask, rgb, None, painted=anomaly)
        looks.append(look)
    return anomaly, looks


def finish_image(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Global exposure jitter and sensor noise, then quantise to uint8 RGB."""
    gain = rng.uniform(0.9, 1.1)
    bias = rng.uniform(-8, 8)
    noise = rng.standard_normal(image.shape, dtype=np.float32) * 2.0
    noisy = image * np.float32(gain) + np.float32(bias) + noise
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)
