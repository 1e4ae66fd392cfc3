"""PixelAbstentionLoss against the official code's values (tests/data/pebal)
and hand-worked cases."""
import math

import numpy as np
import pytest
import torch
from mmseg.registry import MODELS

from mmseg_ood.utils.constants import IGNORE_INDEX, OUTLIER_INDEX

from .pebal_fixture import golden

PAL = dict(type='PixelAbstentionLoss', num_classes=19)
BE = dict(type='BalancedEnergyLoss', prior='cityscapes_paper',
          num_classes=19, loss_weight=0.1)


def fixture_batch():
    data = golden()
    logits = torch.from_numpy(data['loss_logits']).requires_grad_()
    labels = torch.from_numpy(data['loss_labels'])
    return data, logits, labels


def test_equal_to_the_official_code_per_subset_and_in_total():
    data, logits, labels = fixture_batch()
    pal, be = MODELS.build(PAL), MODELS.build(BE)
    ood = torch.from_numpy(data['loss_is_ood'])
    assert ood.tolist() == [(labels[i] == OUTLIER_INDEX).any().item()
                            for i in range(4)]
    assert pal(logits[~ood], labels[~ood]).item() == pytest.approx(
        float(data['pal_in']), rel=1e-6)
    assert pal(logits[ood], labels[ood]).item() == pytest.approx(
        float(data['pal_out']), rel=1e-6)
    untouched = labels.clone()
    # the head hands the whole batch to every loss: PAL splits it itself
    total = pal(logits, labels) + be(logits, labels)
    assert total.item() == pytest.approx(float(data['total']), rel=1e-6)
    total.backward()
    np.testing.assert_allclose(logits.grad.numpy(), data['total_grad'],
                               rtol=1e-4, atol=1e-8)
    assert torch.equal(labels, untouched)  # never modified in place


def test_float32_under_autocast():
    data, logits, labels = fixture_batch()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = MODELS.build(PAL)(logits, labels)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(
        float(data['pal_in'] + data['pal_out']), rel=1e-6)


def _one_pixel(logits, label):
    """(1, C, 1, 1) logits and a (1, 1, 1) label."""
    return (torch.tensor(logits, dtype=torch.float32).view(1, -1, 1, 1),
            torch.tensor([[[label]]]))


def test_hand_worked_single_pixels():
    # K=2, logits (0, 0, 0): p = 1/3 each; the 1x1 blur of lse^2 is
    # (ln 2)^2, so r = (1/3) / (ln 2)^2
    r = (1 / 3) / math.log(2)**2
    loss = MODELS.build(dict(PAL, num_classes=2))
    inlier = loss(*_one_pixel([0., 0., 0.], 1))
    assert inlier.item() == pytest.approx(-math.log(1 / 3 + r), rel=1e-5)
    # an outlier pixel alone: no inlier pixel, outlier term of the code
    # (mean over the 2 classes of log(p_c + r)) at weight 0.1
    outlier = loss(*_one_pixel([0., 0., 0.], OUTLIER_INDEX))
    assert outlier.item() == pytest.approx(-0.1 * math.log(1 / 3 + r),
                                           rel=1e-5)
    # Eq. 3 as written: the abstention channel log(p_res + r)
    eq3 = MODELS.build(dict(PAL, num_classes=2, outlier_term='eq3'))
    value = eq3(*_one_pixel([2., 0., 1.], OUTLIER_INDEX)).item()
    p = np.exp([2., 0., 1.]) / np.exp([2., 0., 1.]).sum()
    r = p[2] / np.log(np.exp(2.) + 1.)**2
    assert value == pytest.approx(-0.1 * math.log(p[2] + r), rel=1e-5)


def test_empty_subsets_and_void_contribute_nothing():
    loss = MODELS.build(PAL)
    logits = torch.randn(2, 20, 6, 6, generator=torch.Generator()
                         .manual_seed(0)).requires_grad_()
    void = torch.full((2, 6, 6), IGNORE_INDEX)
    value = loss(logits, void)
    assert value.item() == 0.0
    value.backward()  # stays in the graph, no NaN
    assert torch.isfinite(logits.grad).all()
    labels = torch.randint(0, 19, (2, 6, 6))
    clean_only = loss(logits, labels)
    labels[1, 0, 0] = IGNORE_INDEX
    labels[0, 2:4, 2:4] = OUTLIER_INDEX
    assert torch.isfinite(loss(logits, labels))
    assert torch.isfinite(clean_only)


@pytest.mark.parametrize('kwargs, shape, label, match', [
    ({}, (1, 19, 2, 2), 0, 'num_classes=19 inlier classes and the '
     'abstention channel'),
    ({}, (1, 20, 2, 2), 30, r'Labels \[30\]'),
    ({'outlier_term': 'paper'}, None, 0, 'outlier_term'),
    ({'outlier_index': 3}, None, 0, 'inlier classes'),
])
def test_bad_input_is_named(kwargs, shape, label, match):
    with pytest.raises(ValueError, match=match):
        loss = MODELS.build(dict(PAL, **kwargs))
        loss(torch.zeros(shape), torch.full((1, 2, 2), label))


def test_outlier_index_equal_to_the_void_label_is_refused():
    loss = MODELS.build(dict(type='PixelAbstentionLoss', num_classes=3,
                             outlier_index=IGNORE_INDEX))
    label = torch.full((1, 4, 4), IGNORE_INDEX)
    with pytest.raises(ValueError, match='PixelAbstentionLoss: '
                       'outlier_index=255 is also the ignore label'):
        loss(torch.randn(1, 4, 4, 4), label, ignore_index=IGNORE_INDEX)
