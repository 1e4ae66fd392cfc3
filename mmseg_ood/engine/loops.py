"""Validation and test loops over several named anomaly sets.

MMEngine's loops evaluate one dataloader. These evaluate any number of
anomaly sets in one run, each under its own metric prefix, and log one
table at the end::

    val_cfg = dict(type='AnomalySetsValLoop')
    val_dataloader = dict(
        fs_laf=dict(batch_size=1, ..., dataset=dict(type=...)),
        road_anomaly=dict(batch_size=1, ..., dataset=dict(type=...)))
    # one metric config for every set (its prefix becomes the set name) ...
    val_evaluator = dict(type='AnomalyMetric', score=dict(
        type='EnergyScore', num_classes=19))
    # ... or one per set, under the same names:
    # val_evaluator = dict(fs_laf=dict(...), road_anomaly=dict(...))
    default_hooks = dict(
        checkpoint=dict(save_best='fs_laf/AP', rule='greater'))

Metric names are ``<set>/<metric>``, e.g. ``fs_laf/AP`` (a metric config
with its own prefix ``p`` gives ``<set>/p/<metric>``). Sets can be
changed from the command line:
``--cfg-options val_dataloader.fs_laf.dataset.data_root=...``.
"""
import copy
from typing import Dict, List, Optional, Union

from mmengine.dataset import DefaultSampler
from mmengine.logging import MMLogger, print_log
from mmengine.runner import TestLoop, ValLoop
from mmseg.registry import LOOPS

from ..configs.anomaly_sets import DELETE_KEY
from ..evaluation.metrics.anomaly_metric import AnomalyMetric
from ..evaluation.results import SetResult, sets_table
from ..utils.config_walk import is_type

__all__ = ['AnomalySetsTestLoop', 'AnomalySetsValLoop', 'set_configs']


def _is_dataloader_cfg(cfg) -> bool:
    return isinstance(cfg, dict) and 'dataset' in cfg


def set_configs(dataloader, evaluator, stage: str) -> Dict[str, tuple]:
    """Pair each named dataloader config with its evaluator config.

    The samplers of the sets do not pad: ``DefaultSampler`` gets
    ``round_up=False``, so no image is counted twice by a streaming metric.

    Args:
        dataloader (dict): Named dataloader configs. A ``_delete_`` key
            (left by MMEngine when the base config has no such dataloader)
            is ignored.
        evaluator (dict | list): One metric config (or list) for every set,
            or a dict of them named as the sets.
        stage (str): ``'val'`` or ``'test'`` (for messages).

    Returns:
        dict: Set name -> (dataloader config, metric config with the set's
        prefix).
    """
    if isinstance(dataloader, dict):
        dataloader = {k: v for k, v in dataloader.items() if k != DELETE_KEY}
    if isinstance(evaluator, dict):
        evaluator = {k: v for k, v in evaluator.items() if k != DELETE_KEY}
    if (not isinstance(dataloader, dict) or _is_dataloader_cfg(dataloader)
            or not dataloader):
        raise TypeError(
            f'AnomalySets{stage.title()}Loop needs `{stage}_dataloader` as '
            'a dict of named dataloader configs, e.g. dict(fs_laf=dict('
            'batch_size=1, ..., dataset=...), road_anomaly=dict(...)); '
            f'got {type(dataloader).__name__} with keys '
            f'{list(dataloader) if isinstance(dataloader, dict) else "-"}.')
    for name, cfg in dataloader.items():
        if not _is_dataloader_cfg(cfg):
            raise TypeError(
                f'{stage}_dataloader.{name} is not a dataloader config (a '
                "dict with a 'dataset' key).")
    shared = isinstance(evaluator, list) or (isinstance(evaluator, dict)
                                             and 'type' in evaluator)
    if not shared:
        got = sorted(evaluator) if isinstance(evaluator, dict) else evaluator
        if not isinstance(evaluator, dict) or set(evaluator) != set(
                dataloader):
            raise ValueError(
                f'{stage}_evaluator must be one metric config for every set '
                '(a dict with a type) or a dict with one config per set, '
                f'named as the sets {sorted(dataloader)}; got {got!r}.')
    sets = {}
    for name, loader_cfg in dataloader.items():
        metric_cfg = copy.deepcopy(evaluator if shared else evaluator[name])
        for metric in (metric_cfg
                       if isinstance(metric_cfg, list) else [metric_cfg]):
            # several metrics per set keep apart by their own prefix
            own = metric.get('prefix')
            metric['prefix'] = f'{name}/{own}' if own else name
        sampler = loader_cfg.get('sampler') or {}
        if is_type(sampler, DefaultSampler):
            # no padded duplicates: streaming metrics would count them
            loader_cfg = dict(loader_cfg,
                              sampler=dict(sampler, round_up=False))
        sets[name] = (loader_cfg, metric_cfg)
    return sets


def _mean_losses(buffers: dict, stage: str) -> Dict[str, float]:
    """Mean of each loss the model returned during evaluation, and their
    sum as ``<stage>_loss`` (what MMEngine's own loops report)."""
    means = {name: float(buffer.mean()) for name, buffer in buffers.items()}
    means[f'{stage}_loss'] = sum(v for k, v in means.items() if 'loss' in k)
    return means


class _AnomalySetsMixin:
    """Runs each set through the parent loop's iteration (``ValLoop.run_iter``
    or ``TestLoop.run_iter``, by :attr:`stage`).

    Every set is built by a plain MMEngine loop of the parent class (its
    dataloader, seeded as MMEngine seeds it, and its evaluator with the
    dataset's meta); this loop is constructed on the first set's.
    """

    stage: str
    plain_loop: type

    def __init__(self,
                 runner,
                 dataloader: Dict[str, dict],
                 evaluator: Union[dict, List[dict]],
                 fp16: bool = False) -> None:
        #: Set name -> the plain loop holding its dataloader and evaluator.
        self.set_loops = {
            name: self.plain_loop(runner, loader_cfg, metric_cfg, fp16)
            for name, (loader_cfg, metric_cfg) in set_configs(
                dataloader, evaluator, self.stage).items()
        }
        first = next(iter(self.set_loops.values()))
        super().__init__(runner, first.dataloader, first.evaluator, fp16)
        #: Results of the last run (rank 0), one per anomaly metric.
        self.results: List[SetResult] = []
        #: Name of the set being evaluated (for hooks), None in between.
        self.current_set: Optional[str] = None

    @property
    def _losses(self) -> dict:
        return getattr(self, f'{self.stage}_loss')

    def run(self) -> dict:
        """Evaluate every set; returns all sets' metrics."""
        self.runner.call_hook(f'before_{self.stage}')
        self.runner.call_hook(f'before_{self.stage}_epoch')
        self.runner.model.eval()
        self._losses.clear()
        metrics: dict = {}
        self.results = []
        for name, loop in self.set_loops.items():
            self.current_set = name
            self.dataloader, self.evaluator = loop.dataloader, loop.evaluator
            dataset = self.dataloader.dataset
            print_log(
                f'Anomaly set {name!r}: {len(dataset)} images '
                f'({type(dataset).__name__}, {dataset.data_root})',
                logger='current')
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
            metrics.update(self.evaluator.evaluate(len(dataset)))
            self.results += self._set_results(name, dataset)
        if self._losses:
            metrics.update(_mean_losses(self._losses, self.stage))
        if self.stage == 'val':
            self._check_best_metrics(metrics)
        self.current_set = None
        rules = sorted({r.result.fpr_rule for r in self.results})
        print_log(
            f'anomaly sets (percent; FPR95 rule: {", ".join(rules)}):\n' +
            sets_table(self.results).get_string(),
            logger=MMLogger.get_current_instance())
        self.runner.call_hook(f'after_{self.stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{self.stage}')
        return metrics

    def _check_best_metrics(self, metrics: dict) -> None:
        """A set without values cannot choose the best checkpoint: say so
        instead of letting CheckpointHook fail on a missing key."""
        for hook in self.runner.hooks:
            keys = getattr(hook, 'key_indicators', None) or []
            for key in keys:
                if key == 'auto' or key in metrics:
                    continue
                name = key.split('/')[0]
                reasons = [
                    r.result.message for r in self.results
                    if r.set == name and r.result.message
                ]
                raise ValueError(
                    f'The best checkpoint is chosen by {key!r} (save_best), '
                    f'but this {self.stage} run has no such value'
                    + (f': {reasons[0]}' if reasons else
                       f'; it has {sorted(metrics)}') +
                    '. Pick another key for default_hooks.checkpoint.'
                    'save_best or fix the set.')

    def _set_results(self, name: str, dataset) -> List[SetResult]:
        """One result per anomaly metric of the set's evaluator."""
        facts = dataset.metainfo.get('anomaly_set') or {}
        return [
            SetResult(
                key=metric.prefix,
                set=name,
                dataset=type(dataset).__name__,
                data_root=dataset.data_root,
                num_images=len(dataset),
                result=metric.result,
                benchmark=facts.get('benchmark'),
                set_name=facts.get('name'),
                version=facts.get('version'))
            for metric in self.evaluator.metrics
            if isinstance(metric, AnomalyMetric) and metric.result
        ]


@LOOPS.register_module()
class AnomalySetsValLoop(_AnomalySetsMixin, ValLoop):
    """Validation over several named anomaly sets (see module docstring).

    Args:
        runner (Runner): The runner.
        dataloader (dict): Named dataloader configs.
        evaluator (dict | list): One metric config for every set, or a dict
            of metric configs named as the sets.
        fp16 (bool): Validate under autocast. Defaults to False.
    """
    stage = 'val'
    plain_loop = ValLoop


@LOOPS.register_module()
class AnomalySetsTestLoop(_AnomalySetsMixin, TestLoop):
    """Test over several named anomaly sets (see module docstring).

    Args:
        runner (Runner): The runner.
        dataloader (dict): Named dataloader configs.
        evaluator (dict | list): One metric config for every set, or a dict
            of metric configs named as the sets.
        fp16 (bool): Test under autocast. Defaults to False.
    """
    stage = 'test'
    plain_loop = TestLoop
