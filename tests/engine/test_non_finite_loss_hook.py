"""A loss that becomes NaN or infinite stops training at that iteration."""
import os

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmseg_ood.engine.hooks import NonFiniteLossError, NonFiniteLossHook
from mmseg_ood.engine.hooks.non_finite_loss_hook import non_finite_terms
from mmseg_ood.engine.runner_setup import TRAIN_HOOKS


class _Diverging(BaseModel):
    """Two loss terms; ``decode.loss_energy`` is NaN from ``nan_at`` on."""

    def __init__(self, nan_at):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.nan_at, self.calls = nan_at, 0

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode != 'loss':
            return out
        self.calls += 1
        energy = out.pow(2).mean()
        if self.calls >= self.nan_at:
            energy = energy * float('nan')
        return {'decode.loss_ce': out.abs().mean(),
                'decode.loss_energy': energy}


class _Data(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)))


def test_training_stops_at_the_first_nan_with_the_term(tmp_path):
    runner = Runner(
        model=_Diverging(nan_at=3), work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_Data(), batch_size=2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=6),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1, by_epoch=False)),
        custom_hooks=[dict(type='NonFiniteLossHook')], default_scope='mmseg')
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    message = str(error.value)
    assert message.startswith('Training diverged at iteration 3: '
                              'loss = nan, decode.loss_energy = nan.')
    assert 'decode.loss_ce' not in message and '--resume' in message
    # the broken step is not saved; the last good checkpoint is
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth')) \
        == ['iter_1.pth', 'iter_2.pth']


def test_terms_and_values():
    assert non_finite_terms(None) == {}
    assert non_finite_terms({'loss': torch.tensor(1.0), 'acc_seg':
                             torch.tensor(float('nan'))}) == {}
    assert non_finite_terms({'loss': torch.tensor(float('inf')),
                             'aux.loss_ce': float('-inf')}) == {
                                 'loss': float('inf'),
                                 'aux.loss_ce': float('-inf')}


def test_every_training_run_gets_it():
    assert NonFiniteLossHook in TRAIN_HOOKS
    # it runs before CheckpointHook (VERY_LOW) in after_train_iter
    assert NonFiniteLossHook.priority == 'VERY_HIGH'
