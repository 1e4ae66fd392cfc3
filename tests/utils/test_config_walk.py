"""One rule for finding things in configs by type."""
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler

from mmseg_ood.evaluation import AnomalyMetric
from mmseg_ood.models.losses import (
    BalancedEnergyLoss,
    EnergyLoss,
    InlierCrossEntropyLoss,
)
from mmseg_ood.utils.config_walk import (
    dataset_pipelines,
    find_configs,
    is_type,
    resolve_type,
    walk_configs,
)


def test_every_spelling_of_a_type_resolves_to_the_class():
    for spelling in ('BalancedEnergyLoss', 'mmseg.BalancedEnergyLoss',
                     'mmseg_ood.BalancedEnergyLoss', BalancedEnergyLoss):
        assert resolve_type(spelling) is BalancedEnergyLoss
    assert resolve_type('DefaultSampler') is DefaultSampler
    assert resolve_type('NoSuchThing') is None
    assert resolve_type(None) is None


def test_subclasses_match_and_other_types_do_not():
    assert is_type(dict(type='EnergyLoss'), BalancedEnergyLoss)
    assert not is_type(dict(type='BalancedEnergyLoss'), EnergyLoss)
    assert is_type(dict(type='mmseg.AnomalyMetric'), 'AnomalyMetric')
    assert not is_type(dict(type='IoUMetric'), AnomalyMetric)
    assert is_type(dict(type='SyncBN'), torch.nn.SyncBatchNorm)
    assert not is_type(dict(prior='x'), BalancedEnergyLoss)
    assert not is_type('BalancedEnergyLoss', BalancedEnergyLoss)
    assert is_type(dict(type='InlierCrossEntropyLoss'),
                   (EnergyLoss, InlierCrossEntropyLoss))


def test_find_configs_walks_dicts_lists_and_tuples_in_place():
    cfg = Config(dict(model=dict(
        decode_head=dict(loss_decode=[
            dict(type='InlierCrossEntropyLoss'),
            dict(type='mmseg_ood.BalancedEnergyLoss', prior='a.json')
        ]),
        auxiliary_head=[dict(loss_decode=(dict(type=EnergyLoss), ))])))
    found = find_configs(cfg.model, BalancedEnergyLoss)
    assert [f['type'] for f in found] == ['mmseg_ood.BalancedEnergyLoss',
                                          EnergyLoss]
    found[0]['prior'] = 'uniform'  # the tree's own dicts
    assert cfg.model.decode_head.loss_decode[1].prior == 'uniform'
    paths = [path for path, _ in walk_configs(cfg.model)]
    assert 'decode_head.loss_decode.1' in paths
    assert 'auxiliary_head.0.loss_decode.0' in paths


def test_dataset_pipelines_look_through_wrappers():
    a, b, own = [dict(type='A')], [dict(type='B')], [dict(type='W')]
    concat = dict(type='ConcatDataset', datasets=[
        dict(type='X', pipeline=a),
        dict(type='RepeatDataset', dataset=dict(type='Y', pipeline=b))
    ])
    assert dataset_pipelines(concat) == [a, b]
    mix = dict(type='MultiImageMixDataset', pipeline=own,
               dataset=dict(type='Z', pipeline=a))
    assert dataset_pipelines(mix) == [own, a]
    assert dataset_pipelines(None) == []
