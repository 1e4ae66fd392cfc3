"""Label values, class names and published priors shared by the whole package.

Every other module imports these names; none repeats the numbers.
"""

__all__ = [
    'ANOMALY_EVAL_ANOMALY', 'ANOMALY_EVAL_INLIER', 'CITYSCAPES_CLASSES',
    'CITYSCAPES_LABEL_IDS', 'COCO_EXCLUDED_CATEGORIES', 'COCO_MIN_IMAGE_SIZE',
    'IGNORE_INDEX', 'IMAGE_SUFFIXES', 'OUTLIER_INDEX',
    'PAPER_CITYSCAPES_PRIOR'
]

#: Label of pasted auxiliary-outlier pixels in training label maps.
OUTLIER_INDEX = 254
#: Label of void pixels in every label map (training and evaluation).
IGNORE_INDEX = 255

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
