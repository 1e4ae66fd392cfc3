"""Label values, class names and published priors shared by the whole package.

Every other module imports these names; none repeats the numbers. The one
check of how the label values fit together, :func:`check_label_roles`, lives
here too: the losses, the pasting transform and the run checks call it.
"""
import numbers
from typing import Optional

__all__ = [
    'ANOMALY_EVAL_ANOMALY', 'ANOMALY_EVAL_INLIER', 'CITYSCAPES_CLASSES',
    'CITYSCAPES_LABEL_IDS', 'COCO_EXCLUDED_CATEGORIES', 'COCO_MIN_IMAGE_SIZE',
    'IGNORE_INDEX', 'IMAGE_SUFFIXES', 'LABEL_MAP_MAX', 'OUTLIER_INDEX',
    'PAPER_CITYSCAPES_PRIOR', 'LabelRoleError', 'check_label_roles'
]

#: Label of pasted auxiliary-outlier pixels in training label maps.
OUTLIER_INDEX = 254
#: Label of void pixels in every label map (training and evaluation).
IGNORE_INDEX = 255
#: Largest value of a label map: MMSeg loads label maps as uint8.
LABEL_MAP_MAX = 255

#: Label values of the anomaly evaluation sets (Fishyscapes, Road Anomaly,
#: SegmentMeIfYouCan after conversion): 0 inlier, 1 anomaly, 255 void.
ANOMALY_EVAL_INLIER = 0
ANOMALY_EVAL_ANOMALY = 1

#: The 19 Cityscapes train-ID classes, in train-ID order.
CITYSCAPES_CLASSES = (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
    'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
    'truck', 'bus', 'train', 'motorcycle', 'bicycle')

#: Cityscapes label id of each train-ID class (same order as above).
CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26,
                        27, 28, 31, 32, 33)

#: COCO category names whose images are dropped from the outlier bank because
#: they show Cityscapes classes (Meta-OoD recipe; looked up by name).
COCO_EXCLUDED_CATEGORIES = ('person', 'bicycle', 'car', 'motorcycle', 'bus',
                            'truck', 'traffic light', 'stop sign')

#: Minimum height and width of a COCO image kept in the outlier bank.
COCO_MIN_IMAGE_SIZE = 480

#: Class prior of pasted COCO pixels over the Cityscapes train IDs used by
#: Choi et al. (CVPR 2023), estimated with their pretrained segmenter.
PAPER_CITYSCAPES_PRIOR = (
    0.152509041, 0.013298, 0.106703, 0.040058, 0.033866, 0.005256, 0.001065,
    0.027989, 0.080249, 0.097971, 0.002175, 0.153123, 0.029222, 0.087057,
    0.119925, 0.016023, 0.007071, 0.017048, 0.009393)

#: Image file suffixes (lower case) that the package reads: the converters'
#: frames, the image folders of the submission tool. The converters prefer
#: them in this order when a release holds a frame in several formats (the
#: SegmentMeIfYouCan benchmark's order: PNG, then WebP, then JPEG).
IMAGE_SUFFIXES = ('.png', '.webp', '.jpg', '.jpeg', '.bmp')


class LabelRoleError(ValueError):
    """The outlier label, the ignore label and the inlier classes overlap."""


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_label_roles(outlier_index: Optional[int] = OUTLIER_INDEX,
                      ignore_index: Optional[int] = IGNORE_INDEX,
                      num_classes: Optional[int] = None,
                      where: str = 'the config',
                      classes: str = 'inlier classes') -> None:
    """Check that the outlier label, the ignore label and the inlier
    classes ``0..num_classes-1`` are three different sets of label values.

    Every label map carries all three; if two overlap, the pixels of one
    role are silently trained as the other (``outlier_index=255`` makes
    every void pixel an outlier; an outlier label below ``num_classes``
    trains outliers as an inlier class). The losses, ``PasteCocoObjects``
    and the run checks of ``mmseg-ood-train`` call this one check wherever
    the values are configured. An argument that is None is not known at
    the caller and is left out.

    Args:
        outlier_index (int, optional): Label of pasted outlier pixels.
        ignore_index (int, optional): Label of void pixels.
        num_classes (int, optional): Number of inlier classes K.
        where (str): What holds the values (a config key, a class), for
            the message.
        classes (str): What the labels ``0..num_classes-1`` are, for the
            message (the evaluation labels' are 'evaluation classes').

    Raises:
        LabelRoleError: Two roles share a value, or the outlier label does
            not fit a uint8 label map; the message names the values and
            the fix.

    Example:
        >>> check_label_roles(254, 255, 19, 'BalancedEnergyLoss')
    """
    defaults = (f'the defaults are outlier_index={OUTLIER_INDEX}, '
                f'ignore_index={IGNORE_INDEX}')
    for name, value in (('outlier_index', outlier_index),
                        ('ignore_index', ignore_index),
                        ('num_classes', num_classes)):
        if value is not None and not _is_int(value):
            raise LabelRoleError(
                f'{where}: {name} must be an int, got {value!r}.')
    if outlier_index is not None and not \
            0 <= outlier_index <= LABEL_MAP_MAX:
        raise LabelRoleError(
            f'{where}: outlier_index={outlier_index} does not fit a label '
            f'map (MMSeg loads label maps as uint8, 0..{LABEL_MAP_MAX}); '
            f'use {OUTLIER_INDEX}.')
    if outlier_index is not None and outlier_index == ignore_index:
        raise LabelRoleError(
            f'{where}: outlier_index={outlier_index} is also the ignore '
            'label, so every void pixel would be trained as an outlier (or '
            f'every outlier ignored). Give them different values; '
            f'{defaults}.')
    if num_classes is None:
        return
    if num_classes < 1:
        raise LabelRoleError(
            f'{where}: num_classes must be >= 1, got {num_classes}.')
    if outlier_index is not None and outlier_index < num_classes:
        raise LabelRoleError(
            f'{where}: outlier_index={outlier_index} is one of the '
            f'{num_classes} {classes} (0..{num_classes - 1}), so '
            'outlier pixels would be trained as that class. Use a label '
            f'above the classes; {defaults}.')
    if ignore_index is not None and 0 <= ignore_index < num_classes:
        raise LabelRoleError(
            f'{where}: ignore_index={ignore_index} is one of the '
            f'{num_classes} {classes} (0..{num_classes - 1}), so the '
            'pixels of that class would be ignored. '
            f'{defaults[0].upper()}'
            f'{defaults[1:]}.')
