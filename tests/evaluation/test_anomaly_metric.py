"""AnomalyMetric on MMSeg-style data samples against scikit-learn."""
import numpy as np
import pytest
import torch
from mmseg.registry import METRICS
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mmseg_ood.models.scores import anomaly_score


def make_samples(seed=0, n=3, shape=(20, 30), channels=20):
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


def sklearn_reference(samples, num_classes, score_type='energy', blur=False):
    scores, labels = [], []
    for s in samples:
        score = anomaly_score(s['seg_logits']['data'][None], score_type,
                              num_classes=num_classes, blur=blur)[0].numpy()
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


@pytest.mark.parametrize('score_type,blur', [('energy', False),
                                             ('energy', True),
                                             ('max_logit', False),
                                             ('entropy', False)])
def test_equal_to_sklearn_pooled_over_images(score_type, blur):
    samples = make_samples()
    metric = METRICS.build(
        dict(type='AnomalyMetric', score_type=score_type, num_classes=19,
             blur=blur, prefix='fs_laf'))
    metric.dataset_meta = dict(classes=('inlier', 'anomaly'))
    metric.process({}, samples[:2])
    metric.process({}, samples[2:])
    result = metric.evaluate(len(samples))
    expected = sklearn_reference(samples, 19, score_type, blur)
    for key, value in expected.items():
        assert abs(result[f'fs_laf/{key}'] - value) < 1e-6 * 100


def test_keeps_only_valid_pixels_not_logits():
    samples = make_samples(n=1)
    metric = METRICS.build(dict(type='AnomalyMetric'))
    metric.process({}, samples)
    scores, labels = metric.results[0]
    valid = int((samples[0]['gt_sem_seg']['data'] != 255).sum())
    assert scores.dtype == np.float32 and labels.dtype == bool
    assert scores.shape == labels.shape == (valid, )


def test_errors_name_the_image():
    samples = make_samples(n=1)
    samples[0]['gt_sem_seg']['data'][0, 5, 5] = 7
    metric = METRICS.build(dict(type='AnomalyMetric'))
    with pytest.raises(ValueError, match=r'img_0.png: label values \[7\]'):
        metric.process({}, samples)
    samples = make_samples(n=1)
    samples[0]['gt_sem_seg']['data'] = torch.zeros(1, 10, 10,
                                                   dtype=torch.long)
    with pytest.raises(ValueError, match='LoadAnnotations after'):
        metric.process({}, samples)
    with pytest.raises(ValueError, match='score_type'):
        METRICS.build(dict(type='AnomalyMetric', score_type='odin'))
    with pytest.raises(TypeError, match='fpr_rules'):
        METRICS.build(dict(type='AnomalyMetric', fpr_rules='nearest'))
    samples = make_samples(n=1)
    del samples[0]['seg_logits']
    with pytest.raises(KeyError, match='without --tta'):
        metric.process({}, samples)
