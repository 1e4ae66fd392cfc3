"""Checkpoints named by the user load under torch's weights_only default."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmseg_ood.engine import model_checkpoint_paths, trusted_checkpoints


@pytest.fixture
def mmengine_like_checkpoint(tmp_path):
    # meta holds numpy values, as MMEngine's message hub does.
    path = tmp_path / 'work' / 'iter_10.pth'
    path.parent.mkdir()
    torch.save({'state_dict': {'w': torch.ones(2)},
                'meta': {'iter': 10, 'history': np.arange(3)}}, path)
    return path


def test_default_loader_refuses_and_trusted_loads(mmengine_like_checkpoint):
    path = str(mmengine_like_checkpoint)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(path, map_location='cpu')
    with trusted_checkpoints(files=[path]):
        ckpt = _load_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['iter'] == 10
    # Trust ends with the block.
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(path, map_location='cpu')


def test_trust_is_limited_to_named_files_and_dirs(mmengine_like_checkpoint,
                                                  tmp_path):
    path = str(mmengine_like_checkpoint)
    original = CheckpointLoader._schemes['']
    with trusted_checkpoints(files=[str(tmp_path / 'other.pth'), None,
                                    'https://x/y.pth']):
        with pytest.raises(pickle.UnpicklingError):
            _load_checkpoint(path, map_location='cpu')
    with trusted_checkpoints(dirs=[str(mmengine_like_checkpoint.parent)]):
        assert _load_checkpoint(path, map_location='cpu')['meta']['iter'] == 10
    assert CheckpointLoader._schemes[''] is original


def test_model_checkpoint_paths_are_found_at_any_depth():
    model = dict(
        pretrained='weights/backbone.pth',
        backbone=dict(init_cfg=dict(type='Pretrained',
                                    checkpoint='weights/b.pth')),
        heads=[dict(init_cfg=dict(type='Pretrained',
                                  checkpoint='https://x/y.pth'))],
        other=dict(pretrained=None))
    assert model_checkpoint_paths(model) == ['weights/backbone.pth',
                                             'weights/b.pth']
