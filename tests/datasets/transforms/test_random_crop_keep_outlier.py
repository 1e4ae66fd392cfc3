"""RandomCropKeepOutlier: crops keep pasted outliers; otherwise RandomCrop."""
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmseg.registry import TRANSFORMS

from .bank_helpers import frame, solid_object, write_bank


def build(**kwargs):
    return TRANSFORMS.build(dict(type='RandomCropKeepOutlier', **kwargs))


def labelled_frame(height, width, seed=0):
    """Random image and 4-class labels (no outliers)."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 4, (height, width), dtype=np.uint8)
    return dict(img=rng.integers(0, 255, (height, width, 3), dtype=np.uint8),
                gt_seg_map=seg, aux_map=seg.copy(),
                seg_fields=['gt_seg_map', 'aux_map'])


def crop_of(transform, results, seed):
    np.random.seed(seed)
    return transform({k: (v.copy() if isinstance(v, np.ndarray) else v)
                      for k, v in results.items()})


@pytest.mark.parametrize('cat_max_ratio', [1.0, 0.3])
def test_without_outliers_it_is_mmsegs_random_crop(cat_max_ratio):
    results = labelled_frame(40, 60)
    results['gt_seg_map'][:, :30] = 1  # makes cat_max_ratio redraw often
    ours = build(crop_size=(16, 24), cat_max_ratio=cat_max_ratio)
    theirs = TRANSFORMS.build(
        dict(type='RandomCrop', crop_size=(16, 24),
             cat_max_ratio=cat_max_ratio))
    for seed in range(20):
        a = crop_of(ours, results, seed)
        b = crop_of(theirs, results, seed)
        for key in ('img', 'gt_seg_map', 'aux_map'):
            np.testing.assert_array_equal(a[key], b[key])
        assert a['img_shape'] == b['img_shape'] == (16, 24)


def blob_frame():
    """100x200 frame, labels 0, a 5x5 outlier blob at rows 80-84, 10-14."""
    results = labelled_frame(100, 200)
    for key in ('gt_seg_map', 'aux_map'):
        results[key][:] = 0
        results[key][80:85, 10:15] = 254
    return results


def test_outlier_is_in_every_crop_unlike_plain_random_crop():
    results = blob_frame()
    ours = build(crop_size=(32, 32))
    plain = TRANSFORMS.build(dict(type='RandomCrop', crop_size=(32, 32)))
    kept = [(crop_of(ours, results, s)['gt_seg_map'] == 254).any()
            for s in range(200)]
    plain_kept = [(crop_of(plain, results, s)['gt_seg_map'] == 254).any()
                  for s in range(200)]
    assert all(kept)
    assert sum(plain_kept) < 20  # a 32x32 crop of 100x200 rarely hits it


def test_crop_is_uniform_over_the_windows_that_hold_the_outlier():
    # 4x10 frame, one outlier pixel at column 5, crops 4x3: the windows
    # holding it start at columns 3, 4 and 5
    results = dict(img=np.zeros((4, 10, 3), np.uint8),
                   gt_seg_map=np.zeros((4, 10), np.uint8),
                   seg_fields=['gt_seg_map'])
    results['gt_seg_map'][2, 5] = 254
    t = build(crop_size=(4, 3))
    starts = []
    for seed in range(600):
        out = crop_of(t, results, seed)
        (cols, ) = np.nonzero((out['gt_seg_map'] == 254).any(axis=0))
        starts.append(5 - int(cols[0]))
    values, counts = np.unique(starts, return_counts=True)
    assert values.tolist() == [3, 4, 5]
    assert counts.min() > 150  # about 200 each


def test_min_outlier_pixels():
    results = blob_frame()
    t = build(crop_size=(32, 32), min_outlier_pixels=20)
    for seed in range(100):
        assert (crop_of(t, results, seed)['gt_seg_map'] == 254).sum() >= 20


def test_whole_object_with_fraction_one():
    results = blob_frame()
    t = build(crop_size=(32, 32), min_outlier_fraction=1.0)
    for seed in range(100):
        assert (crop_of(t, results, seed)['gt_seg_map'] == 254).sum() == 25


def test_unreachable_need_takes_the_best_windows():
    # a 5x5 blob and 3x3 crops: at most 9 outlier pixels fit
    results = blob_frame()
    t = build(crop_size=(3, 3), min_outlier_pixels=1000)
    for seed in range(30):
        assert (crop_of(t, results, seed)['gt_seg_map'] == 254).all()


def test_crop_larger_than_frame_keeps_all():
    results = blob_frame()
    out = crop_of(build(crop_size=(200, 400)), results, 0)
    assert out['img'].shape[:2] == (100, 200)
    assert (out['gt_seg_map'] == 254).sum() == 25


def test_cat_max_ratio_still_keeps_the_outlier():
    results = blob_frame()
    results['gt_seg_map'][:, 100:] = 1
    t = build(crop_size=(32, 32), cat_max_ratio=0.75)
    for seed in range(50):
        out = crop_of(t, results, seed)
        assert (out['gt_seg_map'] == 254).any()
        assert (out['aux_map'] == 254).any()  # every seg field, same box


def test_paste_then_keep_crop_in_a_pipeline(tmp_path):
    root = write_bank(str(tmp_path), [('sq', *solid_object(9, 9, 200))])
    pipeline = Compose([
        dict(type='PasteCocoObjects', data_root=root, prob=1.0),
        dict(type='RandomCropKeepOutlier', crop_size=(24, 24),
             min_outlier_pixels=10),
    ])
    for seed in range(50):
        np.random.seed(seed)
        out = pipeline(frame(120, 240))
        assert out['img'].shape[:2] == (24, 24)
        assert (out['gt_seg_map'] == 254).sum() >= 10
        assert ((out['img'][..., 0] == 200) == (out['gt_seg_map'] == 254)
                ).all()


@pytest.mark.parametrize('kwargs, match', [
    (dict(crop_size=0), 'crop_size'),
    (dict(crop_size=(10, )), 'crop_size'),
    (dict(crop_size=(10, 10), min_outlier_pixels=0), 'min_outlier_pixels'),
    (dict(crop_size=(10, 10), min_outlier_pixels=2.5), 'min_outlier_pixels'),
    (dict(crop_size=(10, 10), min_outlier_fraction=1.5),
     'min_outlier_fraction'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)


def test_list_crop_size_from_a_config_and_repr():
    t = build(crop_size=[16, 32], cat_max_ratio=0.75, min_outlier_pixels=8)
    assert t.crop_size == (16, 32)
    assert repr(t) == ('RandomCropKeepOutlier(crop_size=(16, 32), '
                       'cat_max_ratio=0.75, ignore_index=255, '
                       'outlier_index=254, min_outlier_pixels=8, '
                       'min_outlier_fraction=0.0)')
