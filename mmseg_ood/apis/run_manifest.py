"""The run manifest of a folder of anomaly maps: what made the maps.

Resuming never mixes runs or inputs. The folder the maps go to holds

* a manifest (:data:`RUN_MANIFEST`: config and its content, checkpoint
  fingerprint, score settings, format and names): a later run with other
  settings stops with a :class:`RunManifestError` naming the differences
  instead of keeping maps that the old settings made;
* a record per output (:data:`RUN_RECORDS`, one JSON line appended after
  each image's maps are written): the output's files, the input image
  (path, size, SHA-256) and the digest of the settings. A map is complete
  only if its record names the same image content and settings; maps made
  from another image of the same name (another folder, an edited frame)
  stop the run with the file names instead of being kept.

``--overwrite`` with other settings replaces exactly this run's maps: if
the folder also holds recorded maps of the old settings for images this run
does not cover, it stops and names them (they would otherwise stay next to
maps of the new settings).
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from ..utils.file_io import atomic_output, writing

__all__ = [
    'CHECKPOINT_FIT_KEY', 'RUN_MANIFEST', 'RUN_RECORDS', 'RunManifestError',
    'check_output_inputs', 'check_run_manifest', 'checkpoint_fingerprint',
    'config_fingerprint', 'existing_outputs', 'image_identity',
    'output_record_matches', 'prepare_run_manifest', 'provenance',
    'read_output_records', 'read_run_manifest', 'record_output',
    'run_manifest', 'same_source', 'settings_digest', 'write_run_manifest'
]

#: Run manifest written next to the maps (hidden: benchmark folders hold
#: only the maps the benchmark reads).
RUN_MANIFEST = '.anomaly_maps.json'
#: The record of every output (JSON lines, appended; hidden).
RUN_RECORDS = '.anomaly_maps.records.jsonl'
#: Value of the manifest's ``format`` key.
RUN_MANIFEST_FORMAT = 'mmseg_ood.anomaly_maps'
#: Bytes hashed at each end of a checkpoint for its fingerprint.
FINGERPRINT_BYTES = 1 << 20
#: Manifest key of how the checkpoint fits the model, recorded by a run
#: that allows a partial load. It follows from the config and checkpoint,
#: which are compared, so it is recorded but not compared.
CHECKPOINT_FIT_KEY = 'checkpoint_fit'


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


def config_fingerprint(config: Optional[str]) -> Optional[str]:
    """SHA-256 of a config file's bytes (None for no file), so that an
    edited config under the same name is another setting."""
    if not config or not osp.isfile(config):
        return None
    digest = hashlib.sha256()
    with open(config, 'rb') as f:
        digest.update(f.read())
    return digest.hexdigest()


def provenance(config: Optional[str],
               checkpoint: str,
               cfg_options: Optional[dict] = None) -> dict:
    """What produced an output (JSON-ready): the config file and the SHA-256
    of its bytes, the config overrides and the checkpoint's fingerprint.

    Every output that a later run may reuse records it: the map folders'
    manifests, the JSON of ``mmseg-ood-test``, ``mmseg-ood-prior`` and
    ``mmseg-ood-sml-statistics`` (``provenance``), so that a reuse can
    check :func:`same_source`.

    Args:
        config (str, optional): Config file (None for an in-memory config).
        checkpoint (str): Checkpoint file or URL.
        cfg_options (dict, optional): Config overrides.

    Returns:
        dict: ``config``, ``config_sha256``, ``cfg_options``, ``checkpoint``
        (:func:`checkpoint_fingerprint`).
    """
    record = dict(config=osp.abspath(config) if config else None,
                  config_sha256=config_fingerprint(config),
                  cfg_options=cfg_options or None,
                  checkpoint=checkpoint_fingerprint(checkpoint))
    # what a JSON round trip gives (tuples become lists, ...)
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def same_source(recorded: Optional[dict], config: Optional[str],
                checkpoint: str) -> bool:
    """True if a recorded :func:`provenance` names the same config content
    and the same checkpoint content as ``config`` and ``checkpoint`` now
    (wherever the files lie)."""
    if not isinstance(recorded, dict) or \
            not isinstance(recorded.get('checkpoint'), dict):
        return False
    now = provenance(config, checkpoint)
    return (recorded.get('config_sha256') == now['config_sha256']
            and _content(recorded['checkpoint']) == _content(
                now['checkpoint']))


def _content(fingerprint: dict):
    """A checkpoint fingerprint without the file's path (a URL is its
    own identity)."""
    if 'sha256_head_tail' in fingerprint:
        return fingerprint.get('size'), fingerprint['sha256_head_tail']
    return fingerprint.get('path')


def run_manifest(config: Optional[str],
                 checkpoint: str,
                 score: dict,
                 output: dict,
                 cfg_options: Optional[dict] = None,
                 allow_partial_checkpoint: bool = False) -> dict:
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
        allow_partial_checkpoint (bool): The run accepts a checkpoint that
            fits the model only partly (recorded, so that such maps are
            never resumed by a strict run or the other way round); the
            run adds the fit under :data:`CHECKPOINT_FIT_KEY` once the
            model is loaded.

    Returns:
        dict: The manifest.
    """
    manifest = dict(format=RUN_MANIFEST_FORMAT,
                    **output,
                    **provenance(config, checkpoint, cfg_options),
                    score=score)
    if allow_partial_checkpoint:
        manifest['allow_partial_checkpoint'] = True
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


def _compared(manifest: dict) -> dict:
    """The settings of a manifest that a resume must match."""
    return {k: v for k, v in manifest.items() if k != CHECKPOINT_FIT_KEY}


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
    diffs = _differences(_compared(old), _compared(manifest))
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


def settings_digest(manifest: dict) -> str:
    """A short digest of a manifest (the settings every record names)."""
    text = json.dumps(_compared(manifest), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_IDENTITY_CACHE: Dict[Tuple[str, int, int], dict] = {}


def image_identity(path: str) -> dict:
    """What identifies an input image: its path, size and SHA-256 (cached
    while the file's size and modification time stay the same).

    Raises:
        FileNotFoundError: The image does not exist.
    """
    path = osp.abspath(path)
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _IDENTITY_CACHE:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                digest.update(chunk)
        _IDENTITY_CACHE[key] = dict(path=path, size=stat.st_size,
                                    sha256=digest.hexdigest())
    return dict(_IDENTITY_CACHE[key])


def _rel(folder: str, path: str) -> str:
    return osp.relpath(osp.abspath(path), osp.abspath(folder)).replace(
        os.sep, '/')


_RECORDS_CACHE: Dict[str, Tuple[Tuple[int, int], Dict[str, dict]]] = {}


def read_output_records(folder: str) -> Dict[str, dict]:
    """The records of ``folder``'s outputs, by anomaly-map path relative to
    the folder (the last record of an output wins).

    A line cut short (a run killed while appending) is skipped; its
    output counts as unrecorded and is made again.
    """
    path = osp.join(folder, RUN_RECORDS)
    if not osp.isfile(path):
        return {}
    stat = os.stat(path)
    stamp = (stat.st_size, stat.st_mtime_ns)
    cached = _RECORDS_CACHE.get(osp.abspath(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    records = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = record['output']
        except (ValueError, KeyError, TypeError):
            continue  # torn by a kill: that output is made again
        records[key] = record
    _RECORDS_CACHE[osp.abspath(path)] = (stamp, records)
    return records


def record_output(folder: str, files: Dict[str, str], image: str,
                  manifest: dict) -> None:
    """Append the record of one image's written outputs (flushed to disk
    before the next image)."""
    record = dict(
        output=_rel(folder, files['anomaly']),
        files=sorted(_rel(folder, p) for p in files.values()),
        image=image_identity(image),
        settings=settings_digest(manifest))
    path = osp.join(folder, RUN_RECORDS)
    with writing(path), open(path, 'a+b') as f:
        size = f.seek(0, os.SEEK_END)
        torn = False
        if size:  # a line torn by a kill must not swallow this one
            f.seek(size - 1)
            torn = f.read(1) != b'\n'
        line = json.dumps(record, sort_keys=True) + '\n'
        f.write((('\n' if torn else '') + line).encode('utf-8'))
        f.flush()
        os.fsync(f.fileno())


def output_record_matches(folder: str, files: Dict[str, str],
                          image: str,
                          manifest: Optional[dict] = None) -> bool:
    """Whether the record of an output names this image's content and the
    settings ``manifest`` (default: the folder's manifest)."""
    if manifest is None:
        try:
            manifest = read_run_manifest(folder)
        except RunManifestError:
            return False
        if manifest is None:
            return False
    record = read_output_records(folder).get(_rel(folder, files['anomaly']))
    if record is None or record.get('settings') != settings_digest(
            manifest):
        return False
    return _same_image(record.get('image') or {}, image_identity(image))


def _same_image(recorded: dict, current: dict) -> bool:
    return (recorded.get('sha256') == current['sha256']
            and recorded.get('size') == current['size'])


def _describe(identity: dict) -> str:
    return (f"{identity.get('path')} ({identity.get('size')} bytes, sha256 "
            f"{str(identity.get('sha256'))[:12]})")


def check_output_inputs(folder: str, plan: Dict[str, Dict[str, str]],
                        overwrite: bool = False) -> None:
    """Fail if existing outputs of the plan were made from other images
    (same names, other content: another folder, an edited frame).

    Raises:
        RunManifestError: Naming up to three outputs and both images.
    """
    if overwrite:
        return
    records = read_output_records(folder)
    clashes = []
    for img, files in plan.items():
        record = records.get(_rel(folder, files['anomaly']))
        if record is None or not osp.lexists(files['anomaly']):
            continue
        current = image_identity(img)
        if not _same_image(record.get('image') or {}, current):
            clashes.append(f"{files['anomaly']} was made from "
                           f"{_describe(record.get('image') or {})}, this "
                           f'run reads {_describe(current)}')
    if clashes:
        raise RunManifestError(
            f'{folder} holds maps of other images under the names of this '
            f'run\'s ({len(clashes)}: {"; ".join(clashes[:3])}). Pass '
            '--overwrite (overwrite=True) to replace them with maps of '
            'these images, or choose another output folder.')


def _stranded_outputs(folder: str,
                      plan: Dict[str, Dict[str, str]]) -> List[str]:
    """Recorded outputs of the folder that exist and that ``plan`` does not
    write."""
    planned = {_rel(folder, files['anomaly']) for files in plan.values()}
    return sorted(
        key for key in read_output_records(folder)
        if key not in planned and osp.lexists(osp.join(folder, key)))


def prepare_run_manifest(folder: str, manifest: dict,
                         existing: List[str], overwrite: bool,
                         plan: Optional[Dict[str, Dict[str, str]]] = None
                         ) -> None:
    """Check the folder's manifest and records, then write this run's
    manifest.

    Without ``overwrite`` the settings must be the folder's and every
    existing output of ``plan`` must have been made from the same image
    content. With ``overwrite`` and other (or unknown) settings, the run's
    ``existing`` outputs are deleted first and the records reset, so that
    an interrupted ``overwrite`` run never leaves old maps under the new
    manifest; recorded maps of the old settings that ``plan`` does not
    cover stop the run instead (they would stay beside the new ones).

    Args:
        folder (str): The maps' folder.
        manifest (dict): This run's manifest.
        existing (list[str]): This run's output files that exist.
        overwrite (bool): The run recomputes every map.
        plan (dict, optional): Image -> output files of this run.

    Raises:
        RunManifestError: See :func:`check_run_manifest` and
            :func:`check_output_inputs`; or maps of the old settings would
            be left next to the new ones.
    """
    check_run_manifest(folder, manifest, overwrite, bool(existing))
    try:
        old = read_run_manifest(folder)
    except RunManifestError:  # only reached with overwrite
        old = None
    if old is not None and _compared(old) == _compared(manifest):
        if plan is not None:
            check_output_inputs(folder, plan, overwrite)
        return
    if plan is not None:
        stranded = _stranded_outputs(folder, plan)
        if stranded:
            shown = ', '.join(osp.join(folder, k) for k in stranded[:3])
            raise RunManifestError(
                f'{folder} holds {len(stranded)} map(s) made with the '
                f'earlier settings of {osp.join(folder, RUN_MANIFEST)} for '
                f'images this run does not cover (e.g. {shown}). --overwrite '
                'replaces only this run\'s maps, so they would stay next to '
                'maps of the new settings. Run on all their images, delete '
                'them, or choose another output folder.')
    for path in existing:  # maps of other (or unknown) settings
        os.remove(path)
    records = osp.join(folder, RUN_RECORDS)
    if osp.lexists(records):
        os.remove(records)
    write_run_manifest(folder, manifest)


def existing_outputs(plan: Dict[str, Dict[str, str]]) -> List[str]:
    """Output files of a plan (image -> files) that exist."""
    return [path for files in plan.values() for path in files.values()
            if osp.lexists(path)]
