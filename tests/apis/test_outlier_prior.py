"""Outlier prior estimation: counting, scenes, the demo model, the JSON."""
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from scipy.special import softmax

from mmseg_ood.apis.outlier_prior import (
    count_outlier_predictions,
    estimate_outlier_prior,
    format_prior_table,
    prior_record,
    save_prior,
)
from mmseg_ood.apis.scenes import build_scene_dataloader
from mmseg_ood.models.losses import (
    BalancedEnergyLoss,
    load_prior,
    sharpen_prior,
)
from mmseg_ood.utils.constants import (
    CITYSCAPES_CLASSES,
    IGNORE_INDEX,
    OUTLIER_INDEX,
)

from ..conftest import demo_config

DEMO = 'deeplabv3plus_balanced_energy_demo.py'
CAR = CITYSCAPES_CLASSES.index('car')
OUT, VOID = OUTLIER_INDEX, IGNORE_INDEX

# 3 inlier classes plus a 4th channel that must be ignored (it is the
# largest everywhere). Per pixel: logits and label.
HAND_PIXELS = [
    ([0., 1., 3., 9.], OUT),  # argmax of the first 3: class 2
    ([5., 1., 2., 9.], OUT),  # class 0
    ([0., 9., 0., 0.], 0),  # inlier: not counted
    ([0., 0., 1., 9.], OUT),  # class 2
    ([9., 0., 0., 0.], VOID),  # void: not counted
    ([1., 2., 0., 9.], OUT),  # class 1
]


def hand_input():
    logits = torch.tensor([p for p, _ in HAND_PIXELS]).T.reshape(4, 2, 3)
    label = torch.tensor([lab for _, lab in HAND_PIXELS]).reshape(2, 3)
    return logits, label


def test_argmax_counts_match_a_hand_count():
    logits, label = hand_input()
    counts = count_outlier_predictions(logits, label, 3, 'argmax')
    assert counts.dtype == torch.float64
    assert counts.tolist() == [1.0, 1.0, 2.0]
    # a (1, H, W) label map, as in gt_sem_seg, gives the same
    assert count_outlier_predictions(logits, label[None], 3).tolist() == [
        1.0, 1.0, 2.0
    ]


def test_softmax_counts_match_scipy_and_sum_to_the_outlier_pixels():
    logits, label = hand_input()
    counts = count_outlier_predictions(logits, label, 3, 'softmax')
    outliers = np.array([p[:3] for p, lab in HAND_PIXELS if lab == OUT])
    expected = softmax(outliers, axis=1).sum(axis=0)
    np.testing.assert_allclose(counts.numpy(), expected, rtol=1e-6)
    assert counts.sum().item() == pytest.approx(4.0)


def test_counts_match_numpy_on_random_maps():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(6, 9, 11)).astype(np.float32)
    label = rng.choice([0, 1, 2, 3, 4, OUT, OUT, VOID], size=(9, 11))
    mask = label == OUT
    expected_argmax = np.bincount(
        logits[:5][:, mask].argmax(axis=0), minlength=5)
    expected_softmax = softmax(logits[:5][:, mask], axis=0).sum(axis=1)
    argmax = count_outlier_predictions(
        torch.from_numpy(logits), torch.from_numpy(label), 5, 'argmax')
    soft = count_outlier_predictions(
        torch.from_numpy(logits), torch.from_numpy(label), 5, 'softmax')
    np.testing.assert_array_equal(argmax.numpy(), expected_argmax)
    np.testing.assert_allclose(soft.numpy(), expected_softmax, rtol=1e-5)
    assert soft.sum().item() == pytest.approx(mask.sum(), rel=1e-6)


def test_logits_are_resized_to_the_label():
    # constant logits stay constant under bilinear resizing: every outlier
    # pixel of the 8x8 label goes to class 1
    logits = torch.tensor([0., 2., 1.]).view(3, 1, 1).expand(3, 2, 2)
    label = torch.zeros(8, 8, dtype=torch.long)
    label[2:5, 1:7] = OUT
    counts = count_outlier_predictions(logits, label, 3)
    assert counts.tolist() == [0.0, 18.0, 0.0]


def test_count_rejects_bad_arguments():
    logits, label = hand_input()
    with pytest.raises(ValueError, match='mode'):
        count_outlier_predictions(logits, label, 3, 'mean')
    with pytest.raises(ValueError, match='num_classes=5'):
        count_outlier_predictions(logits, label, 5)
    with pytest.raises(ValueError, match='label must have shape'):
        count_outlier_predictions(logits, label[None, None], 3)


def demo_cfg():
    return Config.fromfile(demo_config(DEMO))


def biased_demo_model(bias):
    """The demo segmentor whose decode head outputs ``bias`` everywhere."""
    model = MODELS.build(demo_cfg().model)
    with torch.no_grad():
        model.decode_head.conv_seg.weight.zero_()
        model.decode_head.conv_seg.bias.copy_(torch.as_tensor(bias))
    return model


def outlier_pixels(loader):
    """Outlier pixels of every scene, counted on the labels alone."""
    return sum(
        int((sample.gt_sem_seg.data == OUT).sum()) for batch in loader
        for sample in batch['data_samples'])


def test_a_model_biased_to_car_gives_a_car_prior(demo_cwd):
    bias = torch.zeros(19)
    bias[CAR], bias[0] = 2.0, 1.0
    model = biased_demo_model(bias)
    loader = build_scene_dataloader(demo_cfg(), paste=True, num_samples=3,
                                    batch_size=2)
    total = outlier_pixels(loader)
    assert total > 0
    counts = estimate_outlier_prior(
        model, loader, 19, 'argmax', show_progress=False)
    expected = np.zeros(19)
    expected[CAR] = total
    np.testing.assert_array_equal(counts, expected)
    # softmax mode: every outlier pixel adds softmax(bias)
    soft = estimate_outlier_prior(
        model, loader, 19, 'softmax', show_progress=False)
    np.testing.assert_allclose(
        soft, total * softmax(bias.numpy().astype(np.float64)), rtol=1e-5)
    record = prior_record(soft, CITYSCAPES_CLASSES, mode='softmax')
    assert int(np.argmax(record['prior'])) == CAR
    assert format_prior_table(record).splitlines()[1].split()[:2] == [
        str(CAR), 'car'
    ]
    assert model.training  # the model's mode is restored


def test_record_round_trips_through_the_loss(tmp_path):
    counts = np.arange(19, dtype=np.float64) + 1
    record = prior_record(counts, CITYSCAPES_CLASSES, mode='argmax',
                          num_samples=7)
    assert record['outlier_pixels'] == counts.sum()
    assert record['classes'][CAR] == 'car'
    path = str(tmp_path / 'sub' / 'prior.json')
    save_prior(record, path)
    assert json.load(open(path))['num_samples'] == 7
    assert os.listdir(tmp_path / 'sub') == ['prior.json']
    prior = load_prior(path, 19)
    np.testing.assert_allclose(prior.numpy(), counts / counts.sum())
    loss = BalancedEnergyLoss(prior=path, num_classes=19)
    torch.testing.assert_close(
        loss.prior_g1, sharpen_prior(prior, 3.0).float())
    logits = torch.randn(1, 19, 4, 4, requires_grad=True)
    label = torch.full((1, 4, 4), OUT)
    loss(logits, label).backward()
    assert torch.isfinite(logits.grad).all()


def test_save_prior_never_overwrites_silently(tmp_path):
    path = str(tmp_path / 'prior.json')
    save_prior(prior_record([1.0, 3.0]), path)
    with pytest.raises(FileExistsError, match='prior.json already exists'):
        save_prior(prior_record([3.0, 1.0]), path)
    assert load_prior(path).tolist() == [0.25, 0.75]
    save_prior(prior_record([3.0, 1.0]), path, overwrite=True)
    assert load_prior(path).tolist() == [0.75, 0.25]
    with pytest.raises(ValueError, match='end in .json'):
        save_prior(prior_record([1.0]), str(tmp_path / 'prior.txt'))


def test_prior_record_rejects_empty_counts():
    with pytest.raises(ValueError, match='No outlier pixel was seen'):
        prior_record([0.0, 0.0])
    with pytest.raises(ValueError, match='2 class names for 3 counts'):
        prior_record([1.0, 1.0, 1.0], ['a', 'b'])
