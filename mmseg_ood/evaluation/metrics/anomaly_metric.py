"""Pixel-level anomaly segmentation metric for MMEngine evaluators."""
import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ...datasets.set_specs import (
    COMPUTATIONS,
    SMIYC_TRACKS,
    AnomalySetSpec,
    get_set_spec,
    smiyc_frame_id,
)
from ...models.scores import (
    AnomalyScore,
    build_anomaly_score,
    check_prediction_channels,
)
from ...utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    IGNORE_INDEX,
    check_label_roles,
)
from ..components import (
    aggregate_component_stats,
    best_f1_threshold,
    component_stats_of_mask,
)
from ..functional import (
    FPR_RULES,
    DegenerateSplitError,
    anomaly_metrics,
    binary_curve,
)
from ..histogram import ScoreHistogram
from ..results import (
    COMPONENT_METRICS,
    EXACT_SUFFIX,
    PIXEL_METRICS,
    MetricResult,
    histogram_note,
    numbers_label,
    table_rows,
)
from ..smiyc import (
    FrameBins,
    binned_curve,
    frame_bins,
    smiyc_pixel_metrics,
    smiyc_prediction,
    to_smiyc_scores,
)

__all__ = ['MODES', 'AnomalyMetric']

MODES = ('exact', 'histogram')

#: Metric names of the fractions the evaluation functions return.
_NAMES = dict(auroc='AUROC', ap='AP', fpr='FPR95', sIoU_gt='sIoU_gt',
              PPV='PPV', mean_F1='mean_F1')


@dataclass
class _ImageRecord:
    """What exact mode keeps of an image (a dataclass: MMEngine's gather
    turns tuples into plain tuples).

    ``scores`` (float32) and ``anomaly`` (bool) of the valid pixels; for
    component metrics the map's ``shape`` and its packed valid mask
    (one bit per pixel); for SegmentMeIfYouCan's computation the frame's
    ``bins``.
    """
    scores: np.ndarray
    anomaly: np.ndarray
    shape: Optional[Tuple[int, int]] = None
    packed_valid: Optional[np.ndarray] = None
    bins: Optional[FrameBins] = None


@METRICS.register_module()
class AnomalyMetric(BaseMetric):
    """AUROC, AP and FPR95 of an anomaly score over all valid pixels of a set.

    The score is computed from the ``seg_logits`` that every MMSeg segmentor
    stores on its predictions (at the label's native resolution), so any
    MMSeg model can be evaluated unchanged. All valid pixels of the split are
    pooled (not averaged per image). Metrics are reported in percent.

    Whose numbers (``computation``): each benchmark's own, read from the
    dataset's set (:attr:`~mmseg_ood.datasets.set_specs.AnomalySetSpec.
    computation`), so that they can stand beside its leaderboard:

    * ``'exact'`` (Fishyscapes, Road Anomaly and sets of no benchmark):
      every distinct score is a threshold (:mod:`~mmseg_ood.evaluation.
      functional`), as scikit-learn and the Fishyscapes server.
    * ``'smiyc'`` (SegmentMeIfYouCan sets): what road-anomaly-benchmark
      computes (:mod:`~mmseg_ood.evaluation.smiyc`: float16 maps,
      per-frame quantile bins, components at the best-F1 bin edge with
      ``score > threshold``) under the plain names; in exact mode the
      exact values too, as ``AUROC_exact``, ``AP_exact``, ...,
      ``mean_F1_exact``. The plain FPR95 is the benchmark's (first point
      with TPR >= 0.95 of its binned curve); ``fpr_rule`` applies to
      ``FPR95_exact``.

    Two modes:

    * ``'exact'`` (default): per image the valid pixels' scores (float32) and
      labels (bool) are kept, 5 bytes per pixel, and the metrics are exact
      (see :mod:`mmseg_ood.evaluation.functional`).
    * ``'histogram'``: each process keeps one
      :class:`~mmseg_ood.evaluation.histogram.ScoreHistogram` of bounded
      size, whatever the number of images; processes exchange only that.
      ``AP_error_bound`` is a guaranteed worst-case bound on its distance
      to the exact AP, not an estimate of it. On SegmentMeIfYouCan sets it
      keeps each frame's bins instead (a few kilobytes per image) and
      reports the benchmark's pixel metrics, equal to those of exact mode;
      their component metrics and exact values need exact mode.

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
        computation (str): ``'auto'`` (default): the benchmark's of the
            dataset's set, ``'exact'`` elsewhere; ``'exact'`` or
            ``'smiyc'`` force one.
        components (str, optional): Track of the component metrics:
            ``'auto'`` (default) takes the track of the dataset's benchmark
            set (:data:`~mmseg_ood.datasets.set_specs.ANOMALY_SETS`) and
            skips them on other sets; ``'anomaly'`` or ``'obstacle'`` force
            a track; None skips them.
        keep_curve (bool): Keep the pooled ROC/PR counts of the last
            evaluation in :attr:`result` (for plots): the curve of the
            plain-named metrics (the binned one for ``'smiyc'``). Defaults
            to False.
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
                 computation: str = 'auto',
                 components: Optional[str] = 'auto',
                 keep_curve: bool = False,
                 ignore_index: int = IGNORE_INDEX,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        for name, value, choices in (
                ('fpr_rule', fpr_rule, FPR_RULES), ('mode', mode, MODES),
                ('computation', computation, ('auto', *COMPUTATIONS))):
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
        self.computation = computation
        self.components = components
        self.keep_curve = keep_curve
        check_label_roles(None, ignore_index, ANOMALY_EVAL_ANOMALY + 1,
                          where='AnomalyMetric',
                          classes='evaluation classes (0 inlier, 1 anomaly)')
        self.ignore_index = ignore_index
        #: Result of the last evaluation (rank 0).
        self.result: Optional[MetricResult] = None

    def _dataset_spec(self) -> Optional[AnomalySetSpec]:
        """The spec of the dataset's benchmark set, or None."""
        benchmark = ((self.dataset_meta or {}).get('anomaly_set')
                     or {}).get('benchmark')
        return get_set_spec(benchmark) if benchmark else None

    @property
    def set_computation(self) -> str:
        """Whose computation the plain metric names follow on this set:
        ``'exact'`` or ``'smiyc'``."""
        if self.computation != 'auto':
            return self.computation
        spec = self._dataset_spec()
        return spec.computation if spec else 'exact'

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
        spec = self._dataset_spec()
        return spec.track if spec else None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Score each image and keep what the mode needs of it."""
        track = self.component_track
        smiyc = self.set_computation == 'smiyc'
        for sample in data_samples:
            score, label = self._score_and_label(sample)
            name = sample.get('img_path', '<unknown image>')
            valid = label != self.ignore_index
            pixel_scores = score[valid].numpy()
            pixel_labels = (label[valid] == ANOMALY_EVAL_ANOMALY).numpy()
            bins = None
            if smiyc:  # what the benchmark keeps of the frame
                bins = frame_bins(to_smiyc_scores(pixel_scores, name),
                                  pixel_labels, smiyc_frame_id(name))
            if self.mode == 'histogram':
                if smiyc:
                    self.results.append(bins)
                    continue
                # one bounded accumulator per process
                if not self.results:
                    self.results.append(ScoreHistogram(self.histogram_bits))
                self.results[0].update(pixel_scores, pixel_labels)
            elif track is not None:
                # the maps, compactly: valid scores plus packed bit masks
                self.results.append(
                    _ImageRecord(pixel_scores, pixel_labels,
                                 tuple(label.shape),
                                 np.packbits(valid.numpy()), bins))
            else:
                self.results.append(
                    _ImageRecord(pixel_scores, pixel_labels, bins=bins))

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
        check_prediction_channels(logits.shape[0], self.score.num_classes,
                                  source=f'{name}: the model')
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
        if (self.mode == 'histogram' and not self.results
                and self.set_computation == 'exact'):
            # a process that saw no image still takes part in the gather
            self.results.append(ScoreHistogram(self.histogram_bits))
        return super().evaluate(size)

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Pool all pixels of the split and compute the metrics (percent)."""
        self.results.clear()  # `results` holds the only references now
        computation = self.set_computation
        result = MetricResult(
            score=self.score.settings(), score_name=self.score.name,
            fpr_rule=self.fpr_rule, mode=self.mode, computation=computation,
            components=self.component_track)
        self.result = result
        if (self.components == 'auto' and self.mode != 'exact'
                and self._dataset_track()):
            result.message = (
                "no component metrics in mode='histogram' (they need every "
                "score map); use mode='exact' for them")
            print_log(f'{self.prefix or "this set"}: {result.message}.',
                      logger=MMLogger.get_current_instance(),
                      level=logging.WARNING)
        try:
            if self.mode == 'histogram' and computation == 'smiyc':
                metrics, curve = self._smiyc_metrics(results, None)
            elif self.mode == 'histogram':
                metrics, curve = self._histogram_metrics(results)
            else:
                metrics, curve = self._exact_metrics(results, computation)
        except DegenerateSplitError as error:
            result.message = str(error)
            print_log(
                f'No anomaly metrics for {self.prefix or "this set"}: '
                f'{error}',
                logger=MMLogger.get_current_instance(),
                level=logging.WARNING)
            return {}
        result.metrics = dict(metrics)
        if self.keep_curve:
            result.curve = curve
        self._log_table(result)
        return metrics

    @staticmethod
    def _percent(values: dict, suffix: str = '') -> Dict[str, float]:
        """Metric names (with ``suffix``) and values in percent."""
        return {
            name + suffix: 100 * values[key]
            for key, name in _NAMES.items() if key in values
        }

    def _count(self, values: dict) -> None:
        self.result.num_pixels = int(values['num_pixels'])
        self.result.num_anomaly = int(values['num_anomaly'])

    def _histogram_metrics(self, results: List):
        total = ScoreHistogram(self.histogram_bits)
        for histogram in results:
            total.merge(histogram)
        values = total.metrics(fpr_rule=self.fpr_rule)
        self._count(values)
        metrics = self._percent(values)
        metrics['AP_error_bound'] = 100 * values['ap_error_bound']
        curve = total.curve()[1:] if self.keep_curve else None
        return metrics, curve

    def _smiyc_metrics(self, frames: List[FrameBins],
                       records: Optional[List[_ImageRecord]]):
        """The benchmark's numbers (fractions), with its component metrics
        when ``records`` holds the maps, and its binned curve."""
        values = smiyc_pixel_metrics(frames)
        self._count(values)
        if records is not None:
            threshold = values['threshold']
            values.update(self._component_metrics(
                records, lambda scores: smiyc_prediction(
                    to_smiyc_scores(scores), threshold)))
            if 'sIoU_gt' in values:
                self.result.component_threshold = threshold
        curve = binned_curve(frames)[1:] if self.keep_curve else None
        return self._percent(values), curve

    def _exact_metrics(self, results: List, computation: str):
        """Exact pixel metrics (plus the component metrics on SMIYC sets),
        beside SegmentMeIfYouCan's own where that is the computation."""
        maps = results if self.component_track is not None else None
        frames = [r.bins for r in results] if computation == 'smiyc' else []
        scores, labels = _pool(results, free=maps is None and not frames)
        values = anomaly_metrics(scores, labels, fpr_rule=self.fpr_rule)
        self._count(values)
        curve = None
        if (self.keep_curve and not frames) or maps is not None:
            thresholds, fps, tps = binary_curve(scores, labels)
            curve = (fps, tps)
            if maps is not None:
                threshold = best_f1_threshold(thresholds, fps, tps)
                values.update(self._component_metrics(
                    maps, lambda s: s >= threshold))
                if 'sIoU_gt' in values:
                    key = ('component_threshold_exact'
                           if frames else 'component_threshold')
                    setattr(self.result, key, float(threshold))
        del scores, labels
        if not frames:
            return self._percent(values), curve
        metrics, curve = self._smiyc_metrics(frames, maps)
        metrics.update(self._percent(values, EXACT_SUFFIX))
        return metrics, curve

    def _component_metrics(self, records: List[_ImageRecord],
                           predict) -> dict:
        """sIoU_gt, PPV and mean F1 (fractions) of the pixels ``predict``
        (valid scores -> booleans) marks anomalous."""
        sizes = SMIYC_TRACKS[self.component_track]
        stats = []
        for record in records:
            valid, label_map = _unpack_labels(record, self.ignore_index)
            predicted = np.zeros(valid.shape, dtype=bool)
            predicted[valid] = predict(record.scores)
            stats.append(component_stats_of_mask(
                predicted, label_map, sizes.min_pred_size, sizes.min_gt_size,
                ignore_index=self.ignore_index))
        try:
            return aggregate_component_stats(stats)
        except ValueError as error:  # no ground-truth component kept
            self.result.message = f'no component metrics: {error}'
            return {}

    def _log_table(self, result: MetricResult) -> None:
        metrics = result.metrics
        table = PrettyTable()
        names = [k for k in PIXEL_METRICS + COMPONENT_METRICS if k in metrics]
        table.field_names = ['score', 'numbers', *names, 'pixels',
                             'anomaly %']
        for index, (label, cells) in enumerate(
                table_rows(metrics, numbers_label(result), names)):
            first = index == 0
            table.add_row([
                repr(self.score) if first else '', label, *cells,
                result.num_pixels if first else '',
                f'{100 * result.num_anomaly / result.num_pixels:.3f}'
                if first else ''
            ])
        title = f'anomaly metrics{" of " + self.prefix if self.prefix else ""}'
        notes = [f'FPR95 rule: {self.fpr_rule}', f'mode: {self.mode}',
                 f'numbers: {COMPUTATIONS[result.computation]}',
                 histogram_note(metrics)]
        print_log(f'{title} ({"; ".join(n for n in notes if n)}):\n' +
                  table.get_string(),
                  logger=MMLogger.get_current_instance())


def _pool(records: List, free: bool = True) -> tuple:
    """Concatenate per-image scores and labels; with ``free`` the list is
    emptied as it goes, so each part is released once copied."""
    total = sum(int(r.scores.size) for r in records)
    scores = np.empty(total, dtype=np.float32)
    labels = np.empty(total, dtype=bool)
    start = 0
    for index in range(len(records)):
        record = records[index]
        if free:
            records[index] = None
        stop = start + record.scores.size
        scores[start:stop] = record.scores
        labels[start:stop] = record.anomaly
        start = stop
    if free:
        records.clear()
    return scores, labels


def _unpack_labels(record: _ImageRecord, ignore_index: int) -> tuple:
    """The valid mask and the label map of one image from its compact
    record."""
    shape = record.shape
    valid = np.unpackbits(
        record.packed_valid,
        count=int(np.prod(shape))).astype(bool).reshape(shape)
    label_map = np.full(shape, ignore_index, dtype=np.uint8)
    label_map[valid] = record.anomaly.astype(np.uint8)
    return valid, label_map
