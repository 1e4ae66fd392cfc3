"""PasteCocoObjects: alignment of image and labels, probability, seeding."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

from mmseg_ood.datasets.transforms import read_coco_ood_object


def frame_results(demo_world, size=None):
    image_path = sorted(
        glob.glob(osp.join(demo_world['cityscapes'],
                           'leftImg8bit/train/*/*.png')))[0]
    label_path = image_path.replace('leftImg8bit/train', 'gtFine/train')
    label_path = label_path.replace('_leftImg8bit.png',
                                    '_gtFine_labelTrainIds.png')
    img = cv2.imread(image_path)
    seg = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
    if size is not None:
        img = cv2.resize(img, size[::-1])
        seg = cv2.resize(seg, size[::-1], interpolation=cv2.INTER_NEAREST)
    return dict(img=img, gt_seg_map=seg, aux_map=seg.copy(),
                seg_fields=['gt_seg_map', 'aux_map'])


def paste(demo_world, prob):
    return TRANSFORMS.build(
        dict(type='PasteCocoObjects', data_root=demo_world['coco'],
             prob=prob))


def test_probability_zero_changes_nothing(demo_world):
    results = frame_results(demo_world)
    before = {k: v.copy() for k, v in results.items() if k != 'seg_fields'}
    np.random.seed(0)
    out = paste(demo_world, 0.0)(results)
    assert out['ood_paste'] is None
    for key, value in before.items():
        np.testing.assert_array_equal(out[key], value)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_pasted_pixels_are_aligned_in_image_and_every_label(demo_world,
                                                            seed):
    # a frame larger than every bank object: objects paste at native size
    results = frame_results(demo_world, size=(700, 1000))
    img_before = results['img'].copy()
    seg_before = results['gt_seg_map'].copy()
    transform = paste(demo_world, 1.0)
    np.random.seed(seed)
    out = transform(results)
    x0, y0, x1, y1 = out['ood_paste']['bbox']
    entry = next(e for e in transform.bank
                 if e.img_path == out['ood_paste']['img_path'])
    obj_img, obj_mask = read_coco_ood_object(entry)
    assert (y1 - y0, x1 - x0) == obj_mask.shape
    expected = seg_before.copy()
    expected[y0:y1, x0:x1][obj_mask] = 254
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    np.testing.assert_array_equal(out['aux_map'], expected)
    pasted = out['gt_seg_map'] == 254
    assert pasted.sum() == obj_mask.sum() > 0
    np.testing.assert_array_equal(out['img'][y0:y1, x0:x1][obj_mask],
                                  obj_img[obj_mask])
    np.testing.assert_array_equal(out['img'][~pasted], img_before[~pasted])


def test_same_seed_same_paste(demo_world):
    transform = paste(demo_world, 0.5)
    runs = []
    for _ in range(2):
        np.random.seed(7)
        runs.append([transform(frame_results(demo_world))['gt_seg_map']
                     for _ in range(6)])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    pasted = [bool((m == 254).any()) for m in runs[0]]
    assert any(pasted) and not all(pasted)  # prob 0.5 over 6 draws, seed 7


def test_object_larger_than_frame_is_scaled_to_fit(demo_world):
    results = frame_results(demo_world, size=(24, 40))
    np.random.seed(0)
    out = paste(demo_world, 1.0)(results)
    x0, y0, x1, y1 = out['ood_paste']['bbox']
    assert 0 <= x0 < x1 <= 40 and 0 <= y0 < y1 <= 24
    assert (out['gt_seg_map'] == 254).any()


def test_missing_bank_says_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='mmseg-ood-coco-bank'):
        TRANSFORMS.build(dict(type='PasteCocoObjects',
                              data_root=str(tmp_path)))
    with pytest.raises(ValueError, match='prob'):
        TRANSFORMS.build(dict(type='PasteCocoObjects', data_root='x',
                              prob=1.5))
