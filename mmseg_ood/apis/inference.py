"""Anomaly score map and class map of one image, from a config and a
checkpoint (the shape of MMSeg's ``mmseg.apis.inference``).

:class:`AnomalyInferencer` builds the model with MMSeg's ``init_model``,
runs the config's test pipeline on one image at a time and returns the
anomaly score map (float32, higher = more anomalous) and the class map
(argmax over the score's K inlier classes, uint8), both at the image's
resolution: MMSeg's segmentors resize ``seg_logits`` back to the original
size. The score is the config's (its first ``AnomalyMetric``'s), with
optional overrides.

Example:
    >>> inferencer = AnomalyInferencer('configs/x.py', 'iter_8000.pth')
    >>> anomaly, classes = inferencer('0000_frame.png')
"""
import copy
import os.path as osp
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from ..engine.checkpoint import load_fitting_checkpoint
from ..evaluation.metrics.anomaly_metric import AnomalyMetric
from ..models.scores import (
    AnomalyScore,
    build_anomaly_score,
    check_prediction_channels,
)
from ..utils.config_walk import find_configs, is_type, resolve_type

__all__ = ['AnomalyInferencer', 'config_score', 'inference_pipeline']


def config_score(cfg: Config, overrides: Optional[dict] = None) -> dict:
    """The score config of a model config, with overrides.

    The score of the first ``AnomalyMetric`` of ``test_evaluator`` (else
    ``val_evaluator``). ``overrides`` (``--score-options``) set its keys,
    dotted for nested ones (``blur.sigma``); a new ``type`` keeps only the
    number of classes and the blur of the config's score.

    Args:
        cfg (Config): The model config.
        overrides (dict, optional): Keys to set.

    Returns:
        dict: The score config.

    Raises:
        ValueError: If the config has no ``AnomalyMetric`` and the
            overrides do not give a full score (``type`` and
            ``num_classes``).
    """
    metrics = (find_configs(cfg.get('test_evaluator', None), AnomalyMetric)
               or find_configs(cfg.get('val_evaluator', None), AnomalyMetric))
    score = copy.deepcopy(dict(metrics[0]['score'])) if metrics else {}
    overrides = dict(overrides or {})
    new_type = overrides.get('type')
    if new_type is not None and resolve_type(new_type) is not resolve_type(
            score.get('type')):
        score = {k: score[k] for k in ('num_classes', 'blur') if k in score}
    merged = Config(dict(score=score))
    merged.merge_from_dict({f'score.{k}': v for k, v in overrides.items()})
    score = merged.to_dict()['score']
    if 'type' not in score or 'num_classes' not in score:
        raise ValueError(
            'No anomaly score: the config has no AnomalyMetric in '
            'test_evaluator or val_evaluator. Give one, e.g. --score-options '
            'type=EnergyScore num_classes=19.')
    return score


def inference_pipeline(cfg: Config) -> List[dict]:
    """The config's test pipeline without annotation loading.

    Takes the pipeline of ``test_dataloader.dataset`` (of the first named
    loader in a multi-set config), else ``test_pipeline``.

    Raises:
        KeyError: The config has no test pipeline.
        ValueError: The pipeline does not start by loading the image.
    """
    from mmcv.transforms import LoadAnnotations, LoadImageFromFile

    loaders = cfg.get('test_dataloader', None) or {}
    if 'dataset' in loaders:
        loaders = dict(test=loaders)
    pipeline = None
    for loader in loaders.values():
        pipeline = ((loader or {}).get('dataset', None) or {}).get(
            'pipeline', None)
        if pipeline:
            break
    pipeline = pipeline or cfg.get('test_pipeline', None)
    if not pipeline:
        raise KeyError('The config has neither test_dataloader.dataset.'
                       'pipeline nor test_pipeline; add the test pipeline '
                       '(LoadImageFromFile, Resize, PackSegInputs).')
    pipeline = [dict(t) for t in pipeline if not is_type(t, LoadAnnotations)]
    if not is_type(pipeline[0], LoadImageFromFile):
        raise ValueError('The test pipeline must start with '
                         f'LoadImageFromFile, got {pipeline[0]}.')
    return pipeline


class AnomalyInferencer:
    """Anomaly score map and class map of one image, at its resolution.

    Args:
        config (str | Config): Model config (file or object).
        checkpoint (str): Checkpoint file (or URL).
        device (str): Torch device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        score (dict | AnomalyScore, optional): The score; defaults to the
            config's (:func:`config_score`).
        allow_partial (bool): Accept a checkpoint that fits the model only
            partly (the other tensors keep their initial values); the
            mismatch is kept in :attr:`checkpoint_fit`. By default such a
            checkpoint is an error
            (:class:`~mmseg_ood.engine.checkpoint.CheckpointMismatchError`).

    Attributes:
        checkpoint_fit (dict): How the checkpoint fits the model
            (``missing``, ``unexpected``, ``shape_mismatch``, ``partial``).

    Example:
        >>> inferencer = AnomalyInferencer(cfg_file, ckpt_file)
        >>> anomaly, segmentation = inferencer('0000_frame.png')
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None,
                 score: Union[dict, AnomalyScore, None] = None,
                 allow_partial: bool = False) -> None:
        from mmengine.dataset import Compose
        from mmseg.apis import init_model

        if isinstance(config, str):
            if not osp.isfile(config):
                raise FileNotFoundError(f'Config file {config!r} does not '
                                        'exist.')
            config = Config.fromfile(config)
        if cfg_options:
            config.merge_from_dict(cfg_options)
        if '://' not in checkpoint and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not '
                                    'exist.')
        self.score = build_anomaly_score(
            score if score is not None else config_score(config))
        self.model = init_model(config, None, device=device)
        fit = load_fitting_checkpoint(
            self.model, checkpoint, allow_partial,
            allow_hint='To use the tensors that fit anyway, pass '
            'allow_partial=True (mmseg-ood-anomaly-maps: '
            '--allow-partial-checkpoint).')
        dataset_meta = fit.pop('meta').get('dataset_meta')
        if dataset_meta:
            self.model.dataset_meta = dataset_meta
        self.checkpoint_fit = fit
        self.pipeline = Compose(inference_pipeline(config))

    @torch.no_grad()
    def logits(self, img_path: str) -> torch.Tensor:
        """Logits (C, H, W) of the image at its own resolution."""
        data = self.pipeline(dict(img_path=img_path))
        batch = dict(inputs=[data['inputs']],
                     data_samples=[data['data_samples']])
        sample = self.model.test_step(batch)[0]
        logits = sample.seg_logits.data
        height, width = sample.metainfo['ori_shape'][:2]
        if tuple(logits.shape[-2:]) != (height, width):
            raise RuntimeError(
                f'{img_path}: the model returned logits of '
                f'{tuple(logits.shape[-2:])}, not the image size '
                f'{(height, width)}.')
        return logits

    def __call__(self, img_path: str) -> Tuple[np.ndarray, np.ndarray]:
        """Anomaly scores (float32) and classes (uint8), both (H, W)."""
        logits = self.logits(img_path)
        check_prediction_channels(logits.shape[0], self.score.num_classes,
                                  source=f'{img_path}: the model')
        score = self.score(logits.unsqueeze(0))[0]
        classes = logits.argmax(dim=0)
        return (score.cpu().numpy().astype(np.float32, copy=False),
                classes.to(torch.uint8).cpu().numpy())
