"""An EncoderDecoder whose head has channels beyond its inlier classes.

PEBAL's model has 20 output channels: the 19 Cityscapes classes and an
abstention ("reservation") channel. The extra channels take part in
training (every loss of the head sees all of them) but never in a
prediction: :class:`AbstentionEncoderDecoder` hands only the first
``num_inlier_classes`` channels to MMSeg's post-processing, so the class
argmax (``pred_sem_seg``, mIoU, submission maps), the stored ``seg_logits``
and every anomaly score computed from them see the inlier classes only,
in whole and slide inference alike.

It also offers the paper's partial fine-tuning: ``trainable`` names the
parameters that learn (``requires_grad`` is switched off elsewhere) and
``freeze_bn`` says whether the norm layers of the frozen part keep updating
their running statistics in train mode (the original, ``False``) or stay in
eval mode.
"""
from typing import Optional, Sequence

import torch.nn as nn
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['AbstentionEncoderDecoder']

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
                nn.SyncBatchNorm)


def _under(name: str, prefix: str) -> bool:
    """Whether the dotted ``name`` is ``prefix`` or inside it."""
    return name == prefix or name.startswith(prefix + '.')


@MODELS.register_module()
class AbstentionEncoderDecoder(EncoderDecoder):
    """EncoderDecoder with extra (abstention) channels after the classes.

    Args:
        num_inlier_classes (int): Number of inlier classes K: the first K
            channels of the decode head. Must be smaller than the head's
            ``num_classes`` (which counts every output channel).
        trainable (Sequence[str], optional): Prefixes of the parameter names
            that train, e.g. ``['decode_head.final']`` (the paper); every
            other parameter gets ``requires_grad=False``. None: all train.
        freeze_bn (bool): With ``trainable``: put the norm layers outside
            ``trainable`` in eval mode during training, so their running
            statistics stay fixed. Default False, as PEBAL: the frozen part
            stays in train mode, its norm layers normalise with batch
            statistics and keep updating their running statistics, and its
            dropout stays active.
        **kwargs: The arguments of MMSeg's ``EncoderDecoder``.

    Example:
        >>> model = dict(type='AbstentionEncoderDecoder',
        ...              num_inlier_classes=19,
        ...              trainable=['decode_head.final'],
        ...              backbone=dict(type='WiderResNetA2'),
        ...              decode_head=dict(type='DeepWV3PlusHead',
        ...                               num_classes=20))
    """

    def __init__(self,
                 num_inlier_classes: int,
                 trainable: Optional[Sequence[str]] = None,
                 freeze_bn: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        channels = self.decode_head.out_channels
        if (not isinstance(num_inlier_classes, int)
                or isinstance(num_inlier_classes, bool)
                or not 1 <= num_inlier_classes < channels):
            raise ValueError(
                f'num_inlier_classes must be an int in [1, {channels}) (the '
                f'decode head has {channels} output channels, the extra '
                f'ones are not classes); got {num_inlier_classes!r}. For a '
                'head without extra channels use EncoderDecoder.')
        if freeze_bn and trainable is None:
            raise ValueError('freeze_bn=True freezes the norm layers outside '
                             '`trainable`; set trainable (e.g. '
                             "['decode_head.final']) or drop freeze_bn.")
        self.num_inlier_classes = num_inlier_classes
        self.trainable = None if trainable is None else tuple(trainable)
        self.freeze_bn = freeze_bn
        if self.trainable is not None:
            self._freeze()

    def _is_trainable(self, name: str) -> bool:
        return any(_under(name, prefix) for prefix in self.trainable)

    def _freeze(self) -> None:
        """``requires_grad=False`` outside ``trainable``; check the
        prefixes."""
        names = [name for name, _ in self.named_parameters()]
        unknown = [p for p in self.trainable
                   if not any(_under(n, p) for n in names)]
        if unknown:
            raise ValueError(
                f'trainable={list(self.trainable)}: {unknown} match no '
                'parameter of the model. Use module-name prefixes such as '
                "'decode_head.final'; the model's top-level modules are "
                f'{sorted({n.split(".")[0] for n in names})}.')
        for name, param in self.named_parameters():
            param.requires_grad_(self._is_trainable(name))

    def train(self, mode: bool = True) -> 'AbstentionEncoderDecoder':
        super().train(mode)
        if mode and self.freeze_bn:
            for name, module in self.named_modules():
                if (isinstance(module, _BATCH_NORMS)
                        and not self._is_trainable(name)):
                    module.eval()
        return self

    def postprocess_result(self, seg_logits: Tensor, data_samples=None):
        """MMSeg's post-processing on the inlier channels only."""
        return super().postprocess_result(
            seg_logits[:, :self.num_inlier_classes], data_samples)
