"""Per-image anomaly score maps of an image folder, for benchmark
submissions (``mmseg-ood-anomaly-maps``).

:func:`write_anomaly_maps` runs an inferencer
(:class:`~mmseg_ood.apis.inference.AnomalyInferencer`) on a list of images
and writes the maps in one of the formats of
:mod:`~mmseg_ood.apis.map_formats`, resumably (complete outputs are
skipped), atomically, and guarded by a run manifest and a record per output
(:mod:`~mmseg_ood.apis.run_manifest`): an output counts as complete only if
its record names the same image content and settings. Every image is
decoded completely before it is scored (a truncated frame is an error
naming it), and the temporary files of a killed run are removed.

Example:
    >>> inferencer = AnomalyInferencer(config, checkpoint)
    >>> images = find_images('data/fs_laf/original')
    >>> maps = NpyMaps('work_dirs/maps')
    >>> write_anomaly_maps(inferencer, images, 'data/fs_laf/original',
    ...                    maps, manifest=None)
"""
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from ..utils.constants import IMAGE_SUFFIXES
from ..utils.file_io import remove_stale_partials
from ..utils.image_files import check_image_decodes
from .map_formats import MapFormat
from .run_manifest import (
    existing_outputs,
    output_record_matches,
    prepare_run_manifest,
    record_output,
)

__all__ = [
    'find_images', 'image_shape', 'outputs_complete', 'plan_outputs',
    'write_anomaly_maps'
]

Inferencer = Callable[[str], Tuple[np.ndarray, np.ndarray]]


def find_images(img_dir: str,
                suffixes: Sequence[str] = IMAGE_SUFFIXES,
                recursive: bool = False) -> List[str]:
    """Sorted image files in ``img_dir`` (and its subfolders if
    ``recursive``) whose names end with one of ``suffixes`` (any case).

    Raises:
        FileNotFoundError: The folder is missing or holds no such image.
    """
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'Image folder {img_dir!r} does not exist '
                                'or is not a folder.')
    wanted = tuple(s.lower() if s.startswith('.') else '.' + s.lower()
                   for s in suffixes)
    found = []
    for root, dirs, files in os.walk(img_dir):
        dirs.sort()
        found.extend(
            osp.join(root, name) for name in files
            if name.lower().endswith(wanted) and not name.startswith('.'))
        if not recursive:
            break
    if not found:
        hint = '' if recursive else ' (add --recursive to search subfolders)'
        raise FileNotFoundError(
            f'No image with suffix {", ".join(wanted)} in {img_dir!r}'
            f'{hint}.')
    return sorted(found)


def image_shape(img_path: str) -> Tuple[int, int]:
    """(height, width) of an image file."""
    image = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'Cannot read image {img_path!r}.')
    return image.shape[:2]


def plan_outputs(images: Sequence[str], img_dir: str,
                 maps: MapFormat) -> Dict[str, Dict[str, str]]:
    """Output files of every image; fails if two images share an output.

    Raises:
        NotADirectoryError: The output folder is a file.
        ValueError: Two images would write the same file.
    """
    if osp.exists(maps.out_dir) and not osp.isdir(maps.out_dir):
        raise NotADirectoryError(
            f'Output folder {maps.out_dir!r} is a file; give a folder (it is '
            'created if missing).')
    plan, owner = {}, {}
    for img in images:
        plan[img] = maps.files(img, img_dir)
        path = plan[img]['anomaly']
        if path in owner:
            raise ValueError(
                f'{owner[path]} and {img} would both write {path}; rename '
                'one of them (or use --format npy, which mirrors the '
                'folder structure).')
        owner[path] = img
    return plan


def outputs_complete(img_path: str, files: Dict[str, str],
                     maps: MapFormat, check_record: bool = True,
                     manifest: Optional[dict] = None) -> bool:
    """True if every output file of the image is whole and has the image's
    resolution and the format's dtype, and (``check_record``) the folder's
    record of the output names this image's content and the settings
    ``manifest`` (default: read from the folder;
    :func:`~mmseg_ood.apis.run_manifest.output_record_matches`).
    """
    if not all(osp.isfile(path) for path in files.values()):
        return False
    if check_record and not output_record_matches(maps.folder, files,
                                                  img_path, manifest):
        return False
    return maps.is_complete(files, image_shape(img_path))


def write_anomaly_maps(inferencer: Inferencer,
                       images: Sequence[str],
                       img_dir: str,
                       maps: MapFormat,
                       manifest: Optional[dict],
                       overwrite: bool = False,
                       show_progress: bool = True) -> Dict[str, List[str]]:
    """Write the anomaly (and class) maps of ``images``.

    Images whose outputs are already complete (whole files of the right
    shape and dtype, recorded as made from the same image content with the
    same settings) are skipped unless ``overwrite``, so an interrupted run
    resumes where it stopped. Every file is written under a temporary name
    and renamed, so a killed run never leaves a truncated output; its
    temporary files are removed when the next run starts.

    The run's ``manifest`` (:func:`~mmseg_ood.apis.run_manifest.
    run_manifest`) is checked against the folder's and written before the
    first map (:func:`~mmseg_ood.apis.run_manifest.prepare_run_manifest`);
    a record of each image's outputs is appended once they are written.

    Args:
        inferencer (callable): Image path -> (anomaly float32 (H, W),
            classes uint8 (H, W)), e.g. an ``AnomalyInferencer``.
        images (Sequence[str]): Image files, e.g. from :func:`find_images`.
        img_dir (str): Their root folder (for the ``'npy'`` layout).
        maps (MapFormat): Where and how the maps are written.
        manifest (dict, optional): This run's manifest; None checks and
            writes none.
        overwrite (bool): Recompute images with complete outputs too.
        show_progress (bool): Show a progress bar.

    Returns:
        dict: ``written`` and ``skipped`` lists of image paths.

    Raises:
        RunManifestError: The folder holds maps made with other settings or
            from other images and ``overwrite`` is False.
        ImageFileError: An image is truncated or corrupt.
    """
    plan = plan_outputs(images, img_dir, maps)
    if manifest is not None:
        prepare_run_manifest(maps.folder, manifest, existing_outputs(plan),
                             overwrite, plan)
    os.makedirs(maps.out_dir, exist_ok=True)
    for folder in sorted({osp.dirname(p) for files in plan.values()
                          for p in files.values()}):
        remove_stale_partials(folder)
    written, skipped = [], []
    progress = ProgressBar(len(images)) if show_progress else None
    for img in images:
        files = plan[img]
        if not overwrite and outputs_complete(
                img, files, maps, check_record=manifest is not None,
                manifest=manifest):
            skipped.append(img)
        else:
            check_image_decodes(img)
            anomaly, classes = inferencer(img)
            maps.write(files, anomaly, classes)
            if manifest is not None:
                record_output(maps.folder, files, img, manifest)
            written.append(img)
        if progress is not None:
            progress.update()
    return dict(written=written, skipped=skipped)
