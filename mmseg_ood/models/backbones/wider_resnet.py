"""WiderResNet-38 A2: the trunk of NVIDIA's DeepLabV3+ that PEBAL and
Balanced Energy fine-tune ("DeepWV3Plus").

A pre-activation residual network (Wu, Shen, van den Hengel, "Wider or
Deeper", 2019, in the A2 variant of mapillary's inplace_abn code), dilated
to output stride 8. Module and buffer names follow the original so that
NVIDIA's ``cityscapes_best.pth`` and the PEBAL / Balanced Energy checkpoints
map one to one onto ``backbone.<name>`` (``mmseg-ood-pebal2mmseg``).

Structure (``[3, 3, 6, 3, 1, 1]`` blocks in ``mod2`` .. ``mod7``):

========  ===================  ======  ========  =======
stage     channels             stride  dilation  dropout
========  ===================  ======  ========  =======
mod1      64 (one 3x3 conv)    1       1         -
mod2      128, 128             2       1         -
mod3      256, 256             4       1         -
mod4      512, 512             8       1         -
mod5      512, 1024            8       2         -
mod6      512, 1024, 2048      8       4         0.3
mod7      1024, 2048, 4096     8       4         0.5
========  ===================  ======  ========  =======

``pool2`` and ``pool3`` (3x3 max pools, stride 2) come before ``mod2`` and
``mod3``; ``mod4.block1`` has stride 2.
"""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['WiderResNetA2', 'norm_relu']

#: Output channels of the convs of each stage mod2 .. mod7.
WRN38_CHANNELS = ((128, 128), (256, 256), (512, 512), (512, 1024),
                  (512, 1024, 2048), (1024, 2048, 4096))
#: Blocks per stage mod2 .. mod7 (WiderResNet-38).
WRN38_BLOCKS = (3, 3, 6, 3, 1, 1)
#: Stages in output order: index 0 is mod1, index 6 is mod7.
STAGE_NAMES = ('mod1', 'mod2', 'mod3', 'mod4', 'mod5', 'mod6', 'mod7')


def norm_relu(norm_cfg: dict, channels: int) -> nn.Sequential:
    """``Sequential(norm, ReLU)``: the original's ``bnrelu`` (keys
    ``<name>.0.weight`` ...)."""
    return nn.Sequential(
        build_norm_layer(norm_cfg, channels)[1], nn.ReLU(inplace=True))


class IdentityResidualBlock(nn.Module):
    """Pre-activation residual block of WiderResNet.

    ``bn1`` (norm, ReLU) is applied to the input; ``convs`` holds ``conv1``,
    ``bn2``, [``dropout``,] ``conv2`` for two 3x3 convs, or ``conv1`` (1x1),
    ``bn2``, ``conv2`` (3x3), ``bn3``, [``dropout``,] ``conv3`` (1x1) for a
    bottleneck. The shortcut is ``proj_conv(bn1(x))`` when the stride or the
    channel count changes, ``x`` otherwise. Convs have no bias.

    Args:
        in_channels (int): Input channels.
        channels (Sequence[int]): Output channels of the 2 or 3 convs.
        stride (int): Stride of ``conv1`` and ``proj_conv``.
        dilation (int): Dilation (and padding) of the 3x3 convs.
        dropout (float, optional): ``Dropout2d`` probability before the last
            conv; None for no dropout.
        norm_cfg (dict, optional): Norm layer config. Default BN.
    """

    def __init__(self, in_channels: int, channels: Sequence[int],
                 stride: int = 1, dilation: int = 1,
                 dropout: Optional[float] = None,
                 norm_cfg: Optional[dict] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        if len(channels) not in (2, 3):
            raise ValueError('channels must hold 2 (basic block) or 3 '
                             f'(bottleneck) numbers, got {channels!r}.')
        self.bn1 = norm_relu(norm_cfg, in_channels)
        convs = nn.Sequential()
        if len(channels) == 2:
            convs.add_module('conv1', nn.Conv2d(
                in_channels, channels[0], 3, stride=stride, padding=dilation,
                dilation=dilation, bias=False))
            convs.add_module('bn2', norm_relu(norm_cfg, channels[0]))
            if dropout is not None:
                convs.add_module('dropout', nn.Dropout2d(dropout))
            convs.add_module('conv2', nn.Conv2d(
                channels[0], channels[1], 3, padding=dilation,
                dilation=dilation, bias=False))
        else:
            convs.add_module('conv1', nn.Conv2d(
                in_channels, channels[0], 1, stride=stride, bias=False))
            convs.add_module('bn2', norm_relu(norm_cfg, channels[0]))
            convs.add_module('conv2', nn.Conv2d(
                channels[0], channels[1], 3, padding=dilation,
                dilation=dilation, bias=False))
            convs.add_module('bn3', norm_relu(norm_cfg, channels[1]))
            if dropout is not None:
                convs.add_module('dropout', nn.Dropout2d(dropout))
            convs.add_module('conv3', nn.Conv2d(
                channels[1], channels[2], 1, bias=False))
        self.convs = convs
        if stride != 1 or in_channels != channels[-1]:
            self.proj_conv = nn.Conv2d(
                in_channels, channels[-1], 1, stride=stride, bias=False)
        else:
            self.proj_conv = None

    def forward(self, x: Tensor) -> Tensor:
        activated = self.bn1(x)
        shortcut = x if self.proj_conv is None else self.proj_conv(activated)
        return self.convs(activated) + shortcut


@MODELS.register_module()
class WiderResNetA2(BaseModule):
    """WiderResNet-38 A2 trunk at output stride 8 (NVIDIA's DeepWV3Plus).

    The trunk's own final BN and classifier are not built: DeepLabV3+ reads
    the raw outputs of ``mod2`` (stride 2) and ``mod7`` (stride 8).

    Args:
        out_indices (Sequence[int]): Stages to return, 0 = ``mod1`` ..
            6 = ``mod7``. Default ``(1, 6)``: what
            :class:`~mmseg_ood.models.decode_heads.DeepWV3PlusHead` reads.
        dropout (Sequence[float]): ``Dropout2d`` probabilities of the
            bottleneck stages ``mod6`` and ``mod7``. Default (0.3, 0.5).
        norm_cfg (dict, optional): Norm layer config, default BN. NVIDIA
            trained with SyncBN, PEBAL fine-tunes on one GPU with BN; the
            keys are the same.
        init_cfg (dict | list, optional): MMEngine initialisation config.

    Example:
        >>> trunk = WiderResNetA2()
        >>> [f.shape[1] for f in trunk(torch.randn(1, 3, 64, 64))]
        [128, 4096]
    """

    def __init__(self,
                 out_indices: Sequence[int] = (1, 6),
                 dropout: Sequence[float] = (0.3, 0.5),
                 norm_cfg: Optional[dict] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        norm_cfg = norm_cfg or dict(type='BN')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(len(STAGE_NAMES))
                                  for i in out_indices):
            raise ValueError('out_indices must be a non-empty list of stage '
                             f'indices 0 (mod1) .. 6 (mod7), got '
                             f'{out_indices!r}.')
        if len(dropout) != 2:
            raise ValueError('dropout must hold the probabilities of mod6 '
                             f'and mod7, got {dropout!r}.')
        self.out_indices = out_indices
        self.mod1 = nn.Sequential()
        self.mod1.add_module('conv1', nn.Conv2d(3, 64, 3, padding=1,
                                                bias=False))
        in_channels = 64
        for stage, (num_blocks, channels) in enumerate(
                zip(WRN38_BLOCKS, WRN38_CHANNELS)):
            dilation = {3: 2, 4: 4, 5: 4}.get(stage, 1)
            drop = {4: dropout[0], 5: dropout[1]}.get(stage)
            blocks = nn.Sequential()
            for index in range(num_blocks):
                stride = 2 if stage == 2 and index == 0 else 1
                blocks.add_module(f'block{index + 1}', IdentityResidualBlock(
                    in_channels, channels, stride=stride, dilation=dilation,
                    dropout=drop, norm_cfg=norm_cfg))
                in_channels = channels[-1]
            if stage < 2:
                self.add_module(f'pool{stage + 2}',
                                nn.MaxPool2d(3, stride=2, padding=1))
            self.add_module(f'mod{stage + 2}', blocks)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for index, name in enumerate(STAGE_NAMES):
            if name in ('mod2', 'mod3'):
                x = getattr(self, f'pool{name[-1]}')(x)
            x = getattr(self, name)(x)
            if index in self.out_indices:
                outs.append(x)
            if index == max(self.out_indices):
                break
        return tuple(outs)
