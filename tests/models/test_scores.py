"""Anomaly scores: hand-worked values, numpy / scipy references, config."""
import json
import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from scipy.special import logsumexp, softmax

from mmseg_ood.models.scores import (
    PAPER_BLUR,
    EnergyScore,
    EntropyScore,
    MaxLogitScore,
    MaxSoftmaxScore,
    StandardizedMaxLogitScore,
    build_anomaly_score,
    energy,
    gaussian_blur,
)
from mmseg_ood.registry import ANOMALY_SCORES

# One pixel with inlier logits (ln 3, 0, 0) and a 4th (abstention) channel
# that must never be scored: softmax = (3/5, 1/5, 1/5).
PIXEL = torch.tensor([[math.log(3.0), 0.0, 0.0, 100.0]])


@pytest.fixture
def logits():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(2, 21, 9, 11, generator=gen)


@pytest.mark.parametrize('score, expected', [
    # -logsumexp = -ln(3 + 1 + 1)
    (EnergyScore(3), -math.log(5.0)),
    # -2 ln(3^(1/2) + 1 + 1)
    (EnergyScore(3, temperature=2.0), -2 * math.log(math.sqrt(3) + 2)),
    (MaxLogitScore(3), -math.log(3.0)),
    (MaxSoftmaxScore(3), 1 - 3 / 5),
    # -(0.6 ln 0.6 + 2 * 0.2 ln 0.2)
    (EntropyScore(3), -(0.6 * math.log(0.6) + 0.4 * math.log(0.2))),
])
def test_each_score_equals_its_hand_worked_value(score, expected):
    value = score(PIXEL)
    assert value.dtype == torch.float32 and value.shape == (1, )
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_scores_match_numpy_over_the_inlier_channels(logits):
    x = logits.numpy().astype(np.float64)[:, :19]
    prob = softmax(x, axis=1)
    expected = {
        'EnergyScore': -2.0 * logsumexp(x / 2.0, axis=1),
        'MaxLogitScore': -x.max(axis=1),
        'MaxSoftmaxScore': 1 - prob.max(axis=1),
        'EntropyScore': -(prob * np.log(prob)).sum(axis=1),
    }
    for name, value in expected.items():
        cfg = dict(type=name, num_classes=19)
        if name == 'EnergyScore':
            cfg['temperature'] = 2.0
        score = build_anomaly_score(cfg)
        assert type(score) is ANOMALY_SCORES.get(name)
        np.testing.assert_allclose(score(logits).numpy(), value, rtol=1e-5,
                                   atol=1e-5)


def test_higher_is_more_anomalous():
    confident = torch.tensor([[10.0, 0.0, 0.0]])
    uncertain = torch.tensor([[0.1, 0.0, 0.05]])
    for cls in (EnergyScore, MaxLogitScore, MaxSoftmaxScore, EntropyScore):
        assert cls(3)(uncertain) > cls(3)(confident)


def test_sml_equals_its_hand_worked_value(tmp_path):
    stats = dict(mean=[1.0, 2.0, 3.0], std=[0.5, 1.0, 2.0])
    score = StandardizedMaxLogitScore(3, statistics=stats)
    # pixel 1: class 0, max ln 3 -> -(ln 3 - 1) / 0.5
    # pixel 2: class 1, max 4   -> -(4 - 2) / 1
    # pixel 3: class 2, max 2   -> -(2 - 3) / 2
    pixels = torch.tensor([[math.log(3.0), 0.0, 0.0, 9.0],
                           [0.0, 4.0, 1.0, 9.0], [0.0, 1.0, 2.0, 9.0]])
    np.testing.assert_allclose(
        score(pixels).numpy(),
        [-(math.log(3.0) - 1.0) / 0.5, -2.0, 0.5], rtol=1e-6)
    # the same from the statistics file
    path = tmp_path / 'sml.json'
    path.write_text(json.dumps(dict(stats, classes=['a', 'b', 'c'])))
    from_file = build_anomaly_score(
        dict(type='StandardizedMaxLogitScore', num_classes=3,
             statistics=str(path)))
    torch.testing.assert_close(from_file(pixels), score(pixels))
    assert from_file.settings()['statistics'] == str(path)
    assert from_file.settings()['statistics_sha256'] == score.digest


def test_sml_refuses_unusable_statistics(tmp_path):
    with pytest.raises(FileNotFoundError, match='mmseg-ood-sml-statistics'):
        StandardizedMaxLogitScore(2, statistics=str(tmp_path / 'none.json'))
    with pytest.raises(ValueError, match='num_classes=3'):
        StandardizedMaxLogitScore(3, dict(mean=[0.0, 1.0], std=[1.0, 1.0]))
    # a class without statistics needs those of all pixels
    with pytest.raises(ValueError, match=r"classes \['b'\] and none over "
                       'all pixels'):
        StandardizedMaxLogitScore(
            2, dict(mean=[0.0, None], std=[1.0, None], classes=['a', 'b']))
    with pytest.raises(ValueError, match=r"classes \['1'\]"):
        StandardizedMaxLogitScore(2, dict(mean=[0.0, 1.0], std=[1.0, 0.0],
                                          global_std=1.0))
    score = StandardizedMaxLogitScore(
        2, dict(mean=[0.0, 1.0], std=[1.0, 0.0], global_mean=2.0,
                global_std=4.0))
    # class 1 (std 0) uses the global statistics: -(3 - 2) / 4
    assert score(torch.tensor([[0.0, 3.0]])).item() == pytest.approx(-0.25)
    assert score.fallback_classes == ['1']
    broken = tmp_path / 'broken.json'
    broken.write_text('{"mean": [')
    with pytest.raises(ValueError, match='broken.json is not readable'):
        StandardizedMaxLogitScore(2, statistics=str(broken))


def test_blur_matches_scipy_gaussian(logits):
    maps = torch.randn(3, 12, 15, generator=torch.Generator().manual_seed(1))
    blurred = gaussian_blur(maps, kernel_size=7, sigma=1.0)
    # torch 'reflect' padding is scipy's 'mirror'; truncate=3 -> 7x7 kernel.
    expected = np.stack([
        gaussian_filter(m.double().numpy(), sigma=1.0, mode='mirror',
                        truncate=3.0) for m in maps
    ])
    np.testing.assert_allclose(blurred.numpy(), expected, atol=1e-5)
    blurred_score = EnergyScore(19, blur=PAPER_BLUR)(logits)
    np.testing.assert_allclose(
        blurred_score.numpy(),
        gaussian_blur(EnergyScore(19)(logits)).numpy(), atol=1e-6)


def test_half_precision_logits_are_scored_in_float32(logits):
    score = EnergyScore(19)(logits.to(torch.bfloat16))
    assert score.dtype == torch.float32


def test_settings_round_trip_through_the_registry():
    score = build_anomaly_score(
        dict(type='EnergyScore', num_classes=19, temperature=2,
             blur=dict(kernel_size=5, sigma=2)))
    settings = score.settings()
    assert settings == dict(type='EnergyScore', num_classes=19,
                            temperature=2.0,
                            blur=dict(kernel_size=5, sigma=2.0))
    assert build_anomaly_score(settings).settings() == settings
    assert build_anomaly_score(score) is score
    assert repr(score).startswith('EnergyScore(num_classes=19')


def test_errors(logits):
    with pytest.raises(ValueError, match='num_classes'):
        build_anomaly_score(dict(type='EnergyScore', num_classes=None))
    with pytest.raises(TypeError, match='num_classes'):
        build_anomaly_score(dict(type='EnergyScore'))
    with pytest.raises(ValueError, match="Unknown anomaly score type "
                       "'Mahalanobis'"):
        build_anomaly_score(dict(type='Mahalanobis', num_classes=19))
    with pytest.raises(ValueError, match='dict with a type'):
        build_anomaly_score('energy')
    with pytest.raises(ValueError, match='only 21 channels'):
        EnergyScore(30)(logits)
    with pytest.raises(ValueError, match='spatial'):
        EnergyScore(19, blur=PAPER_BLUR)(logits[:, :, 0, 0])
    with pytest.raises(ValueError, match='odd'):
        EnergyScore(19, blur=dict(kernel_size=4, sigma=1.0))
    with pytest.raises(ValueError, match='blur must be None or dict'):
        EnergyScore(19, blur=True)
    with pytest.raises(ValueError, match='temperature'):
        EnergyScore(19, temperature=0)


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
