"""The run manifest of a folder of anomaly maps: what made the maps.

Resuming is safe across changed settings: the folder the maps go to holds
a manifest (:data:`RUN_MANIFEST`: config, checkpoint fingerprint, score
settings, format and names). A later run with other settings stops with a
:class:`RunManifestError` naming the differences instead of keeping maps
that the old settings made.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from ..utils.file_io import atomic_output

__all__ = [
    'RUN_MANIFEST', 'RunManifestError', 'check_run_manifest',
    'checkpoint_fingerprint', 'prepare_run_manifest', 'read_run_manifest',
    'run_manifest', 'write_run_manifest'
]

#: Run manifest written next to the maps (hidden: benchmark folders hold
#: only the maps the benchmark reads).
RUN_MANIFEST = '.anomaly_maps.json'
#: Value of the manifest's ``format`` key.
RUN_MANIFEST_FORMAT = 'mmseg_ood.anomaly_maps'
#: Bytes hashed at each end of a checkpoint for its fingerprint.
FINGERPRINT_BYTES = 1 << 20


class RunManifestError(ValueError):
    """The output folder holds maps made with other settings (or maps of
    unknown origin); the message names the differences."""


def checkpoint_fingerprint(checkpoint: str) -> dict:
    """What identifies a checkpoint: path, size and the SHA-256 of its first
    and last :data:`FINGERPRINT_BYTES` (cheap for any size; any retrained or
    re-saved checkpoint differs there). URLs are identified by themselves.

    Args:
        checkpoint (str): Checkpoint file or URL.

    Returns:
        dict: ``path``, and ``size`` and ``sha256_head_tail`` for a file.

    Raises:
        FileNotFoundError: The local file does not exist.
    """
    if '://' in checkpoint:
        return dict(path=checkpoint)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not exist.')
    size = osp.getsize(checkpoint)
    digest = hashlib.sha256()
    with open(checkpoint, 'rb') as f:
        digest.update(f.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            f.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            digest.update(f.read())
    return dict(path=osp.abspath(checkpoint), size=size,
                sha256_head_tail=digest.hexdigest())


def run_manifest(config: Optional[str],
                 checkpoint: str,
                 score: dict,
                 output: dict,
                 cfg_options: Optional[dict] = None) -> dict:
    """The settings that make a folder of anomaly maps, as stored in its
    :data:`RUN_MANIFEST` (JSON-ready).

    Args:
        config (str, optional): Config file (None for an in-memory config).
        checkpoint (str): Checkpoint file or URL.
        score (dict): The score's settings
            (:meth:`~mmseg_ood.models.scores.AnomalyScore.settings`).
        output (dict): The output format's settings
            (:meth:`~mmseg_ood.apis.map_formats.MapFormat.settings`).
        cfg_options (dict, optional): Config overrides.

    Returns:
        dict: The manifest.
    """
    manifest = dict(
        format=RUN_MANIFEST_FORMAT,
        **output,
        config=osp.abspath(config) if config else None,
        cfg_options=cfg_options or None,
        checkpoint=checkpoint_fingerprint(checkpoint),
        score=score)
    # what a JSON round trip gives (tuples become lists, ...)
    return json.loads(json.dumps(manifest, sort_keys=True, default=str))


def read_run_manifest(folder: str) -> Optional[dict]:
    """The :data:`RUN_MANIFEST` of ``folder``, or None if it has none.

    Raises:
        RunManifestError: The file is not a manifest (broken JSON, ...).
    """
    path = osp.join(folder, RUN_MANIFEST)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        manifest = error
    if not isinstance(manifest, dict) or \
            manifest.get('format') != RUN_MANIFEST_FORMAT:
        raise RunManifestError(
            f'{path} is not a readable anomaly-map manifest ({manifest!r:.80}'
            '); pass --overwrite (overwrite=True) to recompute the maps, or '
            'choose another output folder.')
    return manifest


def _differences(old, new, prefix: str = '') -> List[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _differences(old.get(key), new.get(key),
                                f'{prefix}{key}.')
        return out
    if old == new:
        return []
    return [f'{prefix[:-1]}: {old!r} there, {new!r} now']


def check_run_manifest(folder: str, manifest: dict,
                       overwrite: bool = False,
                       outputs_exist: bool = False) -> None:
    """Fail if the maps in ``folder`` may come from other settings.

    Writes nothing. With ``overwrite`` every folder passes (the maps are
    recomputed).

    Args:
        folder (str): The maps' folder.
        manifest (dict): The :func:`run_manifest` of this run.
        overwrite (bool): The run recomputes every map.
        outputs_exist (bool): Some output of this run exists already.

    Raises:
        RunManifestError: The folder's manifest differs from ``manifest``
            (the message names the differing fields), or the folder holds
            outputs but no manifest.
    """
    if overwrite:
        return
    old = read_run_manifest(folder)
    if old is None:
        if outputs_exist:
            raise RunManifestError(
                f'{folder} already holds anomaly maps but no {RUN_MANIFEST} '
                'that says how they were made, so they cannot be resumed. '
                'Pass --overwrite (overwrite=True) to recompute them, or '
                'choose another output folder.')
        return
    diffs = _differences(old, manifest)
    if diffs:
        raise RunManifestError(
            f'{folder} holds anomaly maps made with other settings ('
            f'{"; ".join(diffs)}; see {osp.join(folder, RUN_MANIFEST)}). '
            'Pass --overwrite (overwrite=True) to recompute them with the '
            'new settings, or choose another output folder.')


def write_run_manifest(folder: str, manifest: dict) -> None:
    """Write ``manifest`` as ``folder``'s :data:`RUN_MANIFEST`,
    atomically."""
    with atomic_output(osp.join(folder, RUN_MANIFEST)) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write('\n')


def prepare_run_manifest(folder: str, manifest: dict,
                         existing: List[str], overwrite: bool) -> None:
    """Check the folder's manifest, then write this run's.

    With ``overwrite`` and a different or missing manifest, the run's
    ``existing`` outputs are deleted first, so that an interrupted
    ``overwrite`` run never leaves old maps under the new manifest.

    Args:
        folder (str): The maps' folder.
        manifest (dict): This run's manifest.
        existing (list[str]): This run's output files that exist.
        overwrite (bool): The run recomputes every map.
    """
    check_run_manifest(folder, manifest, overwrite, bool(existing))
    try:
        old = read_run_manifest(folder)
    except RunManifestError:  # only reached with overwrite
        old = None
    if old == manifest:
        return
    if overwrite:
        for path in existing:  # maps of other (or unknown) settings
            os.remove(path)
    write_run_manifest(folder, manifest)


def existing_outputs(plan: Dict[str, Dict[str, str]]) -> List[str]:
    """Output files of a plan (image -> files) that exist."""
    return [path for files in plan.values() for path in files.values()
            if osp.lexists(path)]
