"""BalancedEnergyLoss vs a hand-worked example and a loop re-computation."""
import itertools
import json
import math

import numpy as np
import pytest
import torch
from mmseg.registry import MODELS

from mmseg_ood.models.losses import BalancedEnergyLoss, EnergyLoss
from mmseg_ood.utils.constants import PAPER_CITYSCAPES_PRIOR

OUT = 254
VOID = 255


def reference_loss(logits, label, prior, *, k, alpha, gamma1, gamma2, m_in,
                   m_out, temperature, factor, sparse_w, smooth_w):
    """Pixel-by-pixel float64 re-computation of the paper's loss (Choi et
    al., CVPR 2023, section 3, with the public code's segmentation terms)."""
    logits = np.asarray(logits, dtype=np.float64)[:, :k]
    label = np.asarray(label)
    prior = np.asarray(prior, dtype=np.float64)
    pi1 = prior**gamma1 / np.sum(prior**gamma1)
    pi2 = prior**gamma2 / np.sum(prior**gamma2)
    spatial = logits.ndim == 4
    if not spatial:
        logits = logits[:, :, None, None]
        label = label[:, None, None]
    n, _, h, w = logits.shape
    energy = np.zeros((n, h, w))
    in_terms, out_num, out_den, sparse_vec = [], 0.0, 0.0, []
    for b, i, j in itertools.product(range(n), range(h), range(w)):
        f = logits[b, :, i, j]
        mx = f.max()
        e = -temperature * (mx / temperature + math.log(
            sum(math.exp((v - mx) / temperature) for v in f)))
        energy[b, i, j] = e
        y = label[b, i, j]
        if 0 <= y < k:
            in_terms.append(max(0.0, e - m_in)**2)
        elif y == OUT:
            p = np.exp(f - mx) / np.sum(np.exp(f - mx))
            z1, z2 = float(p @ pi1), float(p @ pi2)
            out_num += z2 * max(0.0, m_out + alpha * z1 - e)**2
            out_den += z2
            sparse_vec.append(e - alpha * z1)
    l_in = float(np.mean(in_terms)) if in_terms else 0.0
    if sparse_vec:
        loss = factor * (l_in + out_num / out_den)
        if spatial:
            loss += sparse_w * math.sqrt(sum(v * v for v in sparse_vec))
    else:
        loss = l_in
    if spatial:
        smooth = 0.0
        for b, i, j in itertools.product(range(n), range(h), range(w)):
            if i + 1 < h:
                smooth += (energy[b, i + 1, j] - energy[b, i, j])**2
            if j + 1 < w:
                smooth += (energy[b, i, j + 1] - energy[b, i, j])**2
        loss += smooth_w * 0.5 * smooth
    return loss


def test_hand_worked_classification_example():
    # K=2; one inlier (0, 0) and two outliers (ln3, 0), (0, ln3).
    logits = torch.tensor([[0.0, 0.0], [math.log(3), 0.0], [0.0, math.log(3)]])
    label = torch.tensor([1, OUT, OUT])
    # (N, K) logits: factor 1 and no spatial terms by default.
    loss = BalancedEnergyLoss(
        prior=[0.75, 0.25], alpha=2.0, gamma1=1.0, gamma2=2.0, m_in=-1.0,
        m_out=0.0, loss_weight=1.0)
    # E(inlier) = -ln 2 -> L_in = (1 - ln 2)^2.
    # Outlier 1: softmax (3/4, 1/4); pi^1 = (.75, .25) -> Z1 = 0.625;
    # pi^2 = (.9, .1) -> Z2 = 0.7; E = -ln 4; hinge = (1.25 + ln 4)^2.
    # Outlier 2: softmax (1/4, 3/4) -> Z1 = 0.375, Z2 = 0.3;
    # hinge = (0.75 + ln 4)^2.
    l_in = (1 - math.log(2))**2
    l_out = (0.7 * (1.25 + math.log(4))**2 + 0.3 *
             (0.75 + math.log(4))**2) / 1.0
    assert loss(logits, label).item() == pytest.approx(l_in + l_out,
                                                       rel=1e-6)


def test_hand_worked_segmentation_example():
    # One image, K=2, a 1x2 map: inlier (0, 0) beside outlier (ln3, 0).
    logits = torch.tensor([[[[0.0, math.log(3)]], [[0.0, 0.0]]]])
    label = torch.tensor([[[0, OUT]]])
    loss = BalancedEnergyLoss(
        prior=[0.75, 0.25], alpha=2.0, gamma1=1.0, gamma2=2.0, m_in=-1.0,
        m_out=0.0, sparse_weight=0.1, smooth_weight=0.2, loss_weight=1.0)
    # E = (-ln 2, -ln 4); Z1 = 0.625, Z2 = 0.7 (as above).
    # L_in = (1 - ln 2)^2; L_out = 0.7 (1.25 + ln 4)^2 / 0.7.
    # sparsity: |E_out - 2 Z1| = ln 4 + 1.25; smoothness: 0.5 (ln 2)^2.
    expected = (0.5 * ((1 - math.log(2))**2 + (1.25 + math.log(4))**2) +
                0.1 * (math.log(4) + 1.25) + 0.2 * 0.5 * math.log(2)**2)
    assert loss(logits, label).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('alpha,gamma1,gamma2', [(5.0, 3.0, 3.0),
                                                 (0.0, 1.0, 1.0),
                                                 (10.0, 0.75, 0.5),
                                                 (2.0, 2.0, 0.0)])
def test_matches_loop_recomputation_segmentation(alpha, gamma1, gamma2):
    gen = torch.Generator().manual_seed(int(alpha * 10 + gamma1 * 3))
    k = 5
    logits = torch.randn(2, k + 2, 4, 5, generator=gen) * 4
    label = torch.randint(0, k, (2, 4, 5), generator=gen)
    label[0, :2, :3] = OUT
    label[1, 3, :] = OUT
    label[1, 0, 0] = VOID
    prior = [0.5, 0.2, 0.15, 0.1, 0.05]
    kwargs = dict(alpha=alpha, gamma1=gamma1, gamma2=gamma2, m_in=-3.0,
                  m_out=-1.0, temperature=1.5)
    module = BalancedEnergyLoss(
        prior=prior, num_classes=k, in_out_factor=0.5, sparse_weight=0.05,
        smooth_weight=0.01, loss_weight=1.0, **kwargs)
    expected = reference_loss(
        logits.numpy(), label.numpy(), prior, k=k, factor=0.5, sparse_w=0.05,
        smooth_w=0.01, **kwargs)
    assert module(logits, label).item() == pytest.approx(expected, rel=1e-5)


def test_matches_loop_recomputation_without_outliers_and_classification():
    gen = torch.Generator().manual_seed(3)
    prior = [0.4, 0.3, 0.2, 0.1]
    common = dict(alpha=5.0, gamma1=3.0, gamma2=3.0, m_in=-2.0, m_out=-0.5,
                  temperature=1.0)
    # Segmentation batch without any outlier: L_in + smooth, no 0.5 factor.
    logits = torch.randn(1, 4, 3, 3, generator=gen) * 3
    label = torch.randint(0, 4, (1, 3, 3), generator=gen)
    module = BalancedEnergyLoss(prior=prior, loss_weight=1.0,
                                smooth_weight=0.1, **common)
    expected = reference_loss(logits.numpy(), label.numpy(), prior, k=4,
                              factor=0.5, sparse_w=5e-4, smooth_w=0.1,
                              **common)
    assert module(logits, label).item() == pytest.approx(expected, rel=1e-5)
    # (N, K) logits: no spatial terms; factor 1 as in the classification code.
    logits = torch.randn(6, 4, generator=gen) * 3
    label = torch.tensor([0, 1, OUT, 3, OUT, VOID])
    module = BalancedEnergyLoss(prior=prior, loss_weight=1.0,
                                in_out_factor=1.0, **common)
    expected = reference_loss(logits.numpy(), label.numpy(), prior, k=4,
                              factor=1.0, sparse_w=5e-4, smooth_w=3e-6,
                              **common)
    assert module(logits, label).item() == pytest.approx(expected, rel=1e-5)


def test_energy_loss_is_alpha0_uniform_prior():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 19, 6, 6, generator=gen) * 5
    label = torch.randint(0, 19, (2, 6, 6), generator=gen)
    label[:, :2] = OUT
    energy_loss = EnergyLoss()
    # gamma = 0 flattens any prior to uniform; with alpha = 0 this must be
    # the plain energy loss of Liu et al.
    flat = BalancedEnergyLoss(prior=PAPER_CITYSCAPES_PRIOR, alpha=0.0,
                              gamma1=0.0, gamma2=0.0,
                              loss_name='loss_energy')
    assert energy_loss(logits, label).item() == pytest.approx(
        flat(logits, label).item(), rel=1e-6)
    # ... and, term by term, L_out = mean max(0, m_out - E)^2.
    e = -torch.logsumexp(logits.double(), dim=1)
    inl, out = label < 19, label == OUT
    l_in = torch.relu(e[inl] + 12).pow(2).mean()
    l_out = torch.relu(-6 - e[out]).pow(2).mean()
    smooth = ((e[:, 1:] - e[:, :-1])**2).sum() + (
        (e[:, :, 1:] - e[:, :, :-1])**2).sum()
    expected = 0.1 * (0.5 * (l_in + l_out) + 5e-4 * e[out].norm() +
                      3e-6 * 0.5 * smooth)
    assert energy_loss(logits, label).item() == pytest.approx(
        expected.item(), rel=1e-5)
    assert energy_loss.loss_name == 'loss_energy'


def test_balanced_and_energy_on_outliers_equal_their_references():
    # all pixels outliers: the balanced margin m_out + alpha Z_g1 and the
    # Z_g2 weights make it differ from the energy loss by exactly what the
    # reference computes for each
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(1, 19, 8, 8, generator=gen)
    label = torch.full((1, 8, 8), OUT)
    common = dict(k=19, gamma1=3.0, gamma2=3.0, m_in=-12.0, m_out=-6.0,
                  temperature=1.0, factor=0.5, sparse_w=5e-4,
                  smooth_w=3e-6)
    balanced = reference_loss(logits, label, PAPER_CITYSCAPES_PRIOR,
                              alpha=5.0, **common)
    energy = reference_loss(logits, label, [1.0] * 19, alpha=0.0, **common)
    assert abs(balanced - energy) > 1e-2 * abs(energy)
    assert BalancedEnergyLoss(prior='cityscapes_paper')(
        logits, label).item() == pytest.approx(0.1 * balanced, rel=1e-5)
    assert EnergyLoss()(logits, label).item() == pytest.approx(
        0.1 * energy, rel=1e-5)


def test_gradients_finite_and_edge_batches():
    loss = BalancedEnergyLoss(prior='cityscapes_paper')
    gen = torch.Generator().manual_seed(2)
    for fill in (None, OUT, VOID, 3):
        logits = (torch.randn(2, 19, 5, 7, generator=gen) *
                  1e3).requires_grad_()
        label = torch.randint(0, 19, (2, 5, 7), generator=gen)
        label[:, 1:3] = OUT
        if fill is not None:
            label[:] = fill
        value = loss(logits, label)
        value.backward()
        assert torch.isfinite(value)
        assert torch.isfinite(logits.grad).all()
    # Only inliers: the outlier branch is skipped, value = 0.1*(L_in+smooth).
    logits = torch.randn(1, 19, 4, 4, generator=gen)
    only_in = torch.randint(0, 19, (1, 4, 4), generator=gen)
    plain = BalancedEnergyLoss(prior='cityscapes_paper', smooth_weight=0.0)
    e = -torch.logsumexp(logits, 1)
    assert plain(logits, only_in).item() == pytest.approx(
        0.1 * torch.relu(e + 12).pow(2).mean().item(), rel=1e-5)


def test_extra_channels_are_ignored():
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 20, 4, 4, generator=gen)
    label = torch.randint(0, 19, (2, 4, 4), generator=gen)
    label[:, 0] = OUT
    loss = BalancedEnergyLoss(prior='cityscapes_paper', num_classes=19)
    before = loss(logits, label).item()
    logits[:, 19] += 100.0
    assert loss(logits, label).item() == pytest.approx(before, rel=1e-7)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_computes_in_float32(dtype):
    gen = torch.Generator().manual_seed(5)
    logits = (torch.randn(2, 19, 6, 6, generator=gen) * 4).to(dtype)
    label = torch.randint(0, 19, (2, 6, 6), generator=gen)
    label[:, :2] = OUT
    loss = BalancedEnergyLoss(prior='cityscapes_paper')
    with torch.autocast('cpu', dtype=dtype):
        value = loss(logits, label)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(
        loss(logits.float(), label).item(), rel=1e-6)


def test_detach_prior_weight_stops_gradient_through_z():
    gen = torch.Generator().manual_seed(6)
    base = torch.randn(1, 4, 3, 3, generator=gen)
    label = torch.full((1, 3, 3), OUT)
    label[0, 0] = 1
    prior = [0.7, 0.1, 0.1, 0.1]
    grads = {}
    for detach in (False, True):
        logits = base.clone().requires_grad_()
        BalancedEnergyLoss(prior=prior, detach_prior_weight=detach,
                           m_out=5.0)(logits, label).backward()
        grads[detach] = logits.grad
    assert not torch.allclose(grads[False], grads[True])
    # With detached Z the gradient equals that of a loss whose Z are constants.
    logits = base.clone().requires_grad_()
    k_logits = logits.movedim(1, -1)[label == OUT]
    with torch.no_grad():
        p = torch.softmax(k_logits, -1)
        pi = torch.tensor(prior)
        z1 = p @ (pi**3 / (pi**3).sum())
        z2 = z1.clone()
    e = -torch.logsumexp(logits, 1)
    l_in = torch.relu(e[label == 1] + 12).pow(2).mean()
    l_out = (z2 * torch.relu(5.0 + 5 * z1 - e[label == OUT]).pow(2)).sum() / (
        z2.sum())
    smooth = ((e[:, 1:] - e[:, :-1])**2).sum() + (
        (e[:, :, 1:] - e[:, :, :-1])**2).sum()
    manual = 0.1 * (0.5 * (l_in + l_out) + 5e-4 *
                    (e[label == OUT] - 5 * z1).norm() + 3e-6 * 0.5 * smooth)
    manual.backward()
    assert torch.allclose(grads[True], logits.grad, atol=1e-6)


def test_prior_sources(tmp_path):
    listed = BalancedEnergyLoss(prior=[2.0, 1.0, 1.0])
    path = tmp_path / 'prior.json'
    path.write_text(json.dumps({'prior': [0.5, 0.25, 0.25], 'classes': 'abc'}))
    from_file = BalancedEnergyLoss(prior=str(path))
    bare = tmp_path / 'bare.json'
    bare.write_text(json.dumps([0.5, 0.25, 0.25]))
    from_bare = BalancedEnergyLoss(prior=str(bare))
    for other in (from_file, from_bare):
        assert torch.allclose(listed.prior_g1, other.prior_g1)
    assert listed.num_classes == 3
    assert BalancedEnergyLoss(prior='uniform').num_classes is None


@pytest.mark.parametrize('kwargs,message', [
    (dict(prior=[0.5, 0.5], num_classes=3), 'has 2 entries'),
    (dict(prior=[0.5, -0.1, 0.6]), 'non-negative'),
    (dict(prior=[0.0, 0.0]), 'sums to 0'),
    (dict(prior=[float('nan'), 1.0]), 'finite'),
    (dict(prior='zipf'), 'neither'),
    (dict(prior=['a', 'b']), 'list of numbers'),
    (dict(prior='uniform', temperature=0.0), 'temperature'),
    (dict(prior='uniform', num_classes=19, outlier_index=3), 'inlier classes'),
    (dict(prior='uniform', alpha=-1.0), 'alpha'),
    (dict(prior=[0.0, 1.0], gamma1=-1.0), 'gamma1'),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BalancedEnergyLoss(**kwargs)


def test_bad_prior_json(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        BalancedEnergyLoss(prior=str(tmp_path / 'missing.json'))
    path = tmp_path / 'p.json'
    path.write_text(json.dumps({'weights': [1, 2]}))
    with pytest.raises(ValueError, match='under the key "prior"'):
        BalancedEnergyLoss(prior=str(path))
    with pytest.raises(TypeError, match='EnergyLoss fixes'):
        EnergyLoss(prior='cityscapes_paper')


def test_runtime_errors():
    loss = BalancedEnergyLoss(prior='cityscapes_paper')
    with pytest.raises(ValueError, match='neither an inlier class'):
        loss(torch.randn(1, 19, 2, 2), torch.full((1, 2, 2), 40))
    with pytest.raises(ValueError, match='does not match'):
        loss(torch.randn(1, 19, 2, 2), torch.zeros(1, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match='only 10 channels'):
        loss(torch.randn(1, 10, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match='sampler'):
        loss(torch.randn(1, 19, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long),
             weight=torch.ones(1, 2, 2))


def test_built_from_registry_with_loss_name():
    loss = MODELS.build(
        dict(type='BalancedEnergyLoss', prior='cityscapes_paper',
             loss_weight=0.5, loss_name='loss_be'))
    assert isinstance(loss, BalancedEnergyLoss)
    assert loss.loss_name == 'loss_be'
    logits = torch.randn(1, 19, 3, 3)
    label = torch.zeros(1, 3, 3, dtype=torch.long)
    unweighted = MODELS.build(
        dict(type='BalancedEnergyLoss', prior='cityscapes_paper',
             loss_weight=1.0))
    assert loss(logits, label).item() == pytest.approx(
        0.5 * unweighted(logits, label).item())
    # The prior buffers follow .to() but stay out of checkpoints.
    assert 'prior_g1' not in loss.state_dict()


# ---------------------------------------------------------------------------
# Label values and prior files that would train the wrong thing
# ---------------------------------------------------------------------------
def test_outlier_index_equal_to_the_void_label_is_refused():
    # before: every void pixel was trained as an outlier
    loss = BalancedEnergyLoss(prior='uniform', num_classes=3,
                              outlier_index=255)
    label = torch.full((1, 4, 4), 255)
    with pytest.raises(ValueError, match='BalancedEnergyLoss: '
                       'outlier_index=255 is also the ignore label'):
        loss(torch.randn(1, 3, 4, 4), label, ignore_index=255)


def test_outlier_index_inside_the_logit_classes_is_refused():
    # a uniform prior without num_classes learns K at the first batch
    loss = EnergyLoss(outlier_index=5)
    with pytest.raises(ValueError, match='EnergyLoss: outlier_index=5 is '
                       'one of the 19 inlier classes'):
        loss(torch.randn(1, 19, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))


def test_a_truncated_prior_file_is_named(tmp_path):
    path = tmp_path / 'outlier_prior.json'
    path.write_text('{"prior": [0.1, 0.')
    with pytest.raises(ValueError, match=f'Prior file {path} is not '
                       'readable JSON.*truncated.*mmseg-ood-prior'):
        BalancedEnergyLoss(prior=str(path))
