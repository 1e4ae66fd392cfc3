"""The DeepLabV3+ decoder of NVIDIA's DeepWV3Plus (PEBAL, Balanced Energy).

Module names follow the original (``aspp``, ``bot_aspp``, ``bot_fine``,
``final``) so that the released checkpoints map one to one onto
``decode_head.<name>``. The classifier is ``final.6`` (a bias-free 1x1
conv), not MMSeg's ``conv_seg``.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from torch import Tensor

from ..backbones.wider_resnet import norm_relu

__all__ = ['DeepWV3PlusHead', 'WideASPP']


class WideASPP(nn.Module):
    """Atrous spatial pyramid pooling of DeepWV3Plus.

    ``img_pooling`` + ``img_conv`` (global average, 1x1 conv, norm, ReLU),
    ``features.0`` (1x1) and ``features.1..`` (3x3 at ``dilations``), each
    conv without bias followed by norm and ReLU; outputs concatenated in the
    order [image, 1x1, rates...]. No projection, no dropout.

    Args:
        in_channels (int): Input channels.
        channels (int): Channels of each branch.
        dilations (Sequence[int]): Rates of the 3x3 branches.
        norm_cfg (dict): Norm layer config.
        align_corners (bool): Of the image-pooling upsampling.
    """

    def __init__(self, in_channels: int, channels: int,
                 dilations: Sequence[int], norm_cfg: dict,
                 align_corners: bool) -> None:
        super().__init__()
        self.align_corners = align_corners
        self.img_pooling = nn.AdaptiveAvgPool2d(1)
        self.img_conv = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1, bias=False),
            *norm_relu(norm_cfg, channels))
        branches = [
            nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, bias=False),
                *norm_relu(norm_cfg, channels))
        ]
        for rate in dilations:
            branches.append(nn.Sequential(
                nn.Conv2d(in_channels, channels, 3, padding=rate,
                          dilation=rate, bias=False),
                *norm_relu(norm_cfg, channels)))
        self.features = nn.ModuleList(branches)

    def forward(self, x: Tensor) -> Tensor:
        pooled = resize(self.img_conv(self.img_pooling(x)), size=x.shape[2:],
                        mode='bilinear', align_corners=self.align_corners)
        return torch.cat([pooled] + [branch(x) for branch in self.features],
                         dim=1)


@MODELS.register_module()
class DeepWV3PlusHead(BaseDecodeHead):
    """DeepLabV3+ head of DeepWV3Plus (NVIDIA; PEBAL; Balanced Energy).

    ASPP on the deep feature (``aspp`` -> ``bot_aspp``, a 1x1 conv without
    norm), upsampled to the fine feature's size and concatenated after
    ``bot_fine(fine)`` (1x1 conv without norm); ``final`` is 3x3 conv, norm,
    ReLU, 3x3 conv, norm, ReLU, and the 1x1 classifier ``final.6``. Every
    resize is bilinear with ``align_corners`` (True in the original).

    For PEBAL's abstention model set ``num_classes=20`` (19 classes plus the
    reservation channel, a widened ``final.6``) and build the segmentor as
    ``AbstentionEncoderDecoder(num_inlier_classes=19)``.

    Args:
        in_channels (Sequence[int]): Channels of the (fine, deep) features.
            Default (128, 4096): ``mod2`` and ``mod7`` of
            :class:`~mmseg_ood.models.backbones.WiderResNetA2`.
        channels (int): Channels of the ASPP branches and ``final``.
        fine_channels (int): Output channels of ``bot_fine``. Default 48.
        dilations (Sequence[int]): ASPP rates. Default (12, 24, 36): the
            original's (6, 12, 18) doubled for output stride 8.
        in_index (Sequence[int]): Indices of (fine, deep) in the backbone
            outputs. Default (0, 1).
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``norm_cfg``, ``align_corners``, ``loss_decode`` ...).
            ``dropout_ratio`` must stay 0: the original has no dropout
            before the classifier.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 4096),
                 channels: int = 256,
                 fine_channels: int = 48,
                 dilations: Sequence[int] = (12, 24, 36),
                 in_index: Sequence[int] = (0, 1),
                 dropout_ratio: float = 0.0,
                 norm_cfg: Optional[dict] = None,
                 align_corners: bool = True,
                 init_cfg=None,
                 **kwargs) -> None:
        norm_cfg = norm_cfg or dict(type='BN')
        if dropout_ratio:
            raise ValueError('DeepWV3PlusHead has no dropout before its '
                             f'classifier; got dropout_ratio={dropout_ratio}.'
                             ' Remove it from the head config.')
        if len(in_channels) != 2 or len(in_index) != 2:
            raise ValueError('DeepWV3PlusHead reads two features (fine, '
                             f'deep); got in_channels={in_channels!r}, '
                             f'in_index={in_index!r}.')
        super().__init__(
            list(in_channels),
            channels,
            in_index=list(in_index),
            input_transform='multiple_select',
            dropout_ratio=0.0,
            norm_cfg=norm_cfg,
            align_corners=align_corners,
            init_cfg=init_cfg,
            **kwargs)
        # the classifier is final.6 (no bias), not BaseDecodeHead's conv_seg
        del self.conv_seg
        fine_in, deep_in = in_channels
        self.aspp = WideASPP(deep_in, channels, dilations, norm_cfg,
                             align_corners)
        self.bot_aspp = nn.Conv2d(channels * (len(dilations) + 2), channels,
                                  1, bias=False)
        self.bot_fine = nn.Conv2d(fine_in, fine_channels, 1, bias=False)
        self.final = nn.Sequential(
            nn.Conv2d(fine_channels + channels, channels, 3, padding=1,
                      bias=False),
            *norm_relu(norm_cfg, channels),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            *norm_relu(norm_cfg, channels),
            nn.Conv2d(channels, self.out_channels, 1, bias=False))

    def forward(self, inputs: List[Tensor]) -> Tensor:
        fine, deep = self._transform_inputs(inputs)
        deep = self.bot_aspp(self.aspp(deep))
        deep = resize(deep, size=fine.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        return self.final(torch.cat([self.bot_fine(fine), deep], dim=1))
