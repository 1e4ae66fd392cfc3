"""Cross-entropy on inlier pixels only: pasted outliers count as void."""
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.constants import OUTLIER_INDEX, check_label_roles

__all__ = [
    'InlierCrossEntropyLoss'
]


@MODELS.register_module()
class InlierCrossEntropyLoss(CrossEntropyLoss):
    """MMSeg's ``CrossEntropyLoss`` that treats the outlier label as ignored.

    Every loss of a decode head (and of the auxiliary head) receives the same
    label map, outlier pixels (254) included. A plain 19-class cross-entropy
    cannot take label 254; this one maps it to the head's ``ignore_index``
    first. All other arguments are those of MMSeg's ``CrossEntropyLoss``.

    Args:
        outlier_index (int): Label of pasted outliers. Default 254.
        **kwargs: Arguments of ``mmseg.models.losses.CrossEntropyLoss``.

    Example:
        >>> loss_decode = [
        ...     dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
        ...     dict(type='BalancedEnergyLoss', prior='cityscapes_paper')]
    """

    def __init__(self, outlier_index: int = OUTLIER_INDEX, **kwargs) -> None:
        super().__init__(**kwargs)
        check_label_roles(outlier_index, None, None,
                          where='InlierCrossEntropyLoss')
        self.outlier_index = outlier_index

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight=None,
                avg_factor=None,
                reduction_override=None,
                ignore_index: int = -100,
                **kwargs) -> Tensor:
        """Cross-entropy with ``outlier_index`` mapped to ``ignore_index``.

        The outlier label, the head's ``ignore_index`` and the classes of
        ``cls_score`` must not overlap
        (:func:`~mmseg_ood.utils.constants.check_label_roles`).
        """
        check_label_roles(
            self.outlier_index, ignore_index,
            None if self.use_sigmoid or cls_score.dim() < 2 else
            cls_score.shape[1], where='InlierCrossEntropyLoss')
        label = label.masked_fill(label == self.outlier_index, ignore_index)
        return super().forward(
            cls_score,
            label,
            weight=weight,
            avg_factor=avg_factor,
            reduction_override=reduction_override,
            ignore_index=ignore_index,
            **kwargs)
