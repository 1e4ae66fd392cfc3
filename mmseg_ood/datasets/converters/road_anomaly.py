"""Road Anomaly (Lis et al., ICCV 2019) from its public release.

The release (EPFL CVLab, "Road Anomaly" page; ``RoadAnomaly_jpg.zip`` with
JPEG frames, ``RoadAnomaly.zip`` with WebP frames) holds::

    RoadAnomaly_jpg/frame_list.json                  the frame file names
    RoadAnomaly_jpg/frames/<name>.jpg                60 frames
    RoadAnomaly_jpg/frames/<name>.labels/labels_semantic.png

``labels_semantic.png`` was drawn with the authors' LabelGrab tool, whose
classes are 1 road and 2 anomaly on 0 background; the authors' loader
(github.com/cvlab-epfl/detecting-the-unexpected, ``DatasetRoadAnomaly``,
``class_names = ['background', 'road', 'anomaly']``) takes
``labels >= 2`` as anomaly and evaluates the whole frame. Their road-obstacle
builder in the same code documents 255 as "ignore".

Conversion to the processed copy that PEBAL distributes (0/1):
0 and 1 -> 0 (inlier), 2 -> 1 (anomaly), 255 -> 255 (void, in case a frame
has it). Any other value is reported as an error instead of being guessed.
Frames keep their bytes and (lower-cased) extension; labels are
``labels/<name>.png``.
"""
import json
import os
import os.path as osp
from typing import List

import numpy as np

from mmseg_ood.utils.constants import IMAGE_SUFFIXES

from ..set_specs import get_set_spec
from .common import (
    atomic_output_dir,
    copy_file,
    image_size,
    layout_error,
    progress,
    read_label,
    warn_partial,
    write_dataset_record,
    write_label,
)

__all__ = ['ROAD_ANOMALY', 'convert_road_anomaly']

ROAD_ANOMALY = get_set_spec('road_anomaly')

RAW_TREE = """\
  <road_anomaly>/            RoadAnomaly_jpg (or RoadAnomaly) extracted
    frame_list.json          optional: the frame file names
    frames/<name>.jpg        (or .webp)
    frames/<name>.labels/labels_semantic.png
                             0 background, 1 road, 2 anomaly"""


def _frame_names(root: str) -> List[str]:
    frames_dir = osp.join(root, 'frames')
    if not osp.isdir(frames_dir):
        raise layout_error(f'No frames/ folder in {root!r}.', RAW_TREE)
    list_file = osp.join(root, 'frame_list.json')
    if osp.isfile(list_file):
        with open(list_file, encoding='utf-8') as f:
            names = json.load(f)
        if not isinstance(names, list) or not all(
                isinstance(n, str) for n in names):
            raise layout_error(f'{list_file} is not a JSON list of file '
                               'names.', RAW_TREE)
        missing = [n for n in names
                   if not osp.isfile(osp.join(frames_dir, n))]
        if missing:
            raise layout_error(
                f'{len(missing)} frames listed in {list_file} are missing '
                f'from {frames_dir!r}, e.g. {missing[:3]}.', RAW_TREE)
        return sorted(names)
    names = sorted(n for n in os.listdir(frames_dir)
                   if osp.splitext(n)[1].lower() in IMAGE_SUFFIXES
                   and osp.isfile(osp.join(frames_dir, n)))
    if not names:
        raise layout_error(
            f'No frame (*{", *".join(IMAGE_SUFFIXES)}) in {frames_dir!r}.',
            RAW_TREE)
    return names


def convert_road_anomaly(root: str,
                         out_dir: str,
                         overwrite: bool = False,
                         show_progress: bool = True) -> dict:
    """Build the processed Road Anomaly set (0/1 labels) from the release.

    Args:
        root: Extracted ``RoadAnomaly_jpg`` (or ``RoadAnomaly``) folder.
        out_dir: Output folder (``original/``, ``labels/``,
            ``DATASET.json``).
        overwrite: Replace an earlier converter output in ``out_dir``.
        show_progress: Show a progress bar.

    Returns:
        dict: The record written to ``DATASET.json``.

    Raises:
        DatasetLayoutError: On a wrong layout or a frame without labels.
        LabelValueError: On a raw label value outside 0, 1, 2, 255.
    """
    names = _frame_names(root)
    # output frames get the lower-case extension (recorded as img_suffix)
    exts = sorted({osp.splitext(n)[1].lower() for n in names})
    if len(exts) != 1:
        raise layout_error(
            f'{root!r} mixes frame formats {exts}; keep one release.',
            RAW_TREE)
    frames_dir = osp.join(root, 'frames')
    jobs, missing = [], []
    for name in names:
        stem = osp.splitext(name)[0]
        label = osp.join(frames_dir, stem + '.labels', 'labels_semantic.png')
        if not osp.isfile(label):
            missing.append(osp.relpath(label, root))
        jobs.append((stem, osp.join(frames_dir, name), label))
    if missing:
        raise layout_error(
            f'{len(missing)} of {len(jobs)} frames in {frames_dir!r} have no '
            f'label, e.g. {missing[:3]}.', RAW_TREE)
    framed = {stem for stem, _, _ in jobs}
    orphans = sorted(
        name for name in os.listdir(frames_dir)
        if name.endswith('.labels') and name[:-len('.labels')] not in framed)
    if orphans:
        raise layout_error(
            f'{len(orphans)} label folder(s) in {frames_dir!r} have no frame '
            f'(or are not in frame_list.json), e.g. {orphans[:3]}; the set '
            'would silently lose them. Restore their frames or remove them.',
            RAW_TREE)
    warn_partial(len(jobs), ROAD_ANOMALY)
    seen = set()
    stems = []
    with atomic_output_dir(out_dir, overwrite) as tmp:
        for stem, frame, label_path in progress(jobs, show_progress):
            raw = read_label(label_path)
            label = ROAD_ANOMALY.labels.apply(raw, label_path)
            if tuple(raw.shape) != image_size(frame):
                raise ValueError(
                    f'{label_path} is {raw.shape[0]}x{raw.shape[1]} but '
                    f'{frame} is {image_size(frame)} (HxW).')
            seen |= set(np.unique(raw).tolist())
            copy_file(frame, osp.join(tmp, 'original', stem + exts[0]))
            write_label(osp.join(tmp, 'labels', stem + '.png'), label)
            stems.append(stem)
        record = dict(
            name=ROAD_ANOMALY.name,
            key=ROAD_ANOMALY.key,
            version=None,
            num_images=len(stems),
            img_suffix=exts[0],
            labels=ROAD_ANOMALY.label_text,
            mapping=ROAD_ANOMALY.labels.text,
            raw_values_seen=sorted(int(v) for v in seen),
            sources=dict(road_anomaly=osp.abspath(root)),
            converter=ROAD_ANOMALY.converter,
            images=stems)
        write_dataset_record(tmp, record)
    return record
