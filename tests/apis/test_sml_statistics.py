"""Standardized Max Logits statistics against an independent numpy
computation, and the file the score reads."""
import json

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ood.apis.sml_statistics import (
    ClassStatistics,
    estimate_sml_statistics,
    save_sml_statistics,
    sml_record,
)
from mmseg_ood.models.scores import StandardizedMaxLogitScore


def numpy_statistics(logits, num_classes):
    """Per predicted class: count, mean and (population) std of the max
    logit, over every pixel of every image."""
    inlier = np.concatenate(
        [x[:num_classes].reshape(num_classes, -1) for x in logits], axis=1)
    top, cls = inlier.max(axis=0), inlier.argmax(axis=0)
    count = np.array([(cls == k).sum() for k in range(num_classes)])
    mean = np.array([top[cls == k].mean() if count[k] else 0.0
                     for k in range(num_classes)])
    std = np.array([top[cls == k].std() if count[k] else 0.0
                    for k in range(num_classes)])
    return count, mean, std


def test_class_statistics_merge_any_split_exactly():
    rng = np.random.default_rng(0)
    values = rng.normal(5.0, 2.0, size=1000)
    classes = rng.integers(0, 4, size=1000)
    whole = ClassStatistics(4)
    whole.update(values, classes)
    parts = ClassStatistics(4)
    for chunk in np.array_split(rng.permutation(1000), 7):
        part = ClassStatistics(4)
        part.update(values[chunk], classes[chunk])
        parts.merge(*part.state())
    for stats in (whole, parts):
        for k in range(4):
            assert stats.count[k] == (classes == k).sum()
            assert stats.mean[k] == pytest.approx(values[classes == k].mean(),
                                                  rel=1e-12)
            assert stats.std[k] == pytest.approx(values[classes == k].std(),
                                                 rel=1e-10)


class FakeSegmentor:
    """test_step returns the given logits, one image per data item."""

    training = False

    def __init__(self, logits):
        self.logits = logits

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def test_step(self, batch):
        return [
            SegDataSample(seg_logits=PixelData(data=self.logits[i]))
            for i in batch
        ]


def test_estimate_equals_numpy_over_all_pixels_of_all_images():
    gen = torch.Generator().manual_seed(1)
    logits = [torch.randn(3, 7, 9, generator=gen) * 3 for _ in range(5)]
    model = FakeSegmentor(logits)
    loader = [[0, 1], [2], [3, 4]]  # batches of image indices
    stats = estimate_sml_statistics(model, loader, num_classes=3,
                                    show_progress=False)
    count, mean, std = numpy_statistics([x.numpy().astype(np.float64)
                                         for x in logits], 3)
    np.testing.assert_array_equal(stats.count, count)
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(stats.std, std, rtol=1e-5)


def test_predictions_with_an_extra_channel_are_refused():
    # a 4th (abstention) channel in the predictions: the model must be an
    # AbstentionEncoderDecoder, which keeps it out of seg_logits
    model = FakeSegmentor([torch.zeros(4, 2, 2)])
    with pytest.raises(ValueError, match='AbstentionEncoderDecoder'):
        estimate_sml_statistics(model, [[0]], num_classes=3,
                                show_progress=False)


def test_record_round_trips_through_the_score(tmp_path):
    stats = ClassStatistics(3)
    # class 0: 1, 3 (mean 2, std 1); class 1: 4, 4, 7, 9 (mean 6,
    # std sqrt(4.5)); class 2: one pixel only -> unusable
    stats.update(np.array([1., 3., 4., 4., 7., 9., 5.]),
                 np.array([0, 0, 1, 1, 1, 1, 2]))
    record = sml_record(stats, ['a', 'b', 'c'], checkpoint='x.pth')
    assert record['mean'] == [2.0, 6.0, None]
    assert record['std'][:2] == pytest.approx([1.0, np.sqrt(4.5)])
    assert record['count'] == [2, 4, 1] and record['checkpoint'] == 'x.pth'
    # over all 7 values: mean 33 / 7, population std of the seven
    values = np.array([1., 3., 4., 4., 7., 9., 5.])
    assert record['global_mean'] == pytest.approx(values.mean())
    assert record['global_std'] == pytest.approx(values.std())
    path = str(tmp_path / 'sml.json')
    save_sml_statistics(record, path)
    assert json.load(open(path))['classes'] == ['a', 'b', 'c']
    # class 'c' falls back to the statistics of all pixels
    score = StandardizedMaxLogitScore(3, statistics=path)
    assert score.settings()['fallback_classes'] == ['c']
    pixel_c = torch.tensor([[0.0, 1.0, 8.0]])
    assert score(pixel_c).item() == pytest.approx(
        -(8 - values.mean()) / values.std(), rel=1e-6)
    with pytest.raises(FileExistsError, match='sml.json already exists'):
        save_sml_statistics(record, path)
    stats.update(np.array([6.0, 8.0]), np.array([2, 2]))
    save_sml_statistics(sml_record(stats), path, overwrite=True)
    score = StandardizedMaxLogitScore(3, statistics=path)
    assert score.fallback_classes == []
    # a pixel of class 1 with max logit 9: -(9 - 6) / sqrt(4.5)
    pixel = torch.tensor([[0.0, 9.0, 1.0]])
    assert score(pixel).item() == pytest.approx(-3 / np.sqrt(4.5), rel=1e-6)


def test_record_checks_the_class_names():
    with pytest.raises(ValueError, match='2 class names for 3 classes'):
        sml_record(ClassStatistics(3), ['a', 'b'])
