"""Anomaly overlays on hand-built images, scores and label maps."""
import cv2
import numpy as np
import pytest

from mmseg_ood.visualization import (
    anomaly_boundary,
    anomaly_overlay,
    save_anomaly_overlay,
    score_range,
    void_hatching,
)
from mmseg_ood.visualization.overlays import COLORBAR_WIDTH, VOID_BGR

H, W = 40, 60
GREEN = (0, 255, 0)


def grey_image(value=100):
    return np.full((H, W, 3), value, dtype=np.uint8)


def rectangle_labels():
    """Anomaly rectangle rows 10..19, cols 20..39; void in rows 30..39."""
    labels = np.zeros((H, W), dtype=np.uint8)
    labels[10:20, 20:40] = 1
    labels[30:, :] = 255
    return labels


def test_shape_dtype_and_colorbar():
    score = np.random.default_rng(0).random((H, W)).astype(np.float32)
    plain = anomaly_overlay(grey_image(), score, show_colorbar=False)
    assert plain.shape == (H, W, 3) and plain.dtype == np.uint8
    with_bar = anomaly_overlay(grey_image(), score)
    assert with_bar.shape == (H, W + COLORBAR_WIDTH, 3)
    assert with_bar.dtype == np.uint8
    np.testing.assert_array_equal(with_bar[:, :W], plain)
    grey = anomaly_overlay(grey_image()[..., 0], score, show_colorbar=False)
    np.testing.assert_array_equal(grey, plain)


def test_high_scores_get_heat_colours():
    score = np.zeros((H, W), dtype=np.float32)
    score[:, W // 2:] = 1.0
    heat = anomaly_overlay(grey_image(), score, vmin=0, vmax=1, alpha=1.0,
                           show_colorbar=False).astype(int)
    blue, green, red = heat[..., 0], heat[..., 1], heat[..., 2]
    hot, cold = np.s_[:, W // 2:], np.s_[:, :W // 2]
    # turbo: high scores dark red, low scores dark blue-violet
    assert (red[hot] > blue[hot] + 50).all()
    assert (red[hot] > green[hot] + 50).all()
    assert (red[cold] < 64).all() and (blue[cold] >= red[cold]).all()
    # alpha blends the heat map and the image linearly
    half = anomaly_overlay(grey_image(), score, vmin=0, vmax=1, alpha=0.5,
                           show_colorbar=False).astype(int)
    assert np.abs(half - (heat + 100) / 2).max() <= 1


def test_rgb_input_gives_rgb_output():
    score = np.random.default_rng(1).random((H, W))
    image = np.random.default_rng(2).integers(0, 256, (H, W, 3), np.uint8)
    bgr = anomaly_overlay(image, score, rectangle_labels(), vmin=0, vmax=1)
    rgb = anomaly_overlay(image[..., ::-1], score, rectangle_labels(),
                          vmin=0, vmax=1, channel_order='rgb')
    np.testing.assert_array_equal(rgb, bgr[..., ::-1])


def test_contour_is_the_border_ring_of_the_anomaly():
    labels = rectangle_labels()
    ring = np.zeros((H, W), dtype=bool)
    ring[10:20, 20:40] = True
    ring[11:19, 21:39] = False
    np.testing.assert_array_equal(anomaly_boundary(labels), ring)
    thick = np.zeros((H, W), dtype=bool)
    thick[10:20, 20:40] = True
    thick[12:18, 22:38] = False
    np.testing.assert_array_equal(anomaly_boundary(labels, thickness=2),
                                  thick)
    out = anomaly_overlay(grey_image(), np.zeros((H, W)), labels, vmin=0,
                          vmax=1, contour_color=GREEN, show_colorbar=False)
    is_green = (out == GREEN).all(axis=-1)
    np.testing.assert_array_equal(is_green, ring)


def test_image_border_is_not_an_outline():
    labels = np.zeros((H, W), dtype=np.uint8)
    labels[:5, :5] = 1  # touches the top and left image borders
    expected = np.zeros((H, W), dtype=bool)
    expected[4, :5] = True
    expected[:5, 4] = True
    np.testing.assert_array_equal(anomaly_boundary(labels), expected)


def test_void_is_hatched_grey_and_nothing_else_changes():
    labels = rectangle_labels()
    score = np.random.default_rng(3).random((H, W))
    image = grey_image(200)
    bare = anomaly_overlay(image, score, vmin=0, vmax=1,
                           show_colorbar=False)
    out = anomaly_overlay(image, score, labels, vmin=0, vmax=1,
                          show_colorbar=False)
    void = labels == 255
    stripes = void & void_hatching((H, W))
    assert stripes.sum() > 0 and (void & ~stripes).sum() > 0
    assert (out[stripes] == VOID_BGR).all()
    np.testing.assert_array_equal(out[void & ~stripes],
                                  bare[void & ~stripes])
    untouched = ~void & ~anomaly_boundary(labels)
    np.testing.assert_array_equal(out[untouched], bare[untouched])


def test_fixed_range_makes_pictures_comparable():
    a = np.full((H, W), 0.5)
    a[:, 20:] = 1.0
    b = a / 2  # same set, lower scores: 0.25 and 0.5
    pixel, mid = (5, 30), (5, 10)  # score 1.0 / 0.5 in a; 0.5 / 0.25 in b
    fixed_a = anomaly_overlay(grey_image(), a, vmin=0, vmax=1, alpha=1)
    fixed_b = anomaly_overlay(grey_image(), b, vmin=0, vmax=1, alpha=1)
    np.testing.assert_array_equal(fixed_b[pixel], fixed_a[mid])
    assert not np.array_equal(fixed_b[pixel], fixed_a[pixel])
    own_a = anomaly_overlay(grey_image(), a, alpha=1)
    own_b = anomaly_overlay(grey_image(), b, alpha=1)
    # without a fixed range each picture stretches its own maximum
    np.testing.assert_array_equal(own_b[pixel], own_a[pixel])


def test_score_range_pools_the_set_without_void():
    rng = np.random.default_rng(4)
    maps = [rng.normal(size=(H, W)), rng.normal(3, 1, size=(H, W))]
    labels = [rectangle_labels(), np.zeros((H, W), np.uint8)]
    maps[0][labels[0] == 255] = 1e6  # void extremes must not count
    pooled = np.concatenate([maps[0][labels[0] != 255], maps[1].ravel()])
    vmin, vmax = score_range(maps, labels, percentiles=(5, 95))
    assert vmin == pytest.approx(np.percentile(pooled, 5), rel=1e-6)
    assert vmax == pytest.approx(np.percentile(pooled, 95), rel=1e-6)


def test_bad_inputs_name_the_problem():
    score = np.zeros((H, W))
    with pytest.raises(ValueError, match='score map is'):
        anomaly_overlay(grey_image(), np.zeros((H, W + 1)))
    with pytest.raises(ValueError, match='label map is'):
        anomaly_overlay(grey_image(), score, np.zeros((H + 1, W)))
    with pytest.raises(ValueError, match='larger than vmax'):
        anomaly_overlay(grey_image(), score, vmin=2, vmax=1)
    with pytest.raises(TypeError, match='uint8'):
        anomaly_overlay(grey_image().astype(np.float32), score)


def test_save_writes_the_same_picture(tmp_path):
    score = np.random.default_rng(5).random((H, W))
    image_file = str(tmp_path / 'image.png')
    image = np.random.default_rng(6).integers(0, 256, (H, W, 3), np.uint8)
    cv2.imwrite(image_file, image)
    out = str(tmp_path / 'vis' / 'overlay.png')
    save_anomaly_overlay(out, image_file, score, rectangle_labels(),
                         vmin=0, vmax=1)
    expected = anomaly_overlay(image, score, rectangle_labels(), vmin=0,
                               vmax=1)
    np.testing.assert_array_equal(cv2.imread(out), expected)
    assert sorted(p.name for p in (tmp_path / 'vis').iterdir()) == [
        'overlay.png'
    ]
    # an RGB array is saved with the right colours
    save_anomaly_overlay(out, image[..., ::-1], score, rectangle_labels(),
                         vmin=0, vmax=1, channel_order='rgb')
    np.testing.assert_array_equal(cv2.imread(out), expected)
