"""A tiny COCO dataset in the real on-disk layout, for the bank tests.

``write_fake_coco`` writes it; its images were chosen so that every
selection rule fires once and the expected bank can be worked out by hand:

====  =========  ==========================================  ===============
id    w x h      annotations                                 outcome
====  =========  ==========================================  ===============
1     640x480    dog polygon, chair polygon                  kept
2     500x520    dog polygon, person *crowd* RLE             excluded
3     480x640    car polygon                                 excluded
4     640x479    dog polygon                                 too small
5     480x480    none                                        no objects
6     520x500    dog crowd RLE (uncompressed), chair polygon kept
7     480x500    dog compressed RLE, a known rectangle       kept
8     480x480    dog with an empty segmentation              no objects
9     300x300    person polygon (also too small)             excluded
====  =========  ==========================================  ===============
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

# Standard COCO category ids of the names the fixture uses.
CATEGORY_IDS = {'person': 1, 'car': 3, 'dog': 18, 'chair': 62}
KEPT = ['000000000001.jpg', '000000000006.jpg', '000000000007.jpg']
# Rectangle (x0, y0, x1, y1) drawn as the compressed RLE of image 7.
RECT_7 = (300, 200, 350, 260)


def rect_polygon(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def uncompressed_rle(mask):
    """COCO crowd-style RLE (``counts`` a list) of a binary mask."""
    flat = mask.flatten(order='F').astype(np.uint8)
    counts, current, run = [], 0, 0
    for value in flat:
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    return {'size': list(mask.shape), 'counts': counts}


def box_mask(h, w, x0, y0, x1, y1):
    mask = np.zeros((h, w), dtype=np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def write_fake_coco(root, split='train2017'):
    """Write the fixture dataset in the COCO 2017 layout under ``root``."""
    sizes = {1: (640, 480), 2: (500, 520), 3: (480, 640), 4: (640, 479),
             5: (480, 480), 6: (520, 500), 7: (480, 500), 8: (480, 480),
             9: (300, 300)}
    rect7 = mask_utils.encode(
        np.asfortranarray(box_mask(500, 480, *RECT_7)))
    rect7['counts'] = rect7['counts'].decode('ascii')
    anns = [
        (1, 'dog', rect_polygon(100, 50, 200, 150), 0),
        (1, 'chair', [[300, 300, 400, 300, 350, 420]], 0),
        (2, 'dog', rect_polygon(10, 10, 100, 100), 0),
        (2, 'person', uncompressed_rle(box_mask(520, 500, 200, 200, 260,
                                                  300)), 1),
        (3, 'car', rect_polygon(50, 50, 150, 150), 0),
        (4, 'dog', rect_polygon(50, 50, 150, 150), 0),
        (6, 'dog', uncompressed_rle(box_mask(500, 520, 20, 30, 90, 120)),
         1),
        (6, 'chair', rect_polygon(400, 380, 480, 470), 0),
        (7, 'dog', rect7, 0),
        (8, 'dog', [], 0),
        (9, 'person', rect_polygon(10, 10, 50, 50), 0),
    ]
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, split))
    os.makedirs(osp.join(root, 'annotations'))
    images = []
    for img_id in sorted(sizes, reverse=True):  # json order != name order
        w, h = sizes[img_id]
        name = f'{img_id:012d}.jpg'
        small = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), np.uint8)
        cv2.imwrite(osp.join(root, split, name),
                    cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))
        images.append({'id': img_id, 'file_name': name, 'width': w,
                       'height': h})
    annotations = []
    for ann_id, (img_id, cat, seg, crowd) in enumerate(anns, start=1):
        annotations.append({'id': ann_id, 'image_id': img_id,
                            'category_id': CATEGORY_IDS[cat],
                            'segmentation': seg, 'iscrowd': crowd,
                            'area': 1.0, 'bbox': [0, 0, 1, 1]})
    categories = [{'id': cid, 'name': name, 'supercategory': 'x'}
                  for name, cid in CATEGORY_IDS.items()]
    with open(osp.join(root, 'annotations', f'instances_{split}.json'),
              'w') as f:
        json.dump({'images': images, 'annotations': annotations,
                   'categories': categories}, f)
    return root


def read_json(path):
    with open(path) as f:
        return json.load(f)


def reference_union(coco_root, file_name):
    """OR of pycocotools ``annToMask`` over all annotations of an image."""
    coco = COCO(osp.join(coco_root, 'annotations',
                         'instances_train2017.json'))
    img = next(i for i in coco.dataset['images']
               if i['file_name'] == file_name)
    union = np.zeros((img['height'], img['width']), dtype=bool)
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=[img['id']])):
        union |= coco.annToMask(ann).astype(bool)
    return union


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def folder_bytes(folder):
    return {name: read_bytes(osp.join(folder, name))
            for name in sorted(os.listdir(folder))}
