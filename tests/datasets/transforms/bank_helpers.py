"""Hand-made COCO outlier banks with known objects, for transform tests."""
import json
import os
import os.path as osp
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from mmseg_ood.datasets.transforms.coco_ood_bank import (
    BANK_FORMAT,
    BANK_VERSION,
)

ANN_FILE = 'annotations/ood_seg_train2017.json'


def write_bank(root: str, objects: Sequence[Tuple[str, np.ndarray,
                                                  np.ndarray]]) -> str:
    """Write a bank holding ``objects`` and return its COCO root.

    Args:
        root (str): Folder to create the bank in.
        objects: ``(name, image, mask)`` triples; ``image`` is an uint8
            (H, W, 3) array, ``mask`` a bool (H, W) array. Images are stored
            as PNG so that pixel values survive exactly.

    Returns:
        str: ``root``, to pass as ``data_root``.
    """
    img_dir = osp.join(root, 'train2017')
    mask_dir = osp.join(root, 'annotations', 'ood_seg_train2017')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(mask_dir, exist_ok=True)
    entries = []
    for name, image, mask in objects:
        cv2.imwrite(osp.join(img_dir, name + '.png'), image)
        cv2.imwrite(
            osp.join(mask_dir, name + '.png'), mask.astype(np.uint8) * 254)
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        entries.append(
            dict(img=name + '.png', mask=name + '.png',
                 bbox=[int(cols[0]), int(rows[0]), int(cols[-1]) + 1,
                       int(rows[-1]) + 1],
                 categories=['kite']))
    index = dict(format=BANK_FORMAT, version=BANK_VERSION,
                 img_dir='train2017', mask_dir='annotations/ood_seg_train2017',
                 entries=entries)
    with open(osp.join(root, ANN_FILE), 'w', encoding='utf-8') as f:
        json.dump(index, f)
    return root


def solid_object(height: int, width: int, value: int,
                 pad: int = 3) -> Tuple[np.ndarray, np.ndarray]:
    """A filled ``height`` x ``width`` rectangle of colour ``value``.

    The rectangle sits ``pad`` pixels inside a black image, so the bank
    cuts exactly the rectangle.
    """
    image = np.zeros((height + 2 * pad, width + 2 * pad, 3), np.uint8)
    mask = np.zeros(image.shape[:2], bool)
    mask[pad:pad + height, pad:pad + width] = True
    image[mask] = value
    return image, mask


def frame(height: int, width: int, label: int = 2,
          value: int = 0) -> Dict[str, object]:
    """A results dict with a constant image and a constant label map."""
    seg = np.full((height, width), label, np.uint8)
    return dict(img=np.full((height, width, 3), value, np.uint8),
                gt_seg_map=seg, aux_map=seg.copy(),
                seg_fields=['gt_seg_map', 'aux_map'])
