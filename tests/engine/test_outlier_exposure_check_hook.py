"""The checks hook counts the outlier pixels that reach the outlier losses
in the first iterations, and warns or stops when none arrived."""
from types import SimpleNamespace

import pytest
import torch
from mmseg.registry import HOOKS, MODELS

from mmseg_ood.engine.hooks import OutlierExposureCheckHook
from mmseg_ood.engine.outlier_exposure_checks import OutlierExposureError


def tiny_model():
    return MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(type='ResNetV1c', depth=18, base_channels=4,
                      stem_channels=4, num_stages=1, out_indices=(0, ),
                      strides=(1, ), dilations=(1, )),
        decode_head=dict(
            type='FCNHead', in_channels=4, channels=4, num_convs=1,
            num_classes=3, loss_decode=[
                dict(type='InlierCrossEntropyLoss'),
                dict(type='EnergyLoss', num_classes=3)])))


def runner_with(model, prob, batch_size=2):
    paste = SimpleNamespace(writes_outlier_label=True, prob=prob)
    dataset = SimpleNamespace(pipeline=SimpleNamespace(transforms=[paste]))
    return SimpleNamespace(
        model=model, cfg=None, val_loop=None,
        train_dataloader=SimpleNamespace(dataset=dataset,
                                         batch_size=batch_size))


def energy_loss(model):
    return model.decode_head.loss_decode[1]


def labels(outliers):
    """(2, 4, 4) labels with ``outliers`` pixels of label 254."""
    label = torch.zeros(2, 4, 4, dtype=torch.long)
    label.view(-1)[:outliers] = 254
    return label


def train_iters(hook, runner, model, outliers_per_iter):
    for index, outliers in enumerate(outliers_per_iter):
        energy_loss(model)(torch.randn(2, 3, 4, 4), labels(outliers))
        hook.after_train_iter(runner, index)


def test_it_is_registered_and_checks_arguments():
    assert isinstance(HOOKS.build(dict(type='OutlierExposureCheckHook')),
                      OutlierExposureCheckHook)
    with pytest.raises(ValueError, match='crop_keep'):
        OutlierExposureCheckHook(crop_keep=0)


def test_it_counts_the_outliers_of_the_computed_iterations(mmlog):
    model = tiny_model()
    runner = runner_with(model, prob=0.5)
    hook = OutlierExposureCheckHook()
    hook.before_train(runner)
    # 0.5 ** 20 <= 1e-6: 20 frames, 10 iterations of 2
    assert hook._needed == 10
    train_iters(hook, runner, model, [0] * 8 + [3])
    assert hook.outlier_pixels is None  # 9 iterations: not checked yet
    train_iters(hook, runner, model, [5])
    assert hook.outlier_pixels == 8
    assert ('8 outlier pixels reached model.decode_head.loss_decode.1 in '
            'the first 10 iteration(s)') in mmlog.text
    # checked once; the counting hooks are gone
    train_iters(hook, runner, model, [7])
    assert hook.outlier_pixels == 8 and not hook._handles


def test_no_outlier_warns_naming_the_pipeline(mmlog):
    model = tiny_model()
    runner = runner_with(model, prob=0.5)
    hook = OutlierExposureCheckHook(check_iters=3)
    hook.before_train(runner)
    train_iters(hook, runner, model, [0, 0, 0])
    assert hook.outlier_pixels == 0
    assert ('No outlier pixel reached model.decode_head.loss_decode.1 in the '
            'first 3 iteration(s), although train_dataloader.dataset.'
            'pipeline pastes outliers with probability 0.5') in mmlog.text


def test_no_outlier_at_probability_one_stops_the_run():
    model = tiny_model()
    runner = runner_with(model, prob=1.0)
    hook = OutlierExposureCheckHook()
    hook.before_train(runner)
    assert hook._needed == 1  # every frame has a paste
    with pytest.raises(OutlierExposureError,
                       match='No outlier pixel reached'):
        train_iters(hook, runner, model, [0])


def test_point_logits_are_refused():
    model = tiny_model()
    hook = OutlierExposureCheckHook()
    hook.before_train(runner_with(model, prob=1.0))
    with pytest.raises(OutlierExposureError,
                       match=r'receives logits of shape \(2, 3, 16\) '
                       r'\(point samples\)'):
        energy_loss(model)(torch.randn(2, 3, 16), torch.zeros(2, 16).long())


def test_nothing_is_counted_without_outlier_losses():
    model = MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(type='ResNetV1c', depth=18, base_channels=4,
                      stem_channels=4, num_stages=1, out_indices=(0, ),
                      strides=(1, ), dilations=(1, )),
        decode_head=dict(type='FCNHead', in_channels=4, channels=4,
                         num_convs=1, num_classes=3,
                         loss_decode=dict(type='InlierCrossEntropyLoss'))))
    hook = OutlierExposureCheckHook()
    hook.before_train(runner_with(model, prob=0.0))
    assert hook._needed is None and not hook._handles
