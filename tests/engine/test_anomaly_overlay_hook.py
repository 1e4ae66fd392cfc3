"""The overlay hook draws the score of the set's own AnomalyMetric."""
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ood.engine.hooks import AnomalyOverlayHook
from mmseg_ood.evaluation import AnomalyMetric
from mmseg_ood.models.scores import MaxLogitScore
from mmseg_ood.visualization import save_anomaly_overlay, score_range


def _sample(img_path, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(4, 12, 16, generator=gen)
    label = (torch.rand(1, 12, 16, generator=gen) < 0.3).long()
    label[:, :2] = 255
    sample = SegDataSample(seg_logits=PixelData(data=logits),
                           gt_sem_seg=PixelData(data=label))
    sample.set_metainfo(dict(img_path=img_path))
    return sample


def test_overlays_use_the_metric_score_and_one_range_per_set(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (12, 16, 3), np.uint8)
    paths = []
    for i in range(3):
        paths.append(str(tmp_path / f'frame_{i}.png'))
        cv2.imwrite(paths[-1], image)
    score = MaxLogitScore(num_classes=3)  # the 4th channel is not scored
    metric = AnomalyMetric(score=score)
    loop = SimpleNamespace(current_set='fs_laf',
                           evaluator=SimpleNamespace(metrics=[metric]))
    runner = SimpleNamespace(test_loop=loop, log_dir=str(tmp_path / 'log'))
    hook = AnomalyOverlayHook(num_images=2)
    hook.before_test(runner)
    samples = [_sample(p, i) for i, p in enumerate(paths)]
    hook.after_test_iter(runner, 0, outputs=samples[:2])
    hook.after_test_iter(runner, 1, outputs=samples[2:])
    out = tmp_path / 'log' / 'overlays' / 'fs_laf'
    assert sorted(p.name for p in out.iterdir()) == ['frame_0.png',
                                                     'frame_1.png']
    maps = [score(s.seg_logits.data[None])[0].numpy() for s in samples]
    labels = [s.gt_sem_seg.data[0].numpy().astype(np.uint8) for s in samples]
    # the range of the set comes from its first image
    vmin, vmax = score_range(maps[:1], labels[:1])
    for i in range(2):
        expected = save_anomaly_overlay(
            str(tmp_path / f'expected_{i}.png'), paths[i], maps[i],
            labels[i], vmin=vmin, vmax=vmax)
        np.testing.assert_array_equal(cv2.imread(str(out / f'frame_{i}.png')),
                                      cv2.imread(expected))
