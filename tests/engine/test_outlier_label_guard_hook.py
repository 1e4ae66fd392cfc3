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
from mmseg_ood.utils.constants import LabelRoleError

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
    paste = SimpleNamespace(outlier_index=254, writes_outlier_label=True)
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


# ---------------------------------------------------------------------------
# The label values of a run, checked against each other once
# ---------------------------------------------------------------------------
def _paste(outlier_index):
    return SimpleNamespace(outlier_index=outlier_index,
                           writes_outlier_label=True, prob=0.1)


def test_a_loss_outlier_label_inside_the_head_classes_is_refused():
    # InlierCrossEntropyLoss alone does not know the classes; the head does
    model = tiny_model(dict(type='InlierCrossEntropyLoss', outlier_index=5))
    with pytest.raises(LabelRoleError,
                       match=r'model.auxiliary_head.loss_decode '
                       r'\(InlierCrossEntropyLoss; its head has '
                       r'num_classes=19, ignore_index=255\): '
                       'outlier_index=5 is one of the 19 inlier classes'):
        OutlierLabelGuardHook().before_train(runner_for(model, [_paste(254)]))


@pytest.mark.parametrize('value, match', [
    (255, 'outlier_index=255 is also the ignore label'),
    (7, 'outlier_index=7 is one of the 19 inlier classes'),
])
def test_a_pasting_transform_that_collides_is_refused(value, match):
    model = tiny_model(dict(type='InlierCrossEntropyLoss'))
    with pytest.raises(LabelRoleError, match=r'train_dataloader.dataset.'
                       rf'pipeline: .*\(outlier_index={value}\).*{match}'):
        OutlierLabelGuardHook().before_train(
            runner_for(model, [_paste(value)]))


def test_transform_and_losses_must_agree_on_the_outlier_label():
    model = tiny_model(dict(type='InlierCrossEntropyLoss'))
    with pytest.raises(LabelRoleError, match='writes outlier label 253, but '
                       r'the losses read 254 \(model.decode_head'):
        OutlierLabelGuardHook().before_train(
            runner_for(model, [_paste(253)]))
    with pytest.raises(LabelRoleError, match=r'OutlierLabelGuardHook\('
                       'outlier_index=253\\) looks for another outlier '
                       'label'):
        OutlierLabelGuardHook(253).before_train(runner_for(model, []))
    OutlierLabelGuardHook().before_train(runner_for(model, [_paste(254)]))
