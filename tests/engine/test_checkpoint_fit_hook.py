"""A test run refuses a checkpoint that does not fit its model."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmseg_ood.engine.checkpoint import CheckpointMismatchError
from mmseg_ood.engine.hooks.checkpoint_fit_hook import (
    CHECKPOINT_FIT_INFO,
    CheckpointFitHook,
)


class _Model(BaseModel):

    def __init__(self, classes=2):
        super().__init__()
        self.backbone = nn.Linear(2, 4)
        self.conv_seg = nn.Linear(4, classes)

    def forward(self, inputs, labels=None, mode='tensor'):
        return self.conv_seg(self.backbone(inputs))


def _runner(tmp_path, hook):
    return Runner(model=_Model(), work_dir=str(tmp_path),
                  custom_hooks=[hook])


def test_another_architecture_stops_the_load(tmp_path):
    other = tmp_path / 'other.pth'
    torch.save(dict(state_dict=_Model(classes=19).state_dict()), other)
    runner = _runner(tmp_path, CheckpointFitHook(str(other)))
    before = runner.model.conv_seg.weight.clone()
    # before: MMEngine loaded the backbone, logged the head and went on
    with pytest.raises(CheckpointMismatchError) as error:
        runner.load_checkpoint(str(other))
    message = str(error.value)
    assert message.startswith(f'{other} does not fit the model')
    assert 'conv_seg.weight: (19, 4) in the checkpoint, (2, 4) in the model' \
        in message
    assert '--allow-partial-checkpoint' in message
    assert torch.equal(runner.model.conv_seg.weight, before)


def test_allowed_partial_loads_are_recorded(tmp_path):
    other = tmp_path / 'other.pth'
    torch.save(dict(state_dict=_Model(classes=19).state_dict()), other)
    hook = CheckpointFitHook(str(other), allow_partial=True)
    runner = _runner(tmp_path, hook)
    runner.load_checkpoint(str(other))
    fit = runner.message_hub.get_info(CHECKPOINT_FIT_INFO)
    assert fit['partial'] and fit['checkpoint'] == str(other)
    assert len(fit['shape_mismatch']) == 2 and fit['missing'] == []
    exact = tmp_path / 'exact.pth'
    torch.save(dict(state_dict=_Model().state_dict()), exact)
    runner.load_checkpoint(str(exact))
    assert not runner.message_hub.get_info(CHECKPOINT_FIT_INFO)['partial']
