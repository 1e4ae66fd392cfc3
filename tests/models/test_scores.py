"""Anomaly scores against independent numpy / scipy computations."""
import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from scipy.special import logsumexp, softmax

from mmseg_ood.models.scores import anomaly_score, energy, gaussian_blur


@pytest.fixture
def logits():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(2, 21, 9, 11, generator=gen)


def test_scores_match_numpy(logits):
    x = logits.numpy().astype(np.float64)[:, :19]
    prob = softmax(x, axis=1)
    expected = {
        'energy': -2.0 * logsumexp(x / 2.0, axis=1),
        'max_logit': -x.max(axis=1),
        'max_softmax': 1 - prob.max(axis=1),
        'entropy': -(prob * np.log(prob)).sum(axis=1),
    }
    for name, value in expected.items():
        score = anomaly_score(logits, name, num_classes=19, temperature=2.0)
        assert score.dtype == torch.float32
        np.testing.assert_allclose(score.numpy(), value, rtol=1e-5, atol=1e-5)


def test_higher_is_more_anomalous():
    confident = torch.tensor([[10.0, 0.0, 0.0]])
    uncertain = torch.tensor([[0.1, 0.0, 0.05]])
    for name in ('energy', 'max_logit', 'max_softmax', 'entropy'):
        assert anomaly_score(uncertain, name) > anomaly_score(confident, name)


def test_blur_matches_scipy_gaussian(logits):
    maps = torch.randn(3, 12, 15, generator=torch.Generator().manual_seed(1))
    blurred = gaussian_blur(maps, kernel_size=7, sigma=1.0)
    # torch 'reflect' padding is scipy's 'mirror'; truncate=3 -> 7x7 kernel.
    expected = np.stack([
        gaussian_filter(m.double().numpy(), sigma=1.0, mode='mirror',
                        truncate=3.0) for m in maps
    ])
    np.testing.assert_allclose(blurred.numpy(), expected, atol=1e-5)
    score = anomaly_score(logits, 'energy', blur=True)
    np.testing.assert_allclose(
        score.numpy(),
        gaussian_blur(anomaly_score(logits, 'energy')).numpy(), atol=1e-6)


def test_half_precision_logits_are_scored_in_float32(logits):
    score = anomaly_score(logits.to(torch.bfloat16), 'energy')
    assert score.dtype == torch.float32


def test_errors(logits):
    with pytest.raises(ValueError, match='Unknown anomaly score'):
        anomaly_score(logits, 'mahalanobis')
    with pytest.raises(ValueError, match='only 21 channels'):
        anomaly_score(logits, num_classes=30)
    with pytest.raises(ValueError, match='spatial'):
        anomaly_score(logits[:, :, 0, 0], blur=True)
    with pytest.raises(ValueError, match='odd'):
        gaussian_blur(logits[:, 0], kernel_size=4)


def test_energy_gradient_equals_torch_logsumexp():
    # the training path keeps the softmax for the backward pass
    logits = (torch.randn(2, 19, 8, 9, dtype=torch.float64) * 4)
    logits[0, :, 0, 0] = 50.0  # large, equal logits: no overflow
    grad = torch.randn(2, 8, 9, dtype=torch.float64)
    ours = logits.clone().requires_grad_(True)
    reference = logits.clone().requires_grad_(True)
    value = energy(ours)
    expected = -torch.logsumexp(reference, dim=1)
    torch.testing.assert_close(value, expected, rtol=0, atol=1e-12)
    (value * grad).sum().backward()
    (expected * grad).sum().backward()
    torch.testing.assert_close(ours.grad, reference.grad, rtol=0,
                               atol=1e-12)
