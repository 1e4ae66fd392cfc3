"""WiderResNet-38 A2 DeepLabV3+ with the abstention channel against the
official code's outputs (tests/data/pebal)."""
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_ood.models.scores import PAPER_BLUR, build_anomaly_score

from .pebal_fixture import (
    deterministic_weight,
    golden,
    mmseg_name,
    official_keys,
)

PEBAL_MODEL = ConfigDict(
    type='AbstentionEncoderDecoder',
    num_inlier_classes=19,
    data_preprocessor=dict(type='SegDataPreProcessor'),
    backbone=dict(type='WiderResNetA2'),
    decode_head=dict(type='DeepWV3PlusHead', num_classes=20),
    test_cfg=dict(mode='whole'))


@pytest.fixture(scope='module')
def model():
    """The model with the fixture's deterministic weights, loaded
    strictly."""
    init_default_scope('mmseg')  # module fixtures run before the autouse one
    net = MODELS.build(PEBAL_MODEL)
    net.load_state_dict(
        {mmseg_name(k): deterministic_weight(k, s)
         for k, s in official_keys().items()}, strict=True)
    return net.eval()


def test_names_and_shapes_map_one_to_one_onto_the_official_ones(model):
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours == {mmseg_name(k): s for k, s in official_keys().items()}
    # 137.1 M parameters (PAPER_MODEL.md)
    total = sum(p.numel() for p in model.parameters())
    assert round(total / 1e6, 1) == 137.1


def test_logits_and_score_equal_the_official_code(model):
    data = golden()
    inputs = torch.from_numpy(data['input'])
    with torch.no_grad():
        logits = model.encode_decode(inputs, [dict(img_shape=(33, 47))])
        predictions = model.predict(inputs)
    assert logits.shape == (1, 20, 33, 47)
    np.testing.assert_allclose(logits.numpy(), data['logits'], rtol=1e-5,
                               atol=2e-5)
    score = build_anomaly_score(
        dict(type='EnergyScore', num_classes=19, blur=PAPER_BLUR))
    stored = predictions[0].seg_logits.data
    assert stored.shape == (19, 33, 47)  # the abstention channel is out
    np.testing.assert_allclose(score(stored[None])[0].numpy(),
                               data['anomaly_score'], rtol=1e-5, atol=2e-5)


def test_training_only_final_keeps_the_frozen_part_in_train_mode():
    model = MODELS.build(dict(PEBAL_MODEL, trainable=['decode_head.final']))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert round(trainable / 1e6, 2) == 1.30  # final.0/1/3/4/6
    model.train()
    bn = model.backbone.mod2.block1.bn1[0]
    dropout = model.backbone.mod7.block1.convs.dropout
    assert bn.training and dropout.training and dropout.p == 0.5
    before = bn.running_mean.clone()
    model.extract_feat(torch.randn(2, 3, 32, 32))
    assert not torch.equal(bn.running_mean, before)  # statistics update


def test_frozen_bn_option_keeps_statistics():
    model = MODELS.build(
        dict(PEBAL_MODEL, trainable=['decode_head.final'], freeze_bn=True))
    model.train()
    frozen = model.backbone.mod2.block1.bn1[0]
    learning = model.decode_head.final[1]
    assert not frozen.training and learning.training
    before = frozen.running_mean.clone()
    model.extract_feat(torch.randn(2, 3, 32, 32))
    assert torch.equal(frozen.running_mean, before)
    assert model.backbone.mod7.block1.convs.dropout.training
