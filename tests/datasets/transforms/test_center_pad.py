"""CenterPad: PEBAL's centred padding, 0 after MMSeg's normalisation."""
import numpy as np
import pytest
import torch
from mmseg.registry import MODELS, TRANSFORMS

from mmseg_ood.utils.constants import IGNORE_INDEX


def test_pads_centred_with_the_mean_and_void():
    img = np.full((3, 5, 3), 7, dtype=np.uint8)
    seg = np.arange(15, dtype=np.uint8).reshape(3, 5)
    pad = TRANSFORMS.build(dict(type='CenterPad', size=(6, 6)))
    out = pad(dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map']))
    # 3 rows: 1 before, 2 after; 1 column: 0 before, 1 after
    assert out['center_pad'] == (1, 2, 0, 1)
    assert out['img'].shape == (6, 6, 3) and out['img_shape'] == (6, 6)
    assert (out['img'][1:4, :5] == 7).all()
    np.testing.assert_array_equal(out['gt_seg_map'][1:4, :5], seg)
    assert (out['gt_seg_map'][0] == IGNORE_INDEX).all()
    assert (out['gt_seg_map'][:, 5] == IGNORE_INDEX).all()
    # MMSeg's normaliser turns the padding into exactly 0
    pre = MODELS.build(dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
    inputs = torch.from_numpy(out['img']).permute(2, 0, 1)
    normalised = pre(dict(inputs=[inputs]))['inputs'][0]
    assert (normalised[:, 0] == 0).all() and (normalised[:, :, 5] == 0).all()


def test_large_images_are_left_alone():
    img = np.zeros((8, 9, 3), dtype=np.uint8)
    out = TRANSFORMS.build(dict(type='CenterPad', size=(6, 6)))(
        dict(img=img, seg_fields=[]))
    assert out['img'] is img and out['center_pad'] == (0, 0, 0, 0)


def test_channel_mismatch_is_named():
    pad = TRANSFORMS.build(dict(type='CenterPad', size=(4, 4)))
    with pytest.raises(ValueError, match='a.png has 4 channels'):
        pad(dict(img=np.zeros((2, 2, 4), np.uint8), img_path='a.png',
                 seg_fields=[]))
