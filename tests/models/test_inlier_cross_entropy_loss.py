"""InlierCrossEntropyLoss against PyTorch's own cross-entropy."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS


def test_equals_torch_cross_entropy_with_outliers_ignored():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 19, 6, 7, generator=gen)
    label = torch.randint(0, 19, (2, 6, 7), generator=gen)
    label[0, :2] = 254
    label[1, -1] = 255
    loss = MODELS.build(
        dict(type='InlierCrossEntropyLoss', loss_weight=0.4,
             avg_non_ignore=True))
    reference = F.cross_entropy(
        logits, label.masked_fill(label == 254, 255), ignore_index=255)
    assert loss(logits, label, ignore_index=255).item() == pytest.approx(
        0.4 * reference.item(), rel=1e-6)
    # The caller's label map is not modified.
    assert (label[0, :2] == 254).all()


def test_plain_cross_entropy_cannot_take_the_outlier_label():
    logits = torch.randn(1, 19, 2, 2)
    label = torch.full((1, 2, 2), 254)
    plain = MODELS.build(dict(type='CrossEntropyLoss'))
    with pytest.raises((IndexError, RuntimeError)):
        plain(logits, label, ignore_index=255)
    inlier = MODELS.build(dict(type='InlierCrossEntropyLoss'))
    assert inlier(logits, label, ignore_index=255).item() == 0.0


@pytest.mark.parametrize('outlier_index, ignore_index, match', [
    (5, 255, 'outlier_index=5 is one of the 19 inlier classes'),
    (255, 255, 'outlier_index=255 is also the ignore label'),
])
def test_outlier_labels_that_collide_are_refused(outlier_index,
                                                 ignore_index, match):
    # before: class 5 (or every void pixel) was silently ignored
    loss = MODELS.build(dict(type='InlierCrossEntropyLoss',
                             outlier_index=outlier_index))
    with pytest.raises(ValueError, match='InlierCrossEntropyLoss: ' + match):
        loss(torch.randn(1, 19, 2, 2), torch.zeros(1, 2, 2,
                                                   dtype=torch.long),
             ignore_index=ignore_index)
