"""Validation and test loops over several named anomaly sets.

MMEngine's loops evaluate one dataloader. These evaluate any number of
anomaly sets in one run, each under its own metric prefix, and log one
table at the end::

    val_cfg = dict(type='AnomalySetsValLoop')
    val_dataloader = dict(
        fs_laf=dict(batch_size=1, ..., dataset=dict(type=...)),
        road_anomaly=dict(batch_size=1, ..., dataset=dict(type=...)))
    # one metric config for every set (its prefix becomes the set name) ...
    val_evaluator = dict(type='AnomalyMetric', num_classes=19, blur=True)
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

from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger, print_log
from mmengine.runner import TestLoop, ValLoop
from mmengine.runner.loops import _parse_losses
from mmseg.registry import LOOPS

from ..evaluation.metrics.anomaly_metric import AnomalyMetric
from ..evaluation.report import sets_table


def _is_dataloader_cfg(cfg) -> bool:
    return isinstance(cfg, dict) and 'dataset' in cfg


def _set_configs(dataloader, evaluator, stage: str) -> Dict[str, tuple]:
    """Pair each named dataloader config with its evaluator config."""
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
        sets[name] = (loader_cfg, metric_cfg)
    return sets


class _AnomalySetsMixin:
    """Builds the sets and runs each through the parent loop's iteration
    (``ValLoop.run_iter`` or ``TestLoop.run_iter``, by :attr:`stage`)."""

    stage: str

    def __init__(self,
                 runner,
                 dataloader: Dict[str, dict],
                 evaluator: Union[dict, List[dict]],
                 fp16: bool = False) -> None:
        self._runner = runner
        self._build_sets(runner, dataloader, evaluator)
        self.fp16 = fp16
        # `val_loss` / `test_loss`, as the parent's run_iter expects
        setattr(self, f'{self.stage}_loss', dict())

    def run(self) -> dict:
        """Evaluate every set; returns all sets' metrics."""
        self.runner.call_hook(f'before_{self.stage}')
        self.runner.call_hook(f'before_{self.stage}_epoch')
        self.runner.model.eval()
        getattr(self, f'{self.stage}_loss').clear()
        metrics = self._run_sets()
        self.runner.call_hook(f'after_{self.stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{self.stage}')
        return metrics

    def _build_sets(self, runner, dataloader, evaluator) -> None:
        self.sets: Dict[str, tuple] = {}
        diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
        for name, (loader_cfg, metric_cfg) in _set_configs(
                dataloader, evaluator, self.stage).items():
            sampler = loader_cfg.get('sampler') or {}
            if sampler.get('type') in ('DefaultSampler',
                                       'mmengine.DefaultSampler'):
                # no padded duplicates: streaming metrics would count them
                loader_cfg = dict(
                    loader_cfg, sampler=dict(sampler, round_up=False))
            loader = runner.build_dataloader(
                loader_cfg, seed=runner.seed, diff_rank_seed=diff_rank_seed)
            set_evaluator = runner.build_evaluator(metric_cfg)
            set_evaluator.dataset_meta = loader.dataset.metainfo
            self.sets[name] = (loader, set_evaluator)
        #: Per anomaly metric of the last run (rank 0), keyed by metric
        #: prefix: see :mod:`mmseg_ood.evaluation.report`.
        self.summaries: Dict[str, dict] = {}
        self.current_set: Optional[str] = None
        self.dataloader, self.evaluator = next(iter(self.sets.values()))

    def _run_sets(self) -> dict:
        all_metrics: dict = {}
        losses = getattr(self, f'{self.stage}_loss')
        self.summaries = {}
        for name, (loader, evaluator) in self.sets.items():
            self.current_set = name
            self.dataloader, self.evaluator = loader, evaluator
            print_log(
                f'Anomaly set {name!r}: {len(loader.dataset)} images '
                f'({type(loader.dataset).__name__}, '
                f'{loader.dataset.data_root})',
                logger='current')
            for idx, data_batch in enumerate(loader):
                self.run_iter(idx, data_batch)
            metrics = evaluator.evaluate(len(loader.dataset))
            all_metrics.update(metrics)
            self.summaries.update(self._summaries(name, loader, evaluator))
        if losses:
            all_metrics.update(_parse_losses(losses, self.stage))
        if self.stage == 'val':
            self._check_best_metrics(all_metrics)
        self.current_set = None
        rules = sorted(
            {s.get('fpr_rule', '-') for s in self.summaries.values()})
        print_log(
            f'anomaly sets (percent; FPR95 rule: {", ".join(rules)}):\n' +
            sets_table(self.summaries).get_string(),
            logger=MMLogger.get_current_instance())
        return all_metrics

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
                    s['message'] for s in self.summaries.values()
                    if s.get('set') == name and 'message' in s
                ]
                raise ValueError(
                    f'The best checkpoint is chosen by {key!r} (save_best), '
                    f'but this {self.stage} run has no such value'
                    + (f': {reasons[0]}' if reasons else
                       f'; it has {sorted(metrics)}') +
                    '. Pick another key for default_hooks.checkpoint.'
                    'save_best or fix the set.')

    @staticmethod
    def _summaries(name: str, loader, evaluator: Evaluator) -> dict:
        """One summary per anomaly metric of the set, keyed by its prefix."""
        dataset = loader.dataset
        facts = dict(
            set=name,
            dataset=type(dataset).__name__,
            data_root=dataset.data_root,
            num_images=len(dataset))
        if dataset.metainfo.get('set_name'):
            facts['set_name'] = dataset.metainfo['set_name']
        if dataset.metainfo.get('set_version'):
            facts['version'] = dataset.metainfo['set_version']
        summaries = {}
        for metric in evaluator.metrics:
            if isinstance(metric, AnomalyMetric):
                summaries[metric.prefix] = dict(facts, **metric.summary)
        return summaries


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
