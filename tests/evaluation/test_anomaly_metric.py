"""AnomalyMetric on MMSeg-style data samples against scikit-learn."""
import numpy as np
import pytest
import torch
from mmseg.registry import METRICS
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mmseg_ood.models.scores import PAPER_BLUR, build_anomaly_score

ENERGY = dict(type='EnergyScore', num_classes=19)


def make_samples(seed=0, n=3, shape=(20, 30), channels=19):
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(n):
        logits = torch.randn(channels, *shape, generator=gen) * 3
        # quantise so that many scores tie
        logits = logits.round()
        label = (torch.rand(shape, generator=gen) < 0.2).long()
        label[:3] = 255
        samples.append(
            dict(
                seg_logits=dict(data=logits),
                gt_sem_seg=dict(data=label[None]),
                img_path=f'img_{i}.png'))
    return samples


def sklearn_reference(samples, score_cfg):
    score_fn = build_anomaly_score(score_cfg)
    scores, labels = [], []
    for s in samples:
        score = score_fn(s['seg_logits']['data'][None])[0].numpy()
        label = s['gt_sem_seg']['data'][0].numpy()
        valid = label != 255
        scores.append(score[valid])
        labels.append(label[valid] == 1)
    scores, labels = np.concatenate(scores), np.concatenate(labels)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return dict(
        AUROC=100 * roc_auc_score(labels, scores),
        AP=100 * average_precision_score(labels, scores),
        FPR95=100 * fpr[np.flatnonzero(tpr >= 0.95)[0]])


@pytest.mark.parametrize('score', [
    ENERGY,
    dict(ENERGY, blur=PAPER_BLUR),
    dict(type='MaxLogitScore', num_classes=19),
    dict(type='EntropyScore', num_classes=19),
])
def test_equal_to_sklearn_pooled_over_images(score):
    samples = make_samples()
    metric = METRICS.build(
        dict(type='AnomalyMetric', score=score, prefix='fs_laf'))
    metric.dataset_meta = dict(classes=('inlier', 'anomaly'))
    metric.process({}, samples[:2])
    metric.process({}, samples[2:])
    result = metric.evaluate(len(samples))
    expected = sklearn_reference(samples, score)
    assert set(result) == {f'fs_laf/{key}' for key in expected}
    for key, value in expected.items():
        assert abs(result[f'fs_laf/{key}'] - value) < 1e-6 * 100
    assert metric.result.score == build_anomaly_score(score).settings()


def test_keeps_only_valid_pixels_not_logits():
    samples = make_samples(n=1)
    metric = METRICS.build(dict(type='AnomalyMetric', score=ENERGY))
    metric.process({}, samples)
    record = metric.results[0]
    scores, labels = record.scores, record.anomaly
    valid = int((samples[0]['gt_sem_seg']['data'] != 255).sum())
    assert scores.dtype == np.float32 and labels.dtype == bool
    assert scores.shape == labels.shape == (valid, )
    assert record.shape is record.packed_valid is record.bins is None


def test_errors_name_the_image():
    samples = make_samples(n=1)
    samples[0]['gt_sem_seg']['data'][0, 5, 5] = 7
    metric = METRICS.build(dict(type='AnomalyMetric', score=ENERGY))
    with pytest.raises(ValueError, match=r'img_0.png: label values \[7\]'):
        metric.process({}, samples)
    samples = make_samples(n=1)
    samples[0]['gt_sem_seg']['data'] = torch.zeros(1, 10, 10,
                                                   dtype=torch.long)
    with pytest.raises(ValueError, match='LoadAnnotations after'):
        metric.process({}, samples)
    with pytest.raises(ValueError, match="Unknown anomaly score type 'Odin'"):
        METRICS.build(dict(type='AnomalyMetric',
                           score=dict(type='Odin', num_classes=19)))
    with pytest.raises(TypeError, match="required positional argument: "
                       "'score'"):
        METRICS.build(dict(type='AnomalyMetric'))
    with pytest.raises(ValueError, match='needs num_classes'):
        METRICS.build(dict(type='AnomalyMetric',
                           score=dict(type='EnergyScore', num_classes=None)))
    with pytest.raises(TypeError, match='fpr_rules'):
        METRICS.build(dict(type='AnomalyMetric', score=ENERGY,
                           fpr_rules='nearest'))
    samples = make_samples(n=1)
    del samples[0]['seg_logits']
    with pytest.raises(KeyError, match='without --tta'):
        metric.process({}, samples)


def evaluate(samples, dataset_meta=None, **kwargs):
    metric = METRICS.build(dict(type='AnomalyMetric', score=ENERGY,
                                **kwargs))
    metric.dataset_meta = dataset_meta or {}
    metric.process({}, samples)
    return metric, metric.evaluate(len(samples))


def test_histogram_mode_is_within_its_bound_of_exact():
    samples = make_samples(n=4, shape=(40, 50))
    for sample in samples:  # continuous scores: few exact ties
        sample['seg_logits']['data'] += torch.linspace(0, 0.3, 19)[:, None,
                                                                   None]
    _, exact = evaluate(samples)
    metric, hist = evaluate(samples, mode='histogram')
    assert len(metric.results) == 0 and metric.result.mode == 'histogram'
    assert abs(hist['AP'] - exact['AP']) <= hist['AP_error_bound'] + 1e-9
    assert hist['AP_error_bound'] < 0.5
    assert hist['AUROC'] == pytest.approx(exact['AUROC'], abs=0.5)


def test_a_set_without_anomaly_pixels_says_so(caplog):
    samples = make_samples(n=2)
    for sample in samples:
        label = sample['gt_sem_seg']['data']
        label[label == 1] = 0
    for mode in ('exact', 'histogram'):
        metric, result = evaluate(samples, mode=mode, prefix='empty')
        assert result == {}
        assert '0 anomaly pixels' in metric.result.message


def _blob_samples():
    """Energy high exactly on the ground-truth blobs: perfect components."""
    samples = []
    for offset in (0, 7):
        logits = torch.full((19, 64, 64), -5.0)
        logits[0] = 5.0
        label = torch.zeros(64, 64, dtype=torch.long)
        label[10 + offset:30 + offset, 10:40] = 1  # 600 px
        logits[0][label == 1] = -5.0
        label[:4] = 255
        samples.append(
            dict(seg_logits=dict(data=logits),
                 gt_sem_seg=dict(data=label[None]),
                 img_path=f'blob_{offset}.png'))
    return samples


@pytest.mark.parametrize('benchmark, track', [('smiyc_anomaly', 'anomaly'),
                                              ('smiyc_obstacle', 'obstacle'),
                                              ('laf_noknown', 'obstacle')])
def test_component_metrics_follow_the_benchmark_track(benchmark, track):
    metric, result = evaluate(
        _blob_samples(),
        dataset_meta=dict(anomaly_set=dict(benchmark=benchmark)))
    assert metric.result.components == track
    assert metric.result.computation == 'smiyc'
    for key in ('sIoU_gt', 'PPV', 'mean_F1', 'AP', 'AUROC'):
        assert result[key + '_exact'] == pytest.approx(100.0), key
    # the benchmark's own: one score on every blob pixel is the best-F1 bin
    # edge, and `score > edge` predicts no pixel (hand-worked in test_smiyc)
    assert result['AP'] == result['AUROC'] == 100.0
    assert result['sIoU_gt'] == result['mean_F1'] == 0.0
    # other sets get no component columns; a histogram cannot give them
    _, plain = evaluate(_blob_samples(),
                        dataset_meta=dict(anomaly_set=dict(benchmark='fs_laf')))
    assert set(plain) == {'AUROC', 'AP', 'FPR95'}
    with pytest.raises(ValueError, match="mode='exact'"):
        METRICS.build(dict(type='AnomalyMetric', score=ENERGY,
                           mode='histogram', components=track))


def test_component_metrics_drop_blobs_below_the_track_size():
    samples = _blob_samples()
    for sample in samples:  # shrink the blobs to 8x8 = 64 px
        label = sample['gt_sem_seg']['data'][0]
        label[label == 1] = 0
        label[40:48, 40:48] = 1
        sample['seg_logits']['data'][0] = 5.0
        sample['seg_logits']['data'][0][label == 1] = -5.0
    metric, result = evaluate(samples, components='anomaly')  # min GT 100
    assert 'sIoU_gt' not in result and result['AP'] == pytest.approx(100)
    assert 'no component metrics' in metric.result.message
    _, result = evaluate(samples, components='obstacle')  # min GT 10
    assert result['sIoU_gt'] == pytest.approx(100.0)


def test_component_metrics_of_an_imperfect_prediction_by_hand():
    """GT blob of 600 px whose left half scores high and right half medium;
    a 200 px false-positive blob scores high; the rest scores low. Pixel F1
    is best at the medium threshold (TP 600, FP 200: F1 6/7), so the
    prediction is the blob (sIoU 1, PPV 1) plus the false positive (PPV 0):
    sIoU_gt 1, PPV 1/2, and at every tau TP 1, FN 0, FP 1: F1 2/3."""
    logits = torch.full((19, 64, 64), 5.0)  # low energy everywhere
    label = torch.zeros(64, 64, dtype=torch.long)
    label[10:30, 10:40] = 1
    logits[:, 10:30, 10:25] = -5.0  # high anomaly score
    logits[:, 10:30, 25:40] = 0.0  # medium
    logits[:, 45:55, 40:60] = -5.0  # false positive, 200 px, apart
    label[:4] = 255
    sample = dict(seg_logits=dict(data=logits),
                  gt_sem_seg=dict(data=label[None]), img_path='fp.png')
    metric, result = evaluate([sample], components='obstacle')
    assert result['sIoU_gt'] == pytest.approx(100.0)
    assert result['PPV'] == pytest.approx(50.0)
    assert result['mean_F1'] == pytest.approx(200 / 3)
    # the medium score is the best-F1 threshold: the energy of zero logits
    assert metric.result.component_threshold == pytest.approx(
        -torch.logsumexp(torch.zeros(19), 0).item(), abs=1e-5)


def test_predictions_with_an_abstention_channel_are_refused():
    # 20 predicted channels for a 19-class score: the 20th would have entered
    # pred_sem_seg; the model must be an AbstentionEncoderDecoder
    metric = METRICS.build(dict(type='AnomalyMetric', score=ENERGY))
    metric.dataset_meta = dict(classes=('inlier', 'anomaly'))
    with pytest.raises(ValueError, match='img_0.png.*20 channels.*'
                       'AbstentionEncoderDecoder'):
        metric.process({}, make_samples(n=1, channels=20))
