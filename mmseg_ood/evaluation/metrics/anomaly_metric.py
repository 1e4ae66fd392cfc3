"""Pixel-level anomaly segmentation metric for MMEngine evaluators."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ...models.scores import SCORE_TYPES, anomaly_score
from ...utils.constants import (ANOMALY_EVAL_ANOMALY, ANOMALY_EVAL_INLIER,
                                IGNORE_INDEX)
from ..functional import FPR_RULES, anomaly_metrics


@METRICS.register_module()
class AnomalyMetric(BaseMetric):
    """AUROC, AP and FPR95 of an anomaly score over all valid pixels of a set.

    The score is computed from the ``seg_logits`` that every MMSeg segmentor
    stores on its predictions (at the label's native resolution), so any
    MMSeg model can be evaluated unchanged. Per image only the valid pixels'
    scores (float32) and labels (bool) are kept, 5 bytes per pixel, never the
    logits. Metrics are exact (see :mod:`mmseg_ood.evaluation.functional`)
    and reported in percent.

    Args:
        score_type (str): ``'energy'``, ``'max_logit'``, ``'max_softmax'`` or
            ``'entropy'``. Defaults to ``'energy'``.
        num_classes (int, optional): Number of inlier classes K; only the
            first K logit channels are scored. None uses all channels.
        temperature (float): Energy temperature. Defaults to 1.
        blur (bool): Blur the score map with a 7x7, sigma 1 Gaussian, as the
            paper evaluates. Defaults to False.
        fpr_rule (str): ``'first'`` (benchmarks; default) or ``'nearest'``
            (PEBAL / Balanced Energy code).
        ignore_index (int): Void label of the evaluation labels (255).
        collect_device (str): Device used to gather results across ranks.
        prefix (str, optional): Prefix of the metric names, e.g. the name of
            the anomaly set.
    """

    def __init__(self,
                 score_type: str = 'energy',
                 num_classes: Optional[int] = None,
                 temperature: float = 1.0,
                 blur: bool = False,
                 fpr_rule: str = 'first',
                 ignore_index: int = IGNORE_INDEX,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if score_type not in SCORE_TYPES:
            raise ValueError(f'Unknown score_type {score_type!r}; choose one '
                             f'of {SCORE_TYPES}.')
        if fpr_rule not in FPR_RULES:
            raise ValueError(f'Unknown fpr_rule {fpr_rule!r}; choose one of '
                             f'{FPR_RULES}.')
        self.score_type = score_type
        self.num_classes = num_classes
        self.temperature = temperature
        self.blur = blur
        self.fpr_rule = fpr_rule
        self.ignore_index = ignore_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Score each image and keep its valid pixels' scores and labels."""
        for sample in data_samples:
            if 'seg_logits' not in sample:
                raise KeyError(
                    'AnomalyMetric needs the `seg_logits` that MMSeg '
                    'segmentors store on their predictions, but this model '
                    'returned none (test-time augmentation with SegTTAModel '
                    'drops them). Evaluate without --tta.')
            logits = sample['seg_logits']['data']
            label = sample['gt_sem_seg']['data'].squeeze(0).to(logits.device)
            name = sample.get('img_path', '<unknown image>')
            if logits.shape[-2:] != label.shape:
                raise ValueError(
                    f'{name}: anomaly scores are {tuple(logits.shape[-2:])} '
                    f'but the label is {tuple(label.shape)}. Load labels at '
                    'their native resolution: put LoadAnnotations after '
                    'Resize in the test pipeline.')
            with torch.no_grad():
                score = anomaly_score(
                    logits.unsqueeze(0),
                    self.score_type,
                    num_classes=self.num_classes,
                    temperature=self.temperature,
                    blur=self.blur)[0]
            valid = label != self.ignore_index
            valid_labels = label[valid]
            unexpected = torch.unique(valid_labels)
            unexpected = unexpected[(unexpected != ANOMALY_EVAL_INLIER)
                                    & (unexpected != ANOMALY_EVAL_ANOMALY)]
            if unexpected.numel():
                raise ValueError(
                    f'{name}: label values {unexpected.tolist()} found; '
                    'anomaly labels must be 0 (inlier), 1 (anomaly) or '
                    f'{self.ignore_index} (void). Convert the dataset with '
                    'the matching tool in tools/dataset_converters.')
            self.results.append(
                (score[valid].cpu().numpy().astype(np.float32, copy=False),
                 (valid_labels == ANOMALY_EVAL_ANOMALY).cpu().numpy()))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Pool all pixels of the split and compute the metrics (percent)."""
        scores = np.concatenate([r[0] for r in results])
        labels = np.concatenate([r[1] for r in results])
        del results
        values = anomaly_metrics(scores, labels, fpr_rule=self.fpr_rule)
        metrics = dict(
            AUROC=100 * values['auroc'],
            AP=100 * values['ap'],
            FPR95=100 * values['fpr'])
        table = PrettyTable()
        table.field_names = ['score', 'AUROC', 'AP', 'FPR95', 'pixels',
                             'anomaly %']
        table.add_row([
            self.score_type + (' (blurred)' if self.blur else ''),
            f"{metrics['AUROC']:.2f}", f"{metrics['AP']:.2f}",
            f"{metrics['FPR95']:.2f}", values['num_pixels'],
            f"{100 * values['num_anomaly'] / values['num_pixels']:.3f}"
        ])
        title = f'anomaly metrics{" of " + self.prefix if self.prefix else ""}'
        print_log(f'{title} (FPR95 rule: {self.fpr_rule}):\n'
                  + table.get_string(),
                  logger=MMLogger.get_current_instance())
        return metrics
