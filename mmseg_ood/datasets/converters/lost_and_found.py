"""Lost & Found testNoKnown (the SegmentMeIfYouCan obstacle-track split).

Source: the Lost & Found release (Pinggera et al., IROS 2016; 6D-Vision /
DHBW Stuttgart), ``leftImg8bit.zip`` and ``gtCoarse.zip``::

    <lost_and_found>/leftImg8bit/test/<scene>/<id>_leftImg8bit.png
    <lost_and_found>/gtCoarse/test/<scene>/<id>_gtCoarse_labelIds.png

Frame selection and labels follow the SegmentMeIfYouCan benchmark code
(github.com/SegmentMeIfYouCan/road-anomaly-benchmark,
``road_anomaly_benchmark/datasets/tracks.py``, config
``LostAndFound-testNoKnown``):

1. all test frames, sorted by id (``source_frames`` of the set's entry in
   :data:`~mmseg_ood.datasets.set_specs.ANOMALY_SETS`);
2. drop the frames without any labelled pixel ("invalid frames are those
   where np.count_nonzero(labels_source) is 0"); the benchmark lists them by
   sorted position (``unlabelled_positions``);
3. drop the frames that show known classes (children, bicycles) by id
   prefix (``exclude``).

When the test split has exactly the official frames, step 2 uses the
benchmark's position list and checks it against the labels (a disagreement
is logged and recorded). Otherwise (a partial copy) step 2 applies the
definition, empty label maps, and says so.

Labels (label ids of ``gtCoarse``) are mapped by the set's ``labels``: 1
(free space, the road) -> 0, 2..200 (obstacles) -> 1, anything else -> 255,
as the benchmark's ``LAF_CLASSES`` (ignore 0, usual 1, anomaly range
[2, 200]) define them.
"""
import logging
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

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
from .fishyscapes import LAF_ID_RE

__all__ = ['LAF_NOKNOWN', 'select_no_known', 'convert_laf_test_no_known']

LAF_NOKNOWN = get_set_spec('laf_noknown')

LAF_TREE = """\
  <lost_and_found>/              Lost & Found (leftImg8bit.zip + gtCoarse.zip)
    leftImg8bit/test/<scene>/<id>_leftImg8bit.png
    gtCoarse/test/<scene>/<id>_gtCoarse_labelIds.png
                                 e.g. <scene> = 04_Maurener_Weg_8,
                                      <id> = 04_Maurener_Weg_8_000000_000030"""


def select_no_known(frame_ids: Sequence[str],
                    empty: Sequence[bool]) -> Tuple[List[str], Dict]:
    """Pick the testNoKnown frames from the Lost & Found test split.

    Args:
        frame_ids: Ids of all test frames.
        empty: For each id, whether its label map has no non-zero pixel.

    Returns:
        tuple: The selected ids (sorted) and a dict with the rule used
        (``'official positions'`` or ``'empty labels'``), the dropped ids
        per reason and any disagreement between the official positions and
        the labels.
    """
    if len(frame_ids) != len(empty):
        raise ValueError('frame_ids and empty must have the same length')
    order = sorted(range(len(frame_ids)), key=lambda i: frame_ids[i])
    ids = [frame_ids[i] for i in order]
    flags = [bool(empty[i]) for i in order]
    info: Dict = dict(disagreements=[])
    if len(ids) == LAF_NOKNOWN.source_frames:
        info['rule'] = 'official positions'
        drop = set(LAF_NOKNOWN.unlabelled_positions)
        by_label = {i for i, f in enumerate(flags) if f}
        info['disagreements'] = sorted(
            ids[i] for i in drop.symmetric_difference(by_label))
    else:
        info['rule'] = 'empty labels'
        drop = {i for i, f in enumerate(flags) if f}
    info['dropped_unlabelled'] = [ids[i] for i in sorted(drop)]
    kept = [fid for i, fid in enumerate(ids) if i not in drop]
    info['dropped_known_classes'] = [
        fid for fid in kept if fid.startswith(LAF_NOKNOWN.exclude)
    ]
    selected = [fid for fid in kept if not fid.startswith(LAF_NOKNOWN.exclude)]
    return selected, info


def _discover_test_frames(root: str) -> Tuple[str, Dict[str, str]]:
    """Image extension and {id: frame path} of the test split."""
    img_root = osp.join(root, 'leftImg8bit', 'test')
    if not osp.isdir(img_root):
        raise layout_error(f'No leftImg8bit/test/ folder in {root!r}.',
                           LAF_TREE)
    by_ext: Dict[str, Dict[str, str]] = {e: {} for e in IMAGE_SUFFIXES}
    for scene in sorted(os.listdir(img_root)):
        folder = osp.join(img_root, scene)
        if not osp.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            stem, ext = osp.splitext(name)
            ext = ext.lower()  # written (and recorded) in lower case
            if ext in by_ext and stem.endswith('_leftImg8bit'):
                fid = stem[:-len('_leftImg8bit')]
                if LAF_ID_RE.match(fid) is None:
                    raise layout_error(
                        f'{osp.join(folder, name)}: {fid!r} is not a Lost & '
                        'Found frame id.', LAF_TREE)
                by_ext[ext][fid] = osp.join(folder, name)
    for ext in IMAGE_SUFFIXES:  # the benchmark's order of preference
        if by_ext[ext]:
            return ext, by_ext[ext]
    raise layout_error(
        f'No *_leftImg8bit{{{",".join(IMAGE_SUFFIXES)}}} frame under '
        f'{img_root!r}.', LAF_TREE)


def convert_laf_test_no_known(lost_and_found: str,
                              out_dir: str,
                              overwrite: bool = False,
                              show_progress: bool = True) -> dict:
    """Build Lost & Found testNoKnown in the processed layout.

    Args:
        lost_and_found: Lost & Found root with ``leftImg8bit/test`` and
            ``gtCoarse/test``.
        out_dir: Output folder (``original/<id><ext>``, ``labels/<id>.png``,
            ``DATASET.json`` with the selection).
        overwrite: Replace an earlier converter output in ``out_dir``.
        show_progress: Show a progress bar.

    Returns:
        dict: The record written to ``DATASET.json``.

    Raises:
        DatasetLayoutError: On a wrong layout or a frame without label ids.
    """
    ext, frames = _discover_test_frames(lost_and_found)
    gt_root = osp.join(lost_and_found, 'gtCoarse', 'test')
    labels, missing = {}, []
    for fid in sorted(frames):
        scene = osp.basename(osp.dirname(frames[fid]))
        path = osp.join(gt_root, scene, f'{fid}_gtCoarse_labelIds.png')
        if not osp.isfile(path):
            missing.append(osp.relpath(path, lost_and_found))
        labels[fid] = path
    if missing:
        raise layout_error(
            f'{len(missing)} of {len(frames)} test frames have no label ids, '
            f'e.g. {missing[:3]}.', LAF_TREE)
    orphans = []
    if osp.isdir(gt_root):
        for scene in sorted(os.listdir(gt_root)):
            folder = osp.join(gt_root, scene)
            if not osp.isdir(folder):
                continue
            orphans += [
                osp.join('gtCoarse', 'test', scene, name)
                for name in sorted(os.listdir(folder))
                if name.endswith('_gtCoarse_labelIds.png')
                and name[:-len('_gtCoarse_labelIds.png')] not in frames
            ]
    if orphans:
        raise layout_error(
            f'{len(orphans)} label map(s) have no test frame, e.g. '
            f'{orphans[:3]}; the set would silently lose them. Restore the '
            'frames (leftImg8bit.zip) or remove the labels.', LAF_TREE)
    ids = sorted(frames)
    empty = []
    for fid in progress(ids, show_progress):
        empty.append(not np.any(read_label(labels[fid])))
    selected, info = select_no_known(ids, empty)
    if info['rule'] != 'official positions':
        print_log(
            f'Lost & Found test: {len(ids)} frames found, not the '
            f'{LAF_NOKNOWN.source_frames} of the release; dropping the '
            'frames without labels by their label maps instead of the '
            'official positions.',
            logger='current',
            level=logging.WARNING)
    elif info['disagreements']:
        print_log(
            'Lost & Found test: the official list of unlabelled frames and '
            f'the label maps disagree on {info["disagreements"]}; the '
            'official list was used.',
            logger='current',
            level=logging.WARNING)
    warn_partial(len(selected), LAF_NOKNOWN)
    with atomic_output_dir(out_dir, overwrite) as tmp:
        for fid in progress(selected, show_progress):
            label = read_label(labels[fid])
            if tuple(label.shape) != image_size(frames[fid]):
                raise ValueError(f'{labels[fid]} and {frames[fid]} differ in '
                                 'size.')
            copy_file(frames[fid], osp.join(tmp, 'original', fid + ext))
            write_label(osp.join(tmp, 'labels', fid + '.png'),
                        LAF_NOKNOWN.labels.apply(label, labels[fid]))
        record = dict(
            name=LAF_NOKNOWN.name,
            key=LAF_NOKNOWN.key,
            version=None,
            num_images=len(selected),
            img_suffix=ext,
            labels=LAF_NOKNOWN.label_text,
            mapping=LAF_NOKNOWN.labels.text,
            selection=dict(
                source='SegmentMeIfYouCan road-anomaly-benchmark, '
                'LostAndFound-testNoKnown',
                test_frames=len(ids),
                rule=info['rule'],
                dropped_unlabelled=info['dropped_unlabelled'],
                dropped_known_classes=info['dropped_known_classes'],
                excluded_prefixes=list(LAF_NOKNOWN.exclude),
                disagreements=info['disagreements']),
            sources=dict(lost_and_found=osp.abspath(lost_and_found)),
            converter=LAF_NOKNOWN.converter,
            images=selected)
        write_dataset_record(tmp, record)
    return record
