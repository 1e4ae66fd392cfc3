"""CPU distributed set-up of configs (the torchrun run is in tests/tools)."""
import pytest
import torch
from mmengine.config import Config

from mmseg_ood.engine import replace_sync_bn, setup_cpu_distributed


def test_replace_sync_bn_everywhere():
    model = dict(
        backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)),
        heads=[dict(norm_cfg=dict(type='mmseg.SyncBN')), dict(norm_cfg=None),
               dict(norm_cfg=dict(type=torch.nn.SyncBatchNorm))],
        other=dict(norm_cfg=dict(type='GN', num_groups=2)))
    converted = replace_sync_bn(model)
    assert converted['backbone']['norm_cfg'] == dict(type='BN',
                                                     requires_grad=True)
    assert converted['heads'][0]['norm_cfg']['type'] == 'BN'
    assert converted['heads'][1]['norm_cfg'] is None
    assert converted['heads'][2]['norm_cfg']['type'] == 'BN'
    assert converted['other']['norm_cfg']['type'] == 'GN'
    assert model['backbone']['norm_cfg']['type'] == 'SyncBN'  # not modified


def test_setup_is_a_no_op_without_launcher():
    cfg = Config(dict(launcher='none', model=dict(norm=dict(type='SyncBN'))))
    assert setup_cpu_distributed(cfg) is False
    assert cfg.model.norm.type == 'SyncBN'


def test_slurm_without_cuda_names_the_cpu_way(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='slurm', model=dict()))
    with pytest.raises(ValueError, match='--launcher pytorch'):
        setup_cpu_distributed(cfg)


def test_setup_is_a_no_op_with_cuda(monkeypatch):
    # GPU runs keep NCCL, SyncBN and MMEngine's own DDP wrapper settings
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(dict(launcher='pytorch',
                      model=dict(norm=dict(type='SyncBN'))))
    assert setup_cpu_distributed(cfg) is False
    assert cfg.model.norm.type == 'SyncBN'
    assert 'model_wrapper_cfg' not in cfg and 'env_cfg' not in cfg
