"""ClampedPolyLR: the paper's poly schedule with its 1e-8 tail."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import PARAM_SCHEDULERS


def lrs(steps, **kwargs):
    param = torch.nn.Parameter(torch.zeros(1))
    optim = OptimWrapper(torch.optim.Adam([param], lr=1e-5))
    scheduler = PARAM_SCHEDULERS.build(
        dict(type='ClampedPolyLR', optimizer=optim, **kwargs))
    values = []
    for _ in range(steps):
        values.append(optim.get_lr()['lr'][0])
        param.grad = torch.ones(1)
        optim.step()
        scheduler.step()
    return values


def test_paper_schedule_by_hand():
    values = lrs(20, total_iters=16, power=0.9, eta_min=1e-8)
    for t, value in enumerate(values):
        expected = max(1e-5 * (1 - t / 16)**0.9, 1e-8) if t < 16 else 1e-8
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-20)
    assert values[0] == 1e-5 and values[16:] == [1e-8] * 4


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='total_iters'):
        lrs(1, total_iters=0)
    with pytest.raises(ValueError, match='eta_min'):
        lrs(1, total_iters=5, eta_min=-1)
