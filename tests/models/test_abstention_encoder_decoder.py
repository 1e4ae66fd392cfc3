"""AbstentionEncoderDecoder keeps extra channels out of every prediction."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmseg.registry import MODELS

from mmseg_ood.apis.outlier_prior import estimate_outlier_prior
from mmseg_ood.utils.constants import OUTLIER_INDEX


def tiny(mode='whole', **kwargs):
    """A small real segmentor whose 20th channel dominates everywhere."""
    cfg = ConfigDict(
        type='AbstentionEncoderDecoder',
        num_inlier_classes=19,
        data_preprocessor=dict(type='SegDataPreProcessor'),
        backbone=dict(type='ResNetV1c', depth=18, base_channels=8,
                      stem_channels=8, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(1, ),
                      norm_cfg=dict(type='BN')),
        decode_head=dict(type='FCNHead', in_channels=16, channels=8,
                         num_convs=1, num_classes=20, dropout_ratio=0,
                         norm_cfg=dict(type='BN')),
        test_cfg=dict(mode=mode, crop_size=(24, 24), stride=(16, 16)),
        **kwargs)
    model = MODELS.build(cfg).eval()
    with torch.no_grad():
        model.decode_head.conv_seg.bias[19] = 100.0
    return model


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_predictions_hold_the_inlier_classes_only(mode):
    model = tiny(mode)
    inputs = torch.rand(1, 3, 40, 56) * 255
    with torch.no_grad():
        raw = model.inference(inputs, [dict(img_shape=(40, 56),
                                            ori_shape=(40, 56))])
        sample = model.predict(inputs)[0]
    assert raw.shape[1] == 20 and (raw.argmax(1) == 19).all()
    logits = sample.seg_logits.data
    assert logits.shape == (19, 40, 56)
    assert torch.equal(sample.pred_sem_seg.data[0], logits.argmax(0))
    assert sample.pred_sem_seg.data.max() < 19
    assert torch.allclose(logits, raw[0, :19])


def test_the_prior_tool_counts_over_the_inlier_classes():
    model = tiny()
    label = torch.full((1, 40, 56), 3)
    label[:, 10:20, 10:30] = OUTLIER_INDEX
    batch = dict(inputs=[torch.rand(3, 40, 56) * 255],
                 data_samples=[_sample(label)])
    counts = estimate_outlier_prior(model, [batch], 19, show_progress=False)
    assert counts.shape == (19, ) and counts.sum() == 200


def _sample(label):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    sample = SegDataSample(gt_sem_seg=PixelData(data=label))
    sample.set_metainfo(dict(img_shape=(40, 56), ori_shape=(40, 56)))
    return sample


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_inlier_classes=20), r'int in \[1, 20\)'),
    (dict(num_inlier_classes=19, trainable=['decode_head.nope']),
     'match no parameter'),
    (dict(num_inlier_classes=19, freeze_bn=True), 'set trainable'),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        base = dict(
            type='AbstentionEncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(type='ResNetV1c', depth=18, base_channels=8,
                          stem_channels=8, num_stages=2, strides=(1, 2),
                          dilations=(1, 1), out_indices=(1, )),
            decode_head=dict(type='FCNHead', in_channels=16, channels=8,
                             num_convs=1, num_classes=20))
        MODELS.build(ConfigDict(base, **kwargs))
