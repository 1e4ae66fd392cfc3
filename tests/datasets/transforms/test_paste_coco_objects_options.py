"""PasteCocoObjects options: scale, placement, several objects, soft edges.

Every test uses a hand-made bank of solid rectangles, so the expected pixels
follow from the arguments by hand.
"""
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmcv.transforms.utils import cache_random_params
from mmseg.registry import TRANSFORMS

from .bank_helpers import frame, solid_object, write_bank

ROAD, SIDEWALK, BUILDING = 0, 1, 2


@pytest.fixture(scope='module')
def square_bank(tmp_path_factory):
    """One 11x11 square of colour 200."""
    root = str(tmp_path_factory.mktemp('square_bank'))
    return write_bank(root, [('square', *solid_object(11, 11, 200))])


@pytest.fixture(scope='module')
def rect_bank(tmp_path_factory):
    """One 10x20 (h x w) rectangle of colour 100."""
    root = str(tmp_path_factory.mktemp('rect_bank'))
    return write_bank(root, [('rect', *solid_object(10, 20, 100))])


@pytest.fixture(scope='module')
def two_bank(tmp_path_factory):
    """Two objects: a 4x6 rectangle (colour 50) and a 7x3 one (colour 90)."""
    root = str(tmp_path_factory.mktemp('two_bank'))
    return write_bank(root, [('a', *solid_object(4, 6, 50)),
                             ('b', *solid_object(7, 3, 90))])


def build(data_root, **kwargs):
    kwargs.setdefault('prob', 1.0)
    return TRANSFORMS.build(
        dict(type='PasteCocoObjects', data_root=data_root, **kwargs))


# --------------------------------------------------------------------------
# Defaults: the paper's policy
# --------------------------------------------------------------------------


@pytest.mark.parametrize('seed', range(8))
def test_default_policy_reproduces_the_reference_draws(two_bank, seed):
    """Same seed, same paste as the single-object policy always drew.

    Reference: rand() < prob, randint(len(bank)), then randint over the
    free rows and free columns; hard paste at native size.
    """
    sizes = {0: (4, 6, 50), 1: (7, 3, 90)}
    np.random.seed(seed)
    expected = frame(30, 40)
    pasted = np.random.rand() < 0.5
    if pasted:
        index = np.random.randint(2)
        h, w, value = sizes[index]
        y0 = np.random.randint(30 - h + 1)
        x0 = np.random.randint(40 - w + 1)
        for key in ('img', 'gt_seg_map', 'aux_map'):
            expected[key][y0:y0 + h, x0:x0 + w] = (value if key == 'img' else
                                                   254)
    np.random.seed(seed)
    out = build(two_bank, prob=0.5)(frame(30, 40))
    for key in ('img', 'gt_seg_map', 'aux_map'):
        np.testing.assert_array_equal(out[key], expected[key])
    if pasted:
        assert out['ood_paste']['bbox'] == [x0, y0, x0 + w, y0 + h]
        assert out['ood_paste']['objects'][0]['placement'] == 'uniform'
        assert out['ood_paste']['objects'][0]['scale'] == 1.0
        assert out['ood_paste']['skipped'] == []
    else:
        assert out['ood_paste'] is None


def test_defaults_are_the_papers_policy(square_bank):
    t = build(square_bank, prob=0.1)
    assert t.prob == 0.1
    assert t.num_objects == (1, 1)
    assert t.scale_range is None
    assert t.placement_ids is None
    assert t.soft_edge == 0
    assert TRANSFORMS.build(
        dict(type='PasteCocoObjects', data_root=square_bank)).prob == 0.1


# --------------------------------------------------------------------------
# Placement on chosen classes
# --------------------------------------------------------------------------


def road_frame():
    """60x80 frame of building with a road patch at rows 40-49, cols 20-59."""
    results = frame(60, 80, label=BUILDING)
    for key in ('gt_seg_map', 'aux_map'):
        results[key][40:50, 20:60] = ROAD
    return results


@pytest.mark.parametrize('classes', [('road', ), 'road', [ROAD]])
def test_bottom_center_anchor_lands_on_the_class(square_bank, classes):
    t = build(square_bank, placement_classes=classes)
    anchors = set()
    for seed in range(40):
        np.random.seed(seed)
        results = road_frame()
        before = results['gt_seg_map'].copy()
        out = t(results)
        (obj, ) = out['ood_paste']['objects']
        x0, y0, x1, y1 = obj['bbox']
        ax, ay = obj['anchor']
        assert obj['placement'] == 'class'
        assert (ax, ay) == (x0 + 5, y1 - 1)  # bottom centre of an 11x11 box
        assert before[ay, ax] == ROAD
        assert 0 <= x0 and x1 <= 80 and 0 <= y0 and y1 <= 60
        assert (out['gt_seg_map'][y0:y1, x0:x1] == 254).all()
        anchors.add((ax, ay))
    assert len(anchors) > 20  # drawn among the road pixels, not fixed


def test_placement_reads_wide_label_maps_too(square_bank):
    t = build(square_bank, placement_classes=('road', ))
    for seed in range(5):
        results = road_frame()
        np.random.seed(seed)
        expected = t({k: (v.copy() if k != 'seg_fields' else v)
                      for k, v in results.items()})['ood_paste']
        results['gt_seg_map'] = results['gt_seg_map'].astype(np.int64)
        np.random.seed(seed)
        assert t(results)['ood_paste'] == expected


def test_center_anchor(square_bank):
    t = build(square_bank, placement_classes=('road', ),
              placement_anchor='center')
    for seed in range(20):
        np.random.seed(seed)
        results = road_frame()
        before = results['gt_seg_map'].copy()
        obj = t(results)['ood_paste']['objects'][0]
        x0, y0 = obj['bbox'][:2]
        assert obj['anchor'] == [x0 + 5, y0 + 5]
        assert before[y0 + 5, x0 + 5] == ROAD


def test_anchor_is_drawn_where_the_whole_box_fits(square_bank):
    # road only in the top row: a bottom-centre anchor there would put the
    # box above the frame, so no position qualifies
    results = frame(40, 40, label=BUILDING)
    results['gt_seg_map'][0, :] = ROAD
    np.random.seed(0)
    out = build(square_bank, placement_classes=('road', ),
                placement_fallback='skip')(results)
    assert out['ood_paste']['objects'] == []
    # row 10 is the first row where the 11-pixel box fits
    results = frame(40, 40, label=BUILDING)
    results['gt_seg_map'][10, 30] = ROAD
    np.random.seed(0)
    obj = build(square_bank, placement_classes=('road', ))(
        results)['ood_paste']['objects'][0]
    assert obj['bbox'] == [25, 0, 36, 11] and obj['anchor'] == [30, 10]


def test_no_class_pixel_falls_back_to_uniform(square_bank):
    np.random.seed(3)
    results = frame(40, 40, label=BUILDING)
    out = build(square_bank, placement_classes=('road', ))(results)
    (obj, ) = out['ood_paste']['objects']
    assert obj['placement'] == 'fallback' and obj['anchor'] is None
    assert (out['gt_seg_map'] == 254).sum() == 121


def test_no_class_pixel_skip_pastes_nothing_and_says_so(square_bank):
    np.random.seed(3)
    results = frame(40, 40, label=BUILDING)
    img_before = results['img'].copy()
    out = build(square_bank, placement_classes=('road', 'sidewalk'),
                placement_fallback='skip')(results)
    assert out['ood_paste']['objects'] == []
    assert out['ood_paste']['bbox'] is None
    assert [s['reason'] for s in out['ood_paste']['skipped']] == [
        'no_placement_pixel'
    ]
    assert not (out['gt_seg_map'] == 254).any()
    np.testing.assert_array_equal(out['img'], img_before)


def test_several_objects_do_not_anchor_on_earlier_ones(square_bank):
    # a road strip 12 rows high: anchors can only sit in its lower rows
    t = build(square_bank, placement_classes=('road', ), num_objects=4)
    for seed in range(15):
        np.random.seed(seed)
        results = frame(40, 120, label=BUILDING)
        results['gt_seg_map'][20:32, :] = ROAD
        before = results['gt_seg_map'].copy()
        objects = t(results)['ood_paste']['objects']
        assert len(objects) == 4
        for k, obj in enumerate(objects):
            ax, ay = obj['anchor']
            assert before[ay, ax] == ROAD
            for earlier in objects[:k]:
                x0, y0, x1, y1 = earlier['bbox']
                assert not (x0 <= ax < x1 and y0 <= ay < y1)


def test_class_placed_objects_do_not_anchor_on_fallback_ones(tmp_path):
    # road only in rows 2..9 of a 22x40 frame: the 20x20 object has no
    # bottom-centre anchor there (it needs row >= 19), so it falls back to
    # uniform placement and covers rows y0..y0+19 (y0 <= 2) of 20 columns;
    # the 3x3 object anchors on road (rows >= 2), which it must then find
    # outside the fallback object
    root = write_bank(str(tmp_path), [('big', *solid_object(20, 20, 60)),
                                      ('small', *solid_object(3, 3, 120))])
    t = build(root, placement_classes=('road', ), num_objects=2)
    checked = 0
    for seed in range(40):
        np.random.seed(seed)
        results = frame(22, 40, label=BUILDING)
        results['gt_seg_map'][2:10, :] = ROAD
        objects = t(results)['ood_paste']['objects']
        assert len(objects) == 2
        first, second = objects
        if first['placement'] != 'fallback' or second['placement'] != (
                'class'):
            continue
        checked += 1
        x0, y0, x1, y1 = first['bbox']
        ax, ay = second['anchor']
        assert not (x0 <= ax < x1 and y0 <= ay < y1), (seed, first, second)
    # about a quarter of the seeds draw (big, small); without clearing the
    # fallback object's pixels about half of those anchor on it
    assert checked >= 5


def test_placement_needs_the_label_map(square_bank):
    results = frame(40, 40)
    del results['gt_seg_map']
    results['seg_fields'] = ['aux_map']
    with pytest.raises(KeyError, match='LoadAnnotations'):
        build(square_bank, placement_classes=('road', ))(results)


# --------------------------------------------------------------------------
# Scale jitter
# --------------------------------------------------------------------------


def test_native_scale_range(rect_bank):
    t = build(rect_bank, scale_range=(0.5, 1.5))
    heights = set()
    for seed in range(30):
        # the draws of the plan: paste?, which object, which scale
        np.random.seed(seed)
        np.random.rand()
        np.random.randint(1)
        expected_scale = np.random.uniform(0.5, 1.5)
        np.random.seed(seed)
        out = t(frame(60, 80))
        (obj, ) = out['ood_paste']['objects']
        x0, y0, x1, y1 = obj['bbox']
        assert obj['scale'] == expected_scale
        # size = int(native * scale) for a 10x20 object
        assert (y1 - y0, x1 - x0) == (int(10 * obj['scale']),
                                      int(20 * obj['scale']))
        assert 5 <= y1 - y0 <= 15 and 10 <= x1 - x0 <= 30
        assert (out['gt_seg_map'] == 254).sum() == (y1 - y0) * (x1 - x0)
        heights.add(y1 - y0)
    # the 30 seeds give these heights of int(10 * U(0.5, 1.5))
    assert heights == set(range(5, 15))


def test_frame_height_scale(rect_bank):
    # box height = 0.25 of an 80-pixel frame = 20, aspect kept: 20x40
    np.random.seed(0)
    out = build(rect_bank, scale_range=(0.25, 0.25),
                scale_mode='frame_height')(frame(80, 100))
    x0, y0, x1, y1 = out['ood_paste']['bbox']
    assert (y1 - y0, x1 - x0) == (20, 40)
    assert out['ood_paste']['objects'][0]['scale'] == 2.0


def test_scaled_object_too_large_is_fitted(rect_bank):
    # 10x20 x 5 = 50x100 does not fit 30x50: fit factor min(3, 2.5) = 2.5
    np.random.seed(0)
    out = build(rect_bank, scale_range=(5.0, 5.0))(frame(30, 50))
    obj = out['ood_paste']['objects'][0]
    x0, y0, x1, y1 = obj['bbox']
    assert obj['scale'] == 2.5 and (y1 - y0, x1 - x0) == (25, 50)


def test_object_vanishing_when_shrunk_is_reported(tmp_path):
    # mask = two opposite corners of a 10x10 box; at 1x1 nearest sampling
    # hits the empty middle
    image = np.full((10, 10, 3), 80, np.uint8)
    mask = np.zeros((10, 10), bool)
    mask[0, 9] = mask[9, 0] = True
    root = write_bank(str(tmp_path), [('corners', image, mask)])
    np.random.seed(0)
    out = build(root, scale_range=(0.1, 0.1))(frame(20, 20))
    assert out['ood_paste']['objects'] == []
    assert out['ood_paste']['skipped'][0]['reason'] == 'empty_after_resize'


# --------------------------------------------------------------------------
# Several objects
# --------------------------------------------------------------------------


def test_fixed_number_of_objects(two_bank):
    np.random.seed(1)
    out = build(two_bank, num_objects=3)(frame(100, 100))
    objects = out['ood_paste']['objects']
    assert len(objects) == 3
    union = np.zeros((100, 100), bool)
    for obj in objects:
        x0, y0, x1, y1 = obj['bbox']
        union[y0:y1, x0:x1] = True
    np.testing.assert_array_equal(out['gt_seg_map'] == 254, union)
    assert out['ood_paste']['bbox'] == objects[0]['bbox']


def test_number_of_objects_range(two_bank):
    t = build(two_bank, num_objects=(2, 4))
    counts = set()
    for seed in range(30):
        np.random.seed(seed)
        counts.add(len(t(frame(50, 50))['ood_paste']['objects']))
    assert counts == {2, 3, 4}


# --------------------------------------------------------------------------
# Soft edges
# --------------------------------------------------------------------------


def test_soft_edge_hand_worked(square_bank):
    # 11x11 square of 200 on black, soft_edge=2: alpha = d / 3 with d the
    # ring index from the border (1, 2, then >= 3): 67, 133, 200
    np.random.seed(0)
    out = build(square_bank, soft_edge=2)(frame(30, 30, value=0))
    x0, y0, x1, y1 = out['ood_paste']['bbox']
    patch = out['img'][y0:y1, x0:x1, 0]
    edge = np.minimum(np.arange(11), 10 - np.arange(11))
    ring = np.minimum.outer(edge, edge)  # 0 on the border
    expected = np.where(ring == 0, 67, np.where(ring == 1, 133, 200))
    np.testing.assert_array_equal(patch, expected)
    label = out['gt_seg_map'][y0:y1, x0:x1]
    np.testing.assert_array_equal(label == 254, ring >= 1)
    np.testing.assert_array_equal(label[ring == 0], 2)  # unchanged
    assert (out['gt_seg_map'] == 254).sum() == 81
    # outside the box nothing changed
    outside = np.ones((30, 30), bool)
    outside[y0:y1, x0:x1] = False
    assert (out['img'][outside] == 0).all()


def test_soft_edge_band_lies_between_foreground_and_background(square_bank):
    np.random.seed(4)
    out = build(square_bank, soft_edge=4)(frame(30, 30, value=40))
    x0, y0, x1, y1 = out['ood_paste']['bbox']
    patch = out['img'][y0:y1, x0:x1, 0].astype(int)
    assert (patch[0] > 40).all() and (patch[0] < 200).all()
    assert patch[5, 5] == 200
    assert set(np.unique(out['gt_seg_map'])) == {2, 254}


# --------------------------------------------------------------------------
# Pasting after resize and crop
# --------------------------------------------------------------------------


def test_paste_after_resize_and_crop(square_bank):
    pipeline = Compose([
        dict(type='RandomResize', scale=(80, 60), ratio_range=(1.0, 2.0),
             keep_ratio=True),
        dict(type='RandomCrop', crop_size=(32, 32)),
        dict(type='PasteCocoObjects', data_root=square_bank, prob=1.0,
             placement_classes=('road', )),
    ])
    for seed in range(10):
        np.random.seed(seed)
        results = road_frame()
        results['img_shape'] = results['img'].shape[:2]
        del results['aux_map']
        results['seg_fields'] = ['gt_seg_map']
        out = pipeline(results)
        assert out['img'].shape[:2] == (32, 32)
        assert (out['gt_seg_map'] == 254).sum() == 121
        obj = out['ood_paste']['objects'][0]
        assert obj['placement'] in ('class', 'fallback')


# --------------------------------------------------------------------------
# Seeding and cached randomness
# --------------------------------------------------------------------------


def test_cached_randomness_repeats_the_whole_paste(two_bank):
    t = build(two_bank, num_objects=(1, 4), scale_range=(0.5, 2.0),
              placement_classes=('road', ), soft_edge=2)
    np.random.seed(5)
    with cache_random_params(t):
        first = t(road_frame())
        second = t(road_frame())
    assert first['ood_paste'] == second['ood_paste']
    for key in ('img', 'gt_seg_map'):
        np.testing.assert_array_equal(first[key], second[key])
    np.random.seed(5)
    again = t(road_frame())  # same seed, no cache: same paste
    assert again['ood_paste'] == first['ood_paste']


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(num_objects=0), ValueError, 'num_objects'),
    (dict(num_objects=(3, 2)), ValueError, 'num_objects'),
    (dict(num_objects='2'), TypeError, 'num_objects'),
    (dict(num_objects=True), TypeError, 'num_objects'),
    (dict(scale_range=(0, 1)), ValueError, 'scale_range'),
    (dict(scale_range=(2, 1)), ValueError, 'scale_range'),
    (dict(scale_range=1.5), TypeError, 'scale_range'),
    (dict(scale_mode='relative'), ValueError, 'scale_mode'),
    (dict(placement_classes=('roads', )), ValueError, "'roads'"),
    (dict(placement_classes=()), ValueError, 'placement_classes'),
    (dict(placement_classes=(254, )), ValueError, 'outlier_index'),
    (dict(placement_classes=(300, )), ValueError, '300'),
    (dict(placement_classes=(0.5, )), TypeError, 'placement_classes'),
    (dict(placement_anchor='top'), ValueError, 'placement_anchor'),
    (dict(placement_fallback='raise'), ValueError, 'placement_fallback'),
    (dict(soft_edge=-1), ValueError, 'soft_edge'),
    (dict(soft_edge=1.5), ValueError, 'soft_edge'),
])
def test_bad_arguments(square_bank, kwargs, error, match):
    with pytest.raises(error, match=match):
        build(square_bank, **kwargs)


def test_unknown_class_error_lists_the_valid_names(square_bank):
    with pytest.raises(ValueError, match='sidewalk'):
        build(square_bank, placement_classes=('pavement', ))


def test_repr_shows_every_option(square_bank):
    text = repr(
        build(square_bank, num_objects=(1, 3), scale_range=(0.5, 2),
              scale_mode='frame_height', placement_classes=('road', ),
              placement_anchor='center', placement_fallback='skip',
              soft_edge=3))
    assert text == (
        f'PasteCocoObjects(data_root={square_bank!r}, '
        "ann_file='annotations/ood_seg_train2017.json', prob=1.0, "
        'outlier_index=254, num_objects=(1, 3), scale_range=(0.5, 2.0), '
        "scale_mode='frame_height', placement_classes=('road',), "
        "placement_anchor='center', placement_fallback='skip', "
        "placement_key='gt_seg_map', soft_edge=3, num_classes=None, "
        'ignore_index=255, bank_size=1)')


# --------------------------------------------------------------------------
# Bad inputs: label values, frames, objects too thin to label
# --------------------------------------------------------------------------


@pytest.mark.parametrize('kwargs, match', [
    (dict(outlier_index=255), 'outlier_index=255 is also the ignore label'),
    (dict(outlier_index=5, num_classes=19),
     'outlier_index=5 is one of the 19 inlier classes'),
    (dict(outlier_index=254, ignore_index=254),
     'outlier_index=254 is also the ignore label'),
    (dict(outlier_index=300), 'outlier_index=300 does not fit a label map'),
])
def test_label_values_that_collide_are_refused(square_bank, kwargs, match):
    with pytest.raises(ValueError, match='PasteCocoObjects: ' + match):
        build(square_bank, **kwargs)


@pytest.mark.parametrize('shape', [(30, 30), (30, 30, 1), (30, 30, 4)])
def test_frames_without_three_channels_are_named(square_bank, shape):
    results = frame(30, 30)
    results['img'] = np.zeros(shape, np.uint8)
    results['img_path'] = 'data/city/frame_0001.png'
    channels = 1 if len(shape) == 2 else shape[2]
    with pytest.raises(ValueError, match=f'frame_0001.png has {channels} '
                       r"channel\(s\).*color_type='color'"):
        build(square_bank)(results)


def test_a_label_map_of_another_size_is_named(square_bank):
    results = frame(30, 30)
    results['aux_map'] = np.zeros((15, 30), np.uint8)
    results['img_path'] = 'f.png'
    with pytest.raises(ValueError, match=r"results\['aux_map'\] of f.png "
                       r'has shape \(15, 30\), the image \(30, 30\)'):
        build(square_bank)(results)


@pytest.fixture(scope='module')
def pixel_bank(tmp_path_factory):
    """One 1x1 object (colour 200)."""
    root = str(tmp_path_factory.mktemp('pixel_bank'))
    return write_bank(root, [('pixel', *solid_object(1, 1, 200))])


def test_an_object_too_thin_for_soft_edges_is_skipped_not_unlabelled(
        pixel_bank):
    # alpha of a 1-pixel object is 1 / (soft_edge + 1) < 0.5: blended in,
    # but never labelled; it is not pasted and says why
    results = frame(20, 20, value=0)
    out = build(pixel_bank, soft_edge=2)(results)
    assert out['ood_paste']['objects'] == []
    assert out['ood_paste']['skipped'] == [dict(
        img_path=out['ood_paste']['skipped'][0]['img_path'],
        reason='too_thin_for_soft_edge')]
    assert (out['img'] == 0).all() and (out['gt_seg_map'] == 2).all()
    hard = build(pixel_bank, soft_edge=0)(frame(20, 20, value=0))
    assert (hard['gt_seg_map'] == 254).sum() == 1
    assert len(hard['ood_paste']['objects']) == 1
