"""Outlier prior estimation: counting, scenes, the demo model, the JSON."""
import copy
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from scipy.special import softmax

from mmseg_ood.apis.outlier_prior import (PastedScenes,
                                          build_prior_dataloader,
                                          count_outlier_predictions,
                                          estimate_outlier_prior,
                                          format_prior_table, prior_pipeline,
                                          prior_record, save_prior,
                                          with_uniform_loss_priors)
from mmseg_ood.models.losses import (BalancedEnergyLoss, load_prior,
                                     sharpen_prior)
from mmseg_ood.utils.constants import (CITYSCAPES_CLASSES, IGNORE_INDEX,
                                      OUTLIER_INDEX)

from ..conftest import demo_config

DEMO = 'deeplabv3plus_balanced_energy_demo.py'
CAR = CITYSCAPES_CLASSES.index('car')
OUT, VOID = OUTLIER_INDEX, IGNORE_INDEX

# 3 inlier classes plus a 4th channel that must be ignored (it is the
# largest everywhere). Per pixel: logits and label.
HAND_PIXELS = [
    ([0., 1., 3., 9.], OUT),  # argmax of the first 3: class 2
    ([5., 1., 2., 9.], OUT),  # class 0
    ([0., 9., 0., 0.], 0),  # inlier: not counted
    ([0., 0., 1., 9.], OUT),  # class 2
    ([9., 0., 0., 0.], VOID),  # void: not counted
    ([1., 2., 0., 9.], OUT),  # class 1
]


def hand_input():
    logits = torch.tensor([p for p, _ in HAND_PIXELS]).T.reshape(4, 2, 3)
    label = torch.tensor([lab for _, lab in HAND_PIXELS]).reshape(2, 3)
    return logits, label


def test_argmax_counts_match_a_hand_count():
    logits, label = hand_input()
    counts = count_outlier_predictions(logits, label, 3, 'argmax')
    assert counts.dtype == torch.float64
    assert counts.tolist() == [1.0, 1.0, 2.0]
    # a (1, H, W) label map, as in gt_sem_seg, gives the same
    assert count_outlier_predictions(logits, label[None], 3).tolist() == [
        1.0, 1.0, 2.0
    ]


def test_softmax_counts_match_scipy_and_sum_to_the_outlier_pixels():
    logits, label = hand_input()
    counts = count_outlier_predictions(logits, label, 3, 'softmax')
    outliers = np.array([p[:3] for p, lab in HAND_PIXELS if lab == OUT])
    expected = softmax(outliers, axis=1).sum(axis=0)
    np.testing.assert_allclose(counts.numpy(), expected, rtol=1e-6)
    assert counts.sum().item() == pytest.approx(4.0)


def test_counts_match_numpy_on_random_maps():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(6, 9, 11)).astype(np.float32)
    label = rng.choice([0, 1, 2, 3, 4, OUT, OUT, VOID], size=(9, 11))
    mask = label == OUT
    expected_argmax = np.bincount(
        logits[:5][:, mask].argmax(axis=0), minlength=5)
    expected_softmax = softmax(logits[:5][:, mask], axis=0).sum(axis=1)
    argmax = count_outlier_predictions(
        torch.from_numpy(logits), torch.from_numpy(label), 5, 'argmax')
    soft = count_outlier_predictions(
        torch.from_numpy(logits), torch.from_numpy(label), 5, 'softmax')
    np.testing.assert_array_equal(argmax.numpy(), expected_argmax)
    np.testing.assert_allclose(soft.numpy(), expected_softmax, rtol=1e-5)
    assert soft.sum().item() == pytest.approx(mask.sum(), rel=1e-6)


def test_logits_are_resized_to_the_label():
    # constant logits stay constant under bilinear resizing: every outlier
    # pixel of the 8x8 label goes to class 1
    logits = torch.tensor([0., 2., 1.]).view(3, 1, 1).expand(3, 2, 2)
    label = torch.zeros(8, 8, dtype=torch.long)
    label[2:5, 1:7] = OUT
    counts = count_outlier_predictions(logits, label, 3)
    assert counts.tolist() == [0.0, 18.0, 0.0]


def test_count_rejects_bad_arguments():
    logits, label = hand_input()
    with pytest.raises(ValueError, match='mode'):
        count_outlier_predictions(logits, label, 3, 'mean')
    with pytest.raises(ValueError, match='num_classes=5'):
        count_outlier_predictions(logits, label, 5)
    with pytest.raises(ValueError, match='label must have shape'):
        count_outlier_predictions(logits, label[None, None], 3)


def demo_cfg():
    return Config.fromfile(demo_config(DEMO))


def test_prior_pipeline_pastes_always_and_uses_test_geometry():
    cfg = demo_cfg()
    train = cfg.train_dataloader.dataset.pipeline
    pipeline = prior_pipeline(train, [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(512, 256), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ])
    assert [step['type'] for step in pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'PasteCocoObjects', 'Resize',
        'PackSegInputs'
    ]
    assert pipeline[2]['prob'] == 1.0
    assert train[2]['prob'] == 0.5  # the config is not changed


def test_prior_pipeline_needs_pasting_and_labels():
    test = [dict(type='PackSegInputs')]
    with pytest.raises(ValueError, match='has no PasteCocoObjects'):
        prior_pipeline([dict(type='LoadImageFromFile'),
                        dict(type='LoadAnnotations')], test)
    with pytest.raises(ValueError, match='LoadAnnotations'):
        prior_pipeline([
            dict(type='LoadImageFromFile'),
            dict(type='PasteCocoObjects', data_root='x')
        ], test)


def test_named_test_sets_must_share_the_test_geometry():
    cfg = demo_cfg()
    sets = [name for name, loader in cfg.test_dataloader.items()
            if isinstance(loader, dict) and 'dataset' in loader]
    assert len(sets) > 1  # the demo config evaluates several sets
    dataset = cfg.test_dataloader[sets[1]].dataset
    pipeline = copy.deepcopy(dataset.pipeline)
    assert pipeline[1]['type'] == 'Resize'
    pipeline[1]['scale'] = (256, 128)
    dataset.pipeline = pipeline
    with pytest.raises(ValueError, match='use different test pipelines'):
        build_prior_dataloader(cfg)
    cfg.test_dataloader = None
    with pytest.raises(ValueError, match='no test_dataloader'):
        build_prior_dataloader(cfg)


def test_dataloader_scenes_are_seeded_per_scene(demo_cwd):
    loader = build_prior_dataloader(demo_cfg(), num_samples=8, seed=5)
    scenes = loader.dataset
    frames = len(scenes.dataset)
    assert len(scenes) == 8 and frames == 6
    np_state = np.random.get_state()[1].copy()
    forward = [scenes[i]['data_samples'] for i in range(8)]
    backward = [scenes[i]['data_samples'] for i in reversed(range(8))][::-1]
    # the global generator is left as it was
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    for a, b in zip(forward, backward):
        assert a.metainfo['img_path'] == b.metainfo['img_path']
        assert torch.equal(a.gt_sem_seg.data, b.gt_sem_seg.data)
        # pasting is forced on: every scene carries outlier pixels
        assert (a.gt_sem_seg.data == OUT).any()
    # scenes past the last frame reuse the frames with other pastes
    assert forward[6].metainfo['img_path'] == forward[0].metainfo['img_path']
    assert not torch.equal(forward[6].gt_sem_seg.data,
                           forward[0].gt_sem_seg.data)
    other_seed = build_prior_dataloader(demo_cfg(), num_samples=2, seed=6)
    assert not torch.equal(other_seed.dataset[0]['data_samples'].gt_sem_seg
                           .data, forward[0].gt_sem_seg.data)


def test_pasted_scenes_rejects_bad_arguments():
    with pytest.raises(ValueError, match='num_samples'):
        PastedScenes([1, 2], num_samples=0)
    with pytest.raises(ValueError, match='seed'):
        PastedScenes([1, 2], seed=-1)
    with pytest.raises(ValueError, match='empty'):
        PastedScenes([])
    with pytest.raises(IndexError):
        PastedScenes([1, 2], num_samples=3)[3]


def biased_demo_model(bias):
    """The demo segmentor whose decode head outputs ``bias`` everywhere."""
    model = MODELS.build(demo_cfg().model)
    with torch.no_grad():
        model.decode_head.conv_seg.weight.zero_()
        model.decode_head.conv_seg.bias.copy_(torch.as_tensor(bias))
    return model


def outlier_pixels(loader):
    """Outlier pixels of every scene, counted on the labels alone."""
    return sum(
        int((sample.gt_sem_seg.data == OUT).sum()) for batch in loader
        for sample in batch['data_samples'])


def test_a_model_biased_to_car_gives_a_car_prior(demo_cwd):
    bias = torch.zeros(19)
    bias[CAR], bias[0] = 2.0, 1.0
    model = biased_demo_model(bias)
    loader = build_prior_dataloader(demo_cfg(), num_samples=3, batch_size=2)
    total = outlier_pixels(loader)
    assert total > 0
    counts = estimate_outlier_prior(
        model, loader, 19, 'argmax', show_progress=False)
    expected = np.zeros(19)
    expected[CAR] = total
    np.testing.assert_array_equal(counts, expected)
    # softmax mode: every outlier pixel adds softmax(bias)
    soft = estimate_outlier_prior(
        model, loader, 19, 'softmax', show_progress=False)
    np.testing.assert_allclose(
        soft, total * softmax(bias.numpy().astype(np.float64)), rtol=1e-5)
    record = prior_record(soft, CITYSCAPES_CLASSES, mode='softmax')
    assert int(np.argmax(record['prior'])) == CAR
    assert format_prior_table(record).splitlines()[1].split()[:2] == [
        str(CAR), 'car'
    ]
    assert model.training  # the model's mode is restored


def test_uniform_loss_priors_reach_every_balanced_energy_loss():
    model = dict(
        type='EncoderDecoder',
        decode_head=dict(loss_decode=[
            dict(type='InlierCrossEntropyLoss'),
            dict(type='BalancedEnergyLoss', prior='missing.json',
                 num_classes=19),
            dict(type='EnergyLoss', num_classes=19),
        ]),
        auxiliary_head=[
            dict(loss_decode=dict(type='mmseg.BalancedEnergyLoss',
                                  prior=[1, 2, 3])),
            dict(loss_decode=(dict(type=BalancedEnergyLoss,
                                   prior='cityscapes_paper'), )),
        ],
        # not a loss of ours: a 'prior' key elsewhere is left alone
        data_preprocessor=dict(type='SegDataPreProcessor', prior='keep'))
    before = copy.deepcopy(model)
    out = with_uniform_loss_priors(model)
    assert model == before  # the input is not changed
    decode = out['decode_head']['loss_decode']
    assert decode[0] == before['decode_head']['loss_decode'][0]
    assert decode[1] == dict(type='BalancedEnergyLoss', prior='uniform',
                             num_classes=19)
    assert decode[2] == dict(type='EnergyLoss', num_classes=19)
    aux = out['auxiliary_head']
    assert aux[0]['loss_decode']['prior'] == 'uniform'
    assert aux[1]['loss_decode'][0]['prior'] == 'uniform'
    assert out['data_preprocessor']['prior'] == 'keep'


def test_demo_model_builds_while_its_prior_file_is_missing(tmp_path):
    cfg = Config.fromfile(demo_config(DEMO))
    missing = str(tmp_path / 'not_yet.json')
    cfg.model.decode_head.loss_decode[1].prior = missing
    with pytest.raises(FileNotFoundError, match='not_yet.json'):
        MODELS.build(cfg.model)
    model = MODELS.build(with_uniform_loss_priors(cfg.model))
    (loss, ) = [m for m in model.decode_head.loss_decode
                if isinstance(m, BalancedEnergyLoss)]
    assert loss.uniform_prior
    assert cfg.model.decode_head.loss_decode[1].prior == missing


def test_record_round_trips_through_the_loss(tmp_path):
    counts = np.arange(19, dtype=np.float64) + 1
    record = prior_record(counts, CITYSCAPES_CLASSES, mode='argmax',
                          num_samples=7)
    assert record['outlier_pixels'] == counts.sum()
    assert record['classes'][CAR] == 'car'
    path = str(tmp_path / 'sub' / 'prior.json')
    save_prior(record, path)
    assert json.load(open(path))['num_samples'] == 7
    assert os.listdir(tmp_path / 'sub') == ['prior.json']
    prior = load_prior(path, 19)
    np.testing.assert_allclose(prior.numpy(), counts / counts.sum())
    loss = BalancedEnergyLoss(prior=path, num_classes=19)
    torch.testing.assert_close(
        loss.prior_g1, sharpen_prior(prior, 3.0).float())
    logits = torch.randn(1, 19, 4, 4, requires_grad=True)
    label = torch.full((1, 4, 4), OUT)
    loss(logits, label).backward()
    assert torch.isfinite(logits.grad).all()


def test_save_prior_never_overwrites_silently(tmp_path):
    path = str(tmp_path / 'prior.json')
    save_prior(prior_record([1.0, 3.0]), path)
    with pytest.raises(FileExistsError, match='prior.json already exists'):
        save_prior(prior_record([3.0, 1.0]), path)
    assert load_prior(path).tolist() == [0.25, 0.75]
    save_prior(prior_record([3.0, 1.0]), path, overwrite=True)
    assert load_prior(path).tolist() == [0.75, 0.25]
    with pytest.raises(ValueError, match='end in .json'):
        save_prior(prior_record([1.0]), str(tmp_path / 'prior.txt'))


def test_prior_record_rejects_empty_counts():
    with pytest.raises(ValueError, match='No outlier pixel was seen'):
        prior_record([0.0, 0.0])
    with pytest.raises(ValueError, match='2 class names for 3 counts'):
        prior_record([1.0, 1.0, 1.0], ['a', 'b'])
