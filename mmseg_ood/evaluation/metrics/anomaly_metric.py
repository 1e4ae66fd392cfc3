"""Pixel-level anomaly segmentation metric for MMEngine evaluators."""
import logging
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ...datasets.set_specs import SMIYC_TRACKS, get_set_spec
from ...models.scores import AnomalyScore, build_anomaly_score
from ...utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    IGNORE_INDEX,
)
from ..components import (
    aggregate_component_stats,
    best_f1_threshold,
    image_component_stats,
)
from ..functional import (
    FPR_RULES,
    DegenerateSplitError,
    anomaly_metrics,
    binary_curve,
)
from ..histogram import ScoreHistogram
from ..results import COMPONENT_METRICS, PIXEL_METRICS, MetricResult

__all__ = ['MODES', 'AnomalyMetric']

MODES = ('exact', 'histogram')


@METRICS.register_module()
class AnomalyMetric(BaseMetric):
    """AUROC, AP and FPR95 of an anomaly score over all valid pixels of a set.

    The score is computed from the ``seg_logits`` that every MMSeg segmentor
    stores on its predictions (at the label's native resolution), so any
    MMSeg model can be evaluated unchanged. All valid pixels of the split are
    pooled (not averaged per image). Metrics are reported in percent.

    Two modes:

    * ``'exact'`` (default): per image the valid pixels' scores (float32) and
      labels (bool) are kept, 5 bytes per pixel, and the metrics are exact
      (see :mod:`mmseg_ood.evaluation.functional`).
    * ``'histogram'``: each process keeps one
      :class:`~mmseg_ood.evaluation.histogram.ScoreHistogram` of bounded
      size, whatever the number of images; processes exchange only that.
      The AP error bound is reported as ``AP_error_bound``.

    On SegmentMeIfYouCan sets the component metrics sIoU_gt, PPV and mean
    F1 are computed as well, at the pixel threshold of best F1
    (:mod:`mmseg_ood.evaluation.components`), with the size filters of the
    set's track. They need each image's map, kept compactly (the valid
    pixels' 5 bytes plus one bit per pixel), so they are computed in exact
    mode only.

    A split without anomaly (or without inlier) pixels has no AUROC/AP/FPR:
    the metric logs why and returns no values for it.

    Args:
        score (dict | AnomalyScore): The anomaly score, e.g.
            ``dict(type='EnergyScore', num_classes=19,
            blur=dict(kernel_size=7, sigma=1.0))`` (the paper's), built once
            (:mod:`mmseg_ood.models.scores`).
        fpr_rule (str): ``'first'`` (benchmarks; default), ``'strict'`` or
            ``'nearest'`` (PEBAL / Balanced Energy code).
        mode (str): ``'exact'`` (default) or ``'histogram'``.
        histogram_bits (int): Mantissa bits of the histogram bins (relative
            bin width ``2**-histogram_bits``). Defaults to 15.
        components (str, optional): Track of the component metrics:
            ``'auto'`` (default) takes the track of the dataset's benchmark
            set (:data:`~mmseg_ood.datasets.set_specs.ANOMALY_SETS`) and
            skips them on other sets; ``'anomaly'`` or ``'obstacle'`` force
            a track; None skips them.
        keep_curve (bool): Keep the pooled ROC/PR counts of the last
            evaluation in :attr:`result` (for plots). Defaults to False.
        ignore_index (int): Void label of the evaluation labels (255).
        collect_device (str): Device used to gather results across ranks.
        prefix (str, optional): Prefix of the metric names, e.g. the name of
            the anomaly set.

    Example:
        >>> val_evaluator = dict(
        ...     type='AnomalyMetric',
        ...     score=dict(type='EnergyScore', num_classes=19,
        ...                blur=dict(kernel_size=7, sigma=1.0)))
    """

    def __init__(self,
                 score: Union[dict, AnomalyScore],
                 fpr_rule: str = 'first',
                 mode: str = 'exact',
                 histogram_bits: int = 15,
                 components: Optional[str] = 'auto',
                 keep_curve: bool = False,
                 ignore_index: int = IGNORE_INDEX,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        for name, value, choices in (('fpr_rule', fpr_rule, FPR_RULES),
                                     ('mode', mode, MODES)):
            if value not in choices:
                raise ValueError(f'Unknown {name} {value!r}; choose one of '
                                 f'{choices}.')
        if components not in (None, 'auto', *SMIYC_TRACKS):
            raise ValueError(
                f'Unknown components track {components!r}; choose one of '
                f"{('auto', *SMIYC_TRACKS)} or None.")
        if components in SMIYC_TRACKS and mode != 'exact':
            raise ValueError(
                'Component metrics need every score map of the split; '
                "use mode='exact' with components.")
        #: The anomaly score, built once.
        self.score = build_anomaly_score(score)
        self.fpr_rule = fpr_rule
        if mode == 'histogram':
            ScoreHistogram(histogram_bits)  # checks histogram_bits now
        self.mode = mode
        self.histogram_bits = histogram_bits
        self.components = components
        self.keep_curve = keep_curve
        self.ignore_index = ignore_index
        #: Result of the last evaluation (rank 0).
        self.result: Optional[MetricResult] = None

    @property
    def component_track(self) -> Optional[str]:
        """The SMIYC track whose component metrics are computed, or None."""
        if self.components != 'auto':
            return self.components
        if self.mode != 'exact':
            return None
        return self._dataset_track()

    def _dataset_track(self) -> Optional[str]:
        """The track of the dataset's benchmark set, or None."""
        benchmark = ((self.dataset_meta or {}).get('anomaly_set')
                     or {}).get('benchmark')
        return get_set_spec(benchmark).track if benchmark else None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Score each image and keep what the mode needs of it."""
        track = self.component_track
        for sample in data_samples:
            score, label = self._score_and_label(sample)
            valid = label != self.ignore_index
            pixel_scores = score[valid].numpy()
            pixel_labels = (label[valid] == ANOMALY_EVAL_ANOMALY).numpy()
            if track is not None:
                # the maps, compactly: valid scores plus packed bit masks
                self.results.append(
                    (pixel_scores, pixel_labels, tuple(label.shape),
                     np.packbits(valid.numpy())))
            elif self.mode == 'histogram':
                # one bounded accumulator per process
                if not self.results:
                    self.results.append(ScoreHistogram(self.histogram_bits))
                self.results[0].update(pixel_scores, pixel_labels)
            else:
                self.results.append((pixel_scores, pixel_labels))

    def _score_and_label(self, sample: dict):
        """Anomaly score (float32) and label map (uint8) of one sample, CPU."""
        if 'seg_logits' not in sample:
            raise KeyError(
                'AnomalyMetric needs the `seg_logits` that MMSeg segmentors '
                'store on their predictions, but this model returned none '
                '(test-time augmentation with SegTTAModel drops them). '
                'Evaluate without --tta.')
        logits = sample['seg_logits']['data']
        label = sample['gt_sem_seg']['data'].squeeze(0)
        name = sample.get('img_path', '<unknown image>')
        if logits.shape[-2:] != label.shape:
            raise ValueError(
                f'{name}: anomaly scores are {tuple(logits.shape[-2:])} but '
                f'the label is {tuple(label.shape)}. Load labels at their '
                'native resolution: put LoadAnnotations after Resize in the '
                'test pipeline.')
        with torch.no_grad():
            score = self.score(logits.unsqueeze(0))[0]
        label = label.cpu()
        values = torch.unique(label)
        unexpected = values[(values != ANOMALY_EVAL_INLIER)
                            & (values != ANOMALY_EVAL_ANOMALY)
                            & (values != self.ignore_index)]
        if unexpected.numel():
            raise ValueError(
                f'{name}: label values {unexpected.tolist()} found; anomaly '
                'labels must be 0 (inlier), 1 (anomaly) or '
                f'{self.ignore_index} (void). Convert the dataset with its '
                'converter (see the AnomalyDataset docs).')
        return (score.float().cpu().contiguous(),
                label.to(torch.uint8).contiguous())

    def evaluate(self, size: int) -> dict:
        """Evaluate; in histogram mode every process contributes one state."""
        if self.mode == 'histogram' and not self.results:
            # a process that saw no image still takes part in the gather
            self.results.append(ScoreHistogram(self.histogram_bits))
        return super().evaluate(size)

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Pool all pixels of the split and compute the metrics (percent)."""
        self.results.clear()  # `results` holds the only references now
        if (self.components == 'auto' and self.mode != 'exact'
                and self._dataset_track()):
            print_log(
                f'{self.prefix or "this set"}: no SegmentMeIfYouCan '
                "component metrics in mode='histogram' (they need every "
                "score map); use mode='exact' for them.",
                logger=MMLogger.get_current_instance(),
                level=logging.WARNING)
        result = MetricResult(
            score=self.score.settings(), score_name=self.score.name,
            fpr_rule=self.fpr_rule, mode=self.mode,
            components=self.component_track)
        self.result = result
        try:
            if self.mode == 'histogram':
                values, curve = self._histogram_metrics(results)
            else:
                values, curve = self._exact_metrics(results)
        except DegenerateSplitError as error:
            result.message = str(error)
            print_log(
                f'No anomaly metrics for {self.prefix or "this set"}: '
                f'{error}',
                logger=MMLogger.get_current_instance(),
                level=logging.WARNING)
            return {}
        metrics = {
            'AUROC': 100 * values['auroc'],
            'AP': 100 * values['ap'],
            'FPR95': 100 * values['fpr'],
        }
        if 'ap_error_bound' in values:
            metrics['AP_error_bound'] = 100 * values['ap_error_bound']
        for key in COMPONENT_METRICS:
            if key in values:
                metrics[key] = 100 * values[key]
        result.metrics = dict(metrics)
        result.num_pixels = int(values['num_pixels'])
        result.num_anomaly = int(values['num_anomaly'])
        if self.keep_curve:
            result.curve = curve
        self._log_table(result)
        return metrics

    def _histogram_metrics(self, results: List):
        total = ScoreHistogram(self.histogram_bits)
        for histogram in results:
            total.merge(histogram)
        values = total.metrics(fpr_rule=self.fpr_rule)
        curve = total.curve()[1:] if self.keep_curve else None
        return values, curve

    def _exact_metrics(self, results: List):
        """Exact pixel metrics (plus the component metrics on SMIYC sets)
        and, if kept, the curve."""
        component_maps = None
        if self.component_track is not None:
            component_maps = results
            scores, labels = _pool([r[:2] for r in results], free=False)
        else:
            scores, labels = _pool(results)
        values = anomaly_metrics(scores, labels, fpr_rule=self.fpr_rule)
        curve = None
        if self.keep_curve or component_maps is not None:
            thresholds, fps, tps = binary_curve(scores, labels)
            del scores, labels
            curve = (fps, tps)
            if component_maps is not None:
                values.update(self._component_metrics(
                    component_maps, best_f1_threshold(thresholds, fps, tps)))
        return values, curve

    def _component_metrics(self, maps: List, threshold: float) -> dict:
        """sIoU_gt, PPV and mean F1 at ``threshold`` (fractions)."""
        sizes = SMIYC_TRACKS[self.component_track]
        stats = [
            image_component_stats(
                *_unpack_maps(*entry, self.ignore_index), threshold,
                sizes.min_pred_size, sizes.min_gt_size,
                ignore_index=self.ignore_index) for entry in maps
        ]
        try:
            values = aggregate_component_stats(stats)
        except ValueError as error:  # no ground-truth component kept
            self.result.message = f'no component metrics: {error}'
            return {}
        self.result.component_threshold = float(threshold)
        return values

    def _log_table(self, result: MetricResult) -> None:
        metrics = result.metrics
        table = PrettyTable()
        names = [k for k in PIXEL_METRICS + COMPONENT_METRICS if k in metrics]
        table.field_names = ['score', *names, 'pixels', 'anomaly %']
        table.add_row([
            repr(self.score),
            *[f'{metrics[k]:.2f}' for k in names], result.num_pixels,
            f'{100 * result.num_anomaly / result.num_pixels:.3f}'
        ])
        title = f'anomaly metrics{" of " + self.prefix if self.prefix else ""}'
        note = f'FPR95 rule: {self.fpr_rule}, mode: {self.mode}'
        if 'AP_error_bound' in metrics:
            note += f", AP error <= {metrics['AP_error_bound']:.4f}"
        print_log(f'{title} ({note}):\n' + table.get_string(),
                  logger=MMLogger.get_current_instance())


def _pool(pairs: List, free: bool = True) -> tuple:
    """Concatenate per-image (scores, labels); with ``free`` the list is
    emptied as it goes, so each part is released once copied."""
    total = sum(int(s.size) for s, _ in pairs)
    scores = np.empty(total, dtype=np.float32)
    labels = np.empty(total, dtype=bool)
    start = 0
    for index in range(len(pairs)):
        part_scores, part_labels = pairs[index]
        if free:
            pairs[index] = None
        stop = start + part_scores.size
        scores[start:stop] = part_scores
        labels[start:stop] = part_labels
        start = stop
    if free:
        pairs.clear()
    return scores, labels


def _unpack_maps(scores: np.ndarray, anomaly: np.ndarray, shape: tuple,
                 packed_valid: np.ndarray, ignore_index: int) -> tuple:
    """Score and label maps of one image from its compact record (void
    pixels get the lowest score; they are never predicted)."""
    valid = np.unpackbits(
        packed_valid, count=int(np.prod(shape))).astype(bool).reshape(shape)
    score_map = np.full(shape, np.finfo(np.float32).min, dtype=np.float32)
    score_map[valid] = scores
    label_map = np.full(shape, ignore_index, dtype=np.uint8)
    label_map[valid] = anomaly.astype(np.uint8)
    return score_map, label_map
