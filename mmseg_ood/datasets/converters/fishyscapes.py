"""Fishyscapes validation sets from their public releases (no TensorFlow).

What the public releases hold (read from the Fishyscapes authors' TFDS
builder ``bdlb/fishyscapes/fishyscapes_tfds.py`` in
github.com/hermannsblum/bdl-benchmark, and its evaluation in
``bdlb/fishyscapes/benchmark.py``):

**FS Lost & Found val** (``fishyscapes_lostandfound.zip`` from the ASL
dataset server of ETH Zurich, linked on fishyscapes.com): 100 label maps
named ``NNNN_<Lost & Found id>_labels.png``, e.g.
``0000_04_Maurener_Weg_8_000000_000030_labels.png``; the builder splits the
name with ``([0-9]+)_(.+)_labels.png`` into the Fishyscapes id ``0000`` and
the Lost & Found id ``04_Maurener_Weg_8_000000_000030``. The RGB frame is
Lost & Found's ``leftImg8bit/{train,test}/<scene>/<id>_leftImg8bit.png``
(the scene folder is the id without its last two ``_<6 digits>`` groups).
Labels: 0 inlier (road), 1 anomaly, 255 void (the evaluation takes
``label == 1`` as positive and ignores ``label > 1``).

**FS Static val** (``fs_val_v1.zip``, ``fs_val_v2.zip``, ``fs_val_v3.zip``,
the builder's versions 1.0.0 / 2.0.0 / 3.0.0: "first version", "improved
blending", "added cityscapes objects as negative test"): for every frame an
``NNNN_<Cityscapes id>_labels.png`` (0/1/255 as above) and an overlay
``NNNN_..._rgb.npz`` (the builder takes the file that starts with ``NNNN``
and ends with ``rgb.npz``) whose array ``'rgb'`` is added to the Cityscapes
frame ``leftImg8bit/<split>/<city>/<Cityscapes id>_leftImg8bit.png``::

    image = clip(int(cityscapes_rgb) + int(npz['rgb']), 0, 255) as uint8

(the builder casts both with ``astype(int)``; FS Static uses Cityscapes val
frames, and this converter looks for them under ``leftImg8bit/val``).

Known uncertainties, stated rather than guessed away:

- The npz dtype and value range are not documented; the blend above is
  applied to whatever integer or float array ``'rgb'`` holds (floats are
  truncated toward zero, as ``astype(int)`` does).
- PyTorch-OOD (``src/pytorch_ood/dataset/img/fishyscapes.py``) derives the
  Static mask differently: anomaly where the overlay is non-zero, void where
  the label PNG is non-zero elsewhere. This converter uses the label PNG as
  the mask, as the authors' builder does; the two agree when the label is
  1 exactly where the overlay is non-zero.
- PyTorch-OOD publishes MD5 sums of the three Static archives (below); they
  are used only to catch an archive passed with the wrong ``version``.

Output names: the label's base name without ``_labels``
(``NNNN_<source id>``), which keeps both ids. ``DATASET.json`` records the
set, the Static version and the sources, so results can report them.
"""
import io
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..set_specs import get_set_spec
from .common import (
    ArchiveSource,
    atomic_output_dir,
    copy_file,
    image_size,
    layout_error,
    md5_of,
    progress,
    read_label,
    read_rgb,
    warn_partial,
    write_dataset_record,
    write_label,
    write_rgb,
)

__all__ = [
    'FS_LAF_LABEL_RE', 'FS_STATIC_VERSIONS', 'parse_fs_label_name',
    'laf_scene_of', 'find_laf_frame', 'blend_static_overlay',
    'convert_fs_lost_and_found', 'convert_fs_static'
]

#: Base name of a Fishyscapes label file: ``NNNN_<source id>_labels.png``.
FS_LAF_LABEL_RE = re.compile(r'^([0-9]+)_(.+)_labels\.png$')
#: Lost & Found frame id: ``<NN>_<scene name>_<seq:06d>_<frame:06d>``.
LAF_ID_RE = re.compile(r'^([0-9]{2}_.+)_([0-9]{6})_([0-9]{6})$')
#: Cityscapes frame id: ``<city>_<seq:06d>_<frame:06d>``.
CITYSCAPES_ID_RE = re.compile(r'^([a-z_]+)_([0-9]{6})_([0-9]{6})$')
_STATIC_NPZ_RE = re.compile(r'^([0-9]+)_.*rgb\.npz$')

FS_LAF = get_set_spec('fs_laf')
FS_STATIC = get_set_spec('fs_static')
#: Static versions by name (``'v1'``, ``'v2'``, ``'v3'``).
FS_STATIC_VERSIONS = {version.name: version for version in FS_STATIC.versions}

LAF_LABELS_TREE = """\
  <labels>/                  fishyscapes_lostandfound.zip or its folder
    NNNN_<L&F id>_labels.png (0 inlier, 1 anomaly, 255 void), e.g.
        0000_04_Maurener_Weg_8_000000_000030_labels.png"""
LAF_FRAMES_TREE = """\
  <lost_and_found>/          Lost & Found (leftImg8bit.zip extracted)
    leftImg8bit/{train,test}/<scene>/<L&F id>_leftImg8bit.png, e.g.
        leftImg8bit/test/04_Maurener_Weg_8/
        04_Maurener_Weg_8_000000_000030_leftImg8bit.png"""
STATIC_OVERLAYS_TREE = """\
  <overlays>/                fs_val_v{1,2,3}.zip or its folder
    NNNN_<Cityscapes id>_labels.png   (0 inlier, 1 anomaly, 255 void)
    NNNN_<Cityscapes id>_rgb.npz      array 'rgb' (H, W, 3), added to
                                      the Cityscapes frame"""
CITYSCAPES_TREE = """\
  <cityscapes>/              as MMSeg expects it (data/cityscapes)
    leftImg8bit/val/<city>/<city>_<seq>_<frame>_leftImg8bit.png"""


def parse_fs_label_name(name: str) -> Tuple[str, str]:
    """Split a Fishyscapes label file name into its two ids.

    Args:
        name: Base name, e.g.
            ``0000_04_Maurener_Weg_8_000000_000030_labels.png``.

    Returns:
        tuple: Fishyscapes id (``'0000'``) and source id
        (``'04_Maurener_Weg_8_000000_000030'``).

    Raises:
        ValueError: If the name does not follow the pattern.
    """
    match = FS_LAF_LABEL_RE.match(name)
    if match is None:
        raise ValueError(f'{name!r} is not a Fishyscapes label name '
                         '(NNNN_<id>_labels.png).')
    return match.group(1), match.group(2)


def laf_scene_of(laf_id: str) -> str:
    """Scene folder of a Lost & Found id (drops ``_<seq>_<frame>``).

    Args:
        laf_id: e.g. ``04_Maurener_Weg_8_000000_000030``.

    Returns:
        str: e.g. ``04_Maurener_Weg_8``.

    Raises:
        ValueError: If the id does not follow the Lost & Found pattern.
    """
    match = LAF_ID_RE.match(laf_id)
    if match is None:
        raise ValueError(f'{laf_id!r} is not a Lost & Found frame id '
                         '(<NN>_<scene>_<seq:06d>_<frame:06d>).')
    return match.group(1)


def _laf_image_root(root: str) -> str:
    """``<root>/leftImg8bit``, or ``root`` itself if it is that folder."""
    inner = osp.join(root, 'leftImg8bit')
    if osp.isdir(inner):
        return inner
    if osp.basename(osp.normpath(root)) == 'leftImg8bit' and any(
            osp.isdir(osp.join(root, s)) for s in ('train', 'test')):
        return root
    raise layout_error(f'No leftImg8bit/ folder in {root!r}.',
                       LAF_FRAMES_TREE)


def find_laf_frame(image_root: str, laf_id: str) -> Optional[str]:
    """Path of a Lost & Found frame in the train or test split, or None.

    Args:
        image_root: The ``leftImg8bit`` folder.
        laf_id: Lost & Found frame id.

    Returns:
        str | None: The frame's path.
    """
    scene = laf_scene_of(laf_id)
    for split in ('test', 'train'):
        path = osp.join(image_root, split, scene,
                        f'{laf_id}_leftImg8bit.png')
        if osp.isfile(path):
            return path
    return None


def _check_shape(label: np.ndarray, size: Tuple[int, int], label_where: str,
                 image_where: str) -> None:
    if tuple(label.shape) != tuple(size):
        raise ValueError(
            f'{label_where} is {label.shape[0]}x{label.shape[1]} but its '
            f'frame {image_where} is {size[0]}x{size[1]} (HxW); the label '
            'and the frame do not belong together.')


def convert_fs_lost_and_found(labels: str,
                              lost_and_found: str,
                              out_dir: str,
                              overwrite: bool = False,
                              show_progress: bool = True) -> dict:
    """Build the processed FS Lost & Found val set from the public files.

    Args:
        labels: ``fishyscapes_lostandfound.zip`` or the folder it extracts
            to (``NNNN_<L&F id>_labels.png`` files).
        lost_and_found: Lost & Found root holding ``leftImg8bit/`` (or the
            ``leftImg8bit`` folder itself).
        out_dir: Output folder (``original/``, ``labels/``, ``DATASET.json``).
        overwrite: Replace an earlier converter output in ``out_dir``.
        show_progress: Show a progress bar.

    Returns:
        dict: The record written to ``DATASET.json``.

    Raises:
        DatasetLayoutError: On a wrong folder layout or a missing frame.
        LabelValueError: If a label holds values other than 0, 1, 255.
        FileExistsError: See :func:`atomic_output_dir`.
    """
    tree = LAF_LABELS_TREE + '\n' + LAF_FRAMES_TREE
    source = ArchiveSource(labels, FS_LAF_LABEL_RE.pattern, tree)
    image_root = _laf_image_root(lost_and_found)
    pairs = []
    missing = []
    for name in source.names():
        _, laf_id = parse_fs_label_name(name)
        try:
            frame = find_laf_frame(image_root, laf_id)
        except ValueError as exc:
            raise layout_error(f'{source.describe(name)}: {exc}',
                               tree) from exc
        if frame is None:
            missing.append(f'{{train,test}}/{laf_scene_of(laf_id)}/'
                           f'{laf_id}_leftImg8bit.png')
        pairs.append((name, frame))
    if missing:
        raise layout_error(
            f'{len(missing)} of {len(pairs)} labelled frames are missing '
            f'under {image_root!r}, e.g. {missing[:3]}.', tree)
    warn_partial(len(pairs), FS_LAF)
    names = []
    with atomic_output_dir(out_dir, overwrite) as tmp:
        for name, frame in progress(pairs, show_progress):
            out_name = name[:-len('_labels.png')]
            where = source.describe(name)
            label = FS_LAF.labels.apply(
                read_label(io.BytesIO(source.read_bytes(name)), where), where)
            _check_shape(label, image_size(frame), where, frame)
            copy_file(frame, osp.join(tmp, 'original', out_name + '.png'))
            write_label(osp.join(tmp, 'labels', out_name + '.png'), label)
            names.append(out_name)
        record = dict(
            name=FS_LAF.name,
            key=FS_LAF.key,
            version=None,
            num_images=len(names),
            img_suffix='.png',
            labels=FS_LAF.label_text,
            sources=dict(labels=osp.abspath(labels),
                         lost_and_found=osp.abspath(image_root)),
            converter=FS_LAF.converter,
            images=names)
        write_dataset_record(tmp, record)
    return record


# ----------------------------------------------------------------------------
# Static
# ----------------------------------------------------------------------------
def blend_static_overlay(frame: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """Add a Fishyscapes Static overlay to a Cityscapes frame.

    Args:
        frame: (H, W, 3) uint8 RGB Cityscapes frame.
        overlay: (H, W, 3) array ``'rgb'`` of the ``_rgb.npz`` file.

    Returns:
        np.ndarray: ``clip(int(frame) + int(overlay), 0, 255)`` as uint8.

    Raises:
        ValueError: If the shapes differ.
    """
    overlay = np.asarray(overlay)
    if overlay.shape != frame.shape:
        raise ValueError(f'overlay shape {overlay.shape} differs from the '
                         f'frame shape {frame.shape}')
    total = frame.astype(np.int64) + overlay.astype(np.int64)
    return np.clip(total, 0, 255).astype(np.uint8)


def _check_version_source(overlays: str, version: str) -> Optional[bool]:
    """Catch an archive of another version; True if its MD5 is the known one.

    Returns:
        bool | None: True if a .zip matches the published MD5 of
        ``version``, False if it is a .zip with an unknown MD5, None for a
        folder.
    """
    match = re.search(r'fs_val_v([0-9])', osp.basename(osp.normpath(overlays)))
    if match and f'v{match.group(1)}' != version:
        raise ValueError(
            f'{overlays!r} looks like the v{match.group(1)} archive but '
            f'version {version!r} was asked for. Pass --version '
            f'v{match.group(1)} or the {FS_STATIC_VERSIONS[version].archive} '
            'archive.')
    if not osp.isfile(overlays):
        return None
    md5 = md5_of(overlays)
    for other in FS_STATIC_VERSIONS.values():
        if md5 == other.md5 and other.name != version:
            raise ValueError(
                f'{overlays!r} is the official {other.archive} (MD5 {md5}), '
                f'i.e. version {other.name!r}, but version {version!r} was '
                'asked for.')
    return md5 == FS_STATIC_VERSIONS[version].md5


def _static_pairs(source: ArchiveSource) -> List[Tuple[str, str, str]]:
    """(labels name, npz name, Cityscapes id) of every Static frame."""
    npz_by_id: Dict[str, List[str]] = {}
    for name in source.names():
        match = _STATIC_NPZ_RE.match(name)
        if match:
            npz_by_id.setdefault(match.group(1), []).append(name)
    pairs = []
    for name in source.names():
        if not name.endswith('_labels.png'):
            continue
        fs_id, cs_id = parse_fs_label_name(name)
        found = npz_by_id.get(fs_id, [])
        if len(found) != 1:
            raise layout_error(
                f'{source.describe(name)} needs exactly one '
                f'{fs_id}_*rgb.npz overlay in {source.path!r}; found '
                f'{found or "none"}.', STATIC_OVERLAYS_TREE)
        pairs.append((name, found[0], cs_id))
    if not pairs:
        raise layout_error(f'No NNNN_<id>_labels.png in {source.path!r}.',
                           STATIC_OVERLAYS_TREE)
    return pairs


def convert_fs_static(overlays: str,
                      cityscapes: str,
                      out_dir: str,
                      version: str,
                      overwrite: bool = False,
                      show_progress: bool = True) -> dict:
    """Build the processed FS Static val set from overlays + Cityscapes val.

    Args:
        overlays: ``fs_val_v{1,2,3}.zip`` or the folder it extracts to.
        cityscapes: Cityscapes root with ``leftImg8bit/val/<city>/``.
        out_dir: Output folder.
        version: ``'v1'``, ``'v2'`` or ``'v3'`` (must match the archive);
            recorded in ``DATASET.json`` because the versions give
            different numbers.
        overwrite: Replace an earlier converter output in ``out_dir``.
        show_progress: Show a progress bar.

    Returns:
        dict: The record written to ``DATASET.json``.

    Raises:
        ValueError: On an unknown version or an archive of another version.
        DatasetLayoutError: On a wrong layout or a missing Cityscapes frame.
        LabelValueError: If a label holds values other than 0, 1, 255.
    """
    if version not in FS_STATIC_VERSIONS:
        raise ValueError(f'version must be one of {sorted(FS_STATIC_VERSIONS)}'
                         f', got {version!r}')
    tree = STATIC_OVERLAYS_TREE + '\n' + CITYSCAPES_TREE
    verified = _check_version_source(overlays, version)
    source = ArchiveSource(overlays, r'^[0-9]+_.+(_labels\.png|rgb\.npz)$',
                           tree)
    pairs = _static_pairs(source)
    val_root = osp.join(cityscapes, 'leftImg8bit', 'val')
    if not osp.isdir(val_root):
        raise layout_error(f'No leftImg8bit/val/ folder in {cityscapes!r}.',
                           tree)
    jobs, missing = [], []
    for name, npz, cs_id in pairs:
        match = CITYSCAPES_ID_RE.match(cs_id)
        if match is None:
            raise layout_error(
                f'{source.describe(name)}: {cs_id!r} is not a Cityscapes id '
                '(<city>_<seq:06d>_<frame:06d>).', tree)
        frame = osp.join(val_root, match.group(1),
                         f'{cs_id}_leftImg8bit.png')
        if not osp.isfile(frame):
            missing.append(osp.relpath(frame, cityscapes))
        jobs.append((name, npz, frame))
    if missing:
        raise layout_error(
            f'{len(missing)} of {len(jobs)} Cityscapes val frames are '
            f'missing under {cityscapes!r}, e.g. {missing[:3]}.', tree)
    warn_partial(len(jobs), FS_STATIC)
    release = FS_STATIC_VERSIONS[version]
    names = []
    with atomic_output_dir(out_dir, overwrite) as tmp:
        for name, npz, frame in progress(jobs, show_progress):
            out_name = name[:-len('_labels.png')]
            where = source.describe(name)
            label = FS_STATIC.labels.apply(
                read_label(io.BytesIO(source.read_bytes(name)), where), where)
            with np.load(io.BytesIO(source.read_bytes(npz))) as data:
                if 'rgb' not in data.files:
                    raise layout_error(
                        f'{source.describe(npz)} has no array "rgb" (it has '
                        f'{data.files}).', tree)
                overlay = data['rgb']
            base = read_rgb(frame)
            _check_shape(label, base.shape[:2], where, frame)
            try:
                image = blend_static_overlay(base, overlay)
            except ValueError as exc:
                raise ValueError(
                    f'{source.describe(npz)}: {exc} ({frame})') from exc
            write_rgb(osp.join(tmp, 'original', out_name + '.png'), image)
            write_label(osp.join(tmp, 'labels', out_name + '.png'), label)
            names.append(out_name)
        record = dict(
            name=FS_STATIC.name,
            key=FS_STATIC.key,
            version=version,
            tfds_version=release.tfds_version,
            official_archive=release.archive,
            archive_md5_verified=verified,
            num_images=len(names),
            img_suffix='.png',
            labels=FS_STATIC.label_text,
            blend="clip(Cityscapes leftImg8bit/val frame + npz['rgb'], 0, "
            '255)',
            sources=dict(overlays=osp.abspath(overlays),
                         cityscapes=osp.abspath(cityscapes)),
            converter=FS_STATIC.converter,
            images=names)
        write_dataset_record(tmp, record)
    return record

