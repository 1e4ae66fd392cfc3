"""The guard names plain losses that would see label 254, and the fix."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ood.engine.hooks import (
    OutlierLabelError,
    OutlierLabelGuardHook,
    find_outlier_unaware_losses,
)

from ..conftest import CONFIG_DIR

MODEL_CFG = str(CONFIG_DIR / '_base_' / 'models' /
                'deeplabv3plus_r50-d8_balanced-energy.py')


def tiny_model(aux_loss):
    model = Config.fromfile(MODEL_CFG).model
    model.pretrained = None
    norm = dict(type='BN', requires_grad=True)
    model.backbone.update(depth=18, base_channels=8, stem_channels=8,
                          norm_cfg=norm)
    model.decode_head.update(in_channels=64, channels=16, c1_in_channels=8,
                             c1_channels=4, norm_cfg=norm)
    model.auxiliary_head.update(in_channels=32, channels=8, norm_cfg=norm,
                                loss_decode=aux_loss)
    return MODELS.build(model)


def batch_with_label(value):
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.full((1, 4, 4), value))
    return dict(inputs=[torch.zeros(3, 4, 4)], data_samples=[sample])


def runner_for(model, pipeline_transforms):
    dataset = SimpleNamespace(
        pipeline=SimpleNamespace(transforms=pipeline_transforms))
    return SimpleNamespace(
        model=model, train_dataloader=SimpleNamespace(dataset=dataset))


def test_shipped_losses_are_outlier_aware():
    model = tiny_model(dict(type='InlierCrossEntropyLoss', loss_weight=0.4))
    assert find_outlier_unaware_losses(model) == []


def test_plain_cross_entropy_fails_before_training_with_the_fix():
    model = tiny_model(dict(type='CrossEntropyLoss', loss_weight=0.4))
    assert find_outlier_unaware_losses(model) == [
        'auxiliary_head.loss_decode (CrossEntropyLoss)']
    paste = SimpleNamespace(outlier_index=254)
    hook = OutlierLabelGuardHook()
    with pytest.raises(OutlierLabelError) as err:
        hook.before_train(runner_for(model, [paste]))
    message = str(err.value)
    assert 'auxiliary_head.loss_decode (CrossEntropyLoss)' in message
    assert "dict(type='InlierCrossEntropyLoss'" in message


def test_batches_are_checked_when_the_pipeline_does_not_paste():
    model = tiny_model(dict(type='CrossEntropyLoss', loss_weight=0.4))
    hook = OutlierLabelGuardHook()
    runner = runner_for(model, [])
    hook.before_train(runner)  # no pasting transform: no error yet
    hook.before_train_iter(runner, 0, batch_with_label(3))
    with pytest.raises(OutlierLabelError, match='InlierCrossEntropyLoss'):
        hook.before_train_iter(runner, 1, batch_with_label(254))
