"""Per-image anomaly score maps for benchmark submissions.

:class:`AnomalyMapInferencer` runs an MMSeg segmentor on one image at a time
and returns the anomaly score map (float32, higher = more anomalous) and the
class map (argmax over the first K inlier logits, uint8), both at the input
image's resolution: MMSeg's segmentors resize ``seg_logits`` back to the
original size. :func:`write_anomaly_maps` writes them for a list of images in
one of three layouts, resumably and atomically:

* ``'npy'``: ``<out>/<relative folder>/<stem>_anomaly.npy`` and
  ``<stem>_segmentation.npy``.
* ``'fishyscapes'``: the Fishyscapes submission contract
  (fishyscapes.com/submission): every input ``DDDD_*.png`` gives
  ``<out>/DDDD_anomaly.npy`` (float scores, input resolution) and
  ``<out>/DDDD_segmentation.npy`` (integer classes), ``DDDD`` being the
  four-digit prefix of the input name.
* ``'smiyc'``: the SegmentMeIfYouCan benchmark's store
  (``road_anomaly_benchmark.evaluation.Evaluation.save_output``):
  ``<out>/anomaly_p/<method>/<dataset>/<frame id>.hdf5`` holding the float16
  score map as dataset ``'value'``, gzip level 9. ``<out>`` plays the role of
  the benchmark's ``DIR_OUTPUTS``; no class map is stored.

Resuming is safe across changed settings: the folder the maps go to
(``<out>``, or ``<out>/anomaly_p/<method>/<dataset>`` for ``'smiyc'``) holds
a run manifest (:data:`RUN_MANIFEST`: config, checkpoint fingerprint, score
settings, format and names). A later run with other settings stops with a
:class:`RunManifestError` naming the differences instead of keeping maps
that the old settings made.
"""
import hashlib
import json
import os
import os.path as osp
import re
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config

from ..engine.checkpoint import is_local_path, trusted_checkpoints
from ..models.scores import SCORE_TYPES, anomaly_score, inlier_logits
from ..utils.constants import IMAGE_SUFFIXES
from ..utils.file_io import atomic_output

__all__ = [
    'IMAGE_SUFFIXES', 'OUTPUT_FORMATS', 'RUN_MANIFEST', 'RunManifestError',
    'ScoreSettings', 'score_settings', 'inference_pipeline',
    'AnomalyMapInferencer', 'find_images', 'smiyc_frame_id', 'output_files',
    'save_npy', 'save_smiyc_hdf5', 'load_smiyc_hdf5', 'outputs_complete',
    'plan_outputs', 'existing_outputs', 'checkpoint_fingerprint',
    'run_manifest', 'manifest_folder', 'read_run_manifest',
    'check_run_manifest', 'write_run_manifest', 'write_anomaly_maps'
]

# IMAGE_SUFFIXES (searched by default, any case) is re-exported from
# mmseg_ood.utils.constants.
#: Output layouts of :func:`write_anomaly_maps`.
OUTPUT_FORMATS = ('npy', 'fishyscapes', 'smiyc')
#: Fishyscapes input names: a four-digit frame number, then ``_``.
FISHYSCAPES_INPUT = re.compile(r'^(\d{4})_')
#: SegmentMeIfYouCan store: dataset name, dtype and gzip level.
SMIYC_KEY = 'value'
SMIYC_DTYPE = np.float16
SMIYC_GZIP_LEVEL = 9
#: Suffix that the SegmentMeIfYouCan Lost & Found loader strips from image
#: stems to get frame ids (``<fid>_leftImg8bit.png``).
LEFTIMG_SUFFIX = '_leftImg8bit'
#: Run manifest written next to the maps (hidden: benchmark folders hold
#: only the maps the benchmark reads).
RUN_MANIFEST = '.anomaly_maps.json'
#: Value of the manifest's ``format`` key.
RUN_MANIFEST_FORMAT = 'mmseg_ood.anomaly_maps'
#: Bytes hashed at each end of a checkpoint for its fingerprint.
FINGERPRINT_BYTES = 1 << 20
_ANOMALY_METRIC = 'AnomalyMetric'


class RunManifestError(ValueError):
    """The output folder holds maps made with other settings (or maps of
    unknown origin); the message names the differences."""


@dataclass
class ScoreSettings:
    """How the anomaly score is computed from the logits.

    Attributes:
        score_type (str): One of :data:`~mmseg_ood.models.scores.SCORE_TYPES`.
        num_classes (int): Number of inlier classes K (first K channels).
        temperature (float): Energy temperature.
        blur (bool): 7x7, sigma 1 Gaussian blur of the score map.
    """
    score_type: str = 'energy'
    num_classes: Optional[int] = None
    temperature: float = 1.0
    blur: bool = False


def _entries(section) -> List[dict]:
    """The loader / evaluator dicts of a config section: one dict, a list,
    an Evaluator's ``metrics`` or a dict of named ones (multi-set configs).
    """
    if isinstance(section, (list, tuple)):
        return [e for item in section for e in _entries(item)]
    if not isinstance(section, dict):
        return []
    if 'metrics' in section:
        return _entries(section['metrics'])
    if 'type' in section or 'dataset' in section:
        return [section]
    return [e for item in section.values() for e in _entries(item)]


def _anomaly_evaluator(cfg: Config) -> Optional[dict]:
    for key in ('test_evaluator', 'val_evaluator'):
        for evaluator in _entries(cfg.get(key, None)):
            if str(evaluator.get('type', '')).split('.')[-1] == \
                    _ANOMALY_METRIC:
                return evaluator
    return None


def score_settings(cfg: Config,
                   score_type: Optional[str] = None,
                   num_classes: Optional[int] = None,
                   temperature: Optional[float] = None,
                   blur: Optional[bool] = None) -> ScoreSettings:
    """Score settings: the given values, else the config's ``AnomalyMetric``
    (``test_evaluator``, then ``val_evaluator``), else the defaults.

    Defaults: energy, T = 1, no blur, ``num_classes`` of the config's
    ``model.decode_head``.

    Args:
        cfg (Config): The model config.
        score_type (str, optional): Overrides the score type.
        num_classes (int, optional): Overrides K.
        temperature (float, optional): Overrides T.
        blur (bool, optional): Overrides the blur.

    Returns:
        ScoreSettings: The settings.
    """
    evaluator = _anomaly_evaluator(cfg) or {}
    settings = ScoreSettings(
        score_type=evaluator.get('score_type', 'energy'),
        num_classes=evaluator.get('num_classes', None),
        temperature=evaluator.get('temperature', 1.0),
        blur=evaluator.get('blur', False))
    for name, value in (('score_type', score_type),
                        ('num_classes', num_classes),
                        ('temperature', temperature), ('blur', blur)):
        if value is not None:
            setattr(settings, name, value)
    if settings.num_classes is None:
        head = cfg.get('model', {}).get('decode_head', None)
        if isinstance(head, (list, tuple)):
            head = head[-1]
        settings.num_classes = (head or {}).get('num_classes', None)
    if settings.score_type not in SCORE_TYPES:
        raise ValueError(f'Unknown score type {settings.score_type!r}; '
                         f'choose one of {SCORE_TYPES}.')
    if settings.num_classes is None or not 0 < settings.num_classes <= 256:
        raise ValueError(
            f'num_classes={settings.num_classes}: give the number of inlier '
            'classes (1..256), e.g. --num-classes 19; the config has no '
            'AnomalyMetric or decode_head num_classes to take it from.')
    if not settings.temperature > 0:
        raise ValueError(f'temperature must be positive, got '
                         f'{settings.temperature}.')
    return settings


def inference_pipeline(cfg: Config) -> List[dict]:
    """The config's test pipeline without annotation loading.

    Takes the pipeline of ``test_dataloader.dataset`` (of the first named
    loader in a multi-set config), else ``test_pipeline``.
    """
    pipeline = None
    for loader in _entries(cfg.get('test_dataloader', None)):
        pipeline = (loader.get('dataset', None) or {}).get('pipeline', None)
        if pipeline:
            break
    pipeline = pipeline or cfg.get('test_pipeline', None)
    if not pipeline:
        raise KeyError('The config has neither test_dataloader.dataset.'
                       'pipeline nor test_pipeline; add the test pipeline '
                       "(LoadImageFromFile, Resize, PackSegInputs).")
    pipeline = [
        dict(t) for t in pipeline
        if not str(t.get('type', '')).endswith('LoadAnnotations')
    ]
    if 'LoadImage' not in str(pipeline[0].get('type', '')):
        raise ValueError('The test pipeline must start with '
                         f"LoadImageFromFile, got {pipeline[0]}.")
    return pipeline


class AnomalyMapInferencer:
    """Anomaly score map and class map of one image, at its resolution.

    The model is built with :func:`mmseg.apis.init_model`; the checkpoint
    the user names is loaded with ``weights_only=False`` (see
    :func:`~mmseg_ood.engine.checkpoint.trusted_checkpoints`), so name only
    checkpoints you trust.

    Args:
        config (str | Config): Model config (file or object).
        checkpoint (str): Checkpoint file (or URL).
        device (str): Torch device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        score_type (str, optional): See :func:`score_settings`.
        num_classes (int, optional): See :func:`score_settings`.
        temperature (float, optional): See :func:`score_settings`.
        blur (bool, optional): See :func:`score_settings`.

    Example:
        >>> inferencer = AnomalyMapInferencer(cfg_file, ckpt_file)
        >>> anomaly, segmentation = inferencer('0000_frame.png')
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None,
                 score_type: Optional[str] = None,
                 num_classes: Optional[int] = None,
                 temperature: Optional[float] = None,
                 blur: Optional[bool] = None) -> None:
        from mmengine.dataset import Compose
        from mmseg.apis import init_model

        if isinstance(config, str):
            if not osp.isfile(config):
                raise FileNotFoundError(f'Config file {config!r} does not '
                                        'exist.')
            config = Config.fromfile(config)
        self.config_path = config.filename
        self.checkpoint = checkpoint
        self.cfg_options = cfg_options
        if cfg_options:
            config.merge_from_dict(cfg_options)
        if '://' not in checkpoint and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'Checkpoint {checkpoint!r} does not '
                                    'exist.')
        self.settings = score_settings(config, score_type, num_classes,
                                       temperature, blur)
        with trusted_checkpoints(files=[checkpoint]):
            self.model = init_model(config, checkpoint, device=device)
        self.pipeline = Compose(inference_pipeline(config))

    @torch.no_grad()
    def logits(self, img_path: str) -> torch.Tensor:
        """Logits (C, H, W) of the image at its own resolution."""
        data = self.pipeline(dict(img_path=img_path))
        batch = dict(inputs=[data['inputs']],
                     data_samples=[data['data_samples']])
        sample = self.model.test_step(batch)[0]
        logits = sample.seg_logits.data
        height, width = sample.metainfo['ori_shape'][:2]
        if tuple(logits.shape[-2:]) != (height, width):
            raise RuntimeError(
                f'{img_path}: the model returned logits of '
                f'{tuple(logits.shape[-2:])}, not the image size '
                f'{(height, width)}.')
        return logits

    def run_manifest(self, fmt: str = 'npy',
                     method_name: Optional[str] = None,
                     dataset_name: Optional[str] = None) -> dict:
        """The :func:`run_manifest` of maps that this inferencer writes."""
        return run_manifest(self.config_path, self.checkpoint,
                            self.settings, fmt, method_name, dataset_name,
                            self.cfg_options)

    def __call__(self, img_path: str) -> Tuple[np.ndarray, np.ndarray]:
        """Anomaly scores (float32) and classes (uint8), both (H, W)."""
        logits = self.logits(img_path)
        s = self.settings
        score = anomaly_score(
            logits.unsqueeze(0), s.score_type, num_classes=s.num_classes,
            temperature=s.temperature, blur=s.blur)[0]
        classes = inlier_logits(logits, s.num_classes, dim=0).argmax(dim=0)
        return (score.cpu().numpy().astype(np.float32, copy=False),
                classes.to(torch.uint8).cpu().numpy())


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


def _fishyscapes_prefix(img_path: str) -> str:
    match = FISHYSCAPES_INPUT.match(osp.basename(img_path))
    if match is None:
        raise ValueError(
            f'{img_path}: Fishyscapes inputs are named DDDD_*.png (four '
            'digits, then "_"), e.g. 0000_04_Maurener_Weg_8_000000_000030_'
            'rgb.png; use --format npy for other names.')
    return match.group(1)


def smiyc_frame_id(img_path: str) -> str:
    """SegmentMeIfYouCan frame id of an image: its stem, without the
    ``_leftImg8bit`` suffix of Lost & Found / Cityscapes names."""
    stem = osp.splitext(osp.basename(img_path))[0]
    if stem.endswith(LEFTIMG_SUFFIX):
        stem = stem[:-len(LEFTIMG_SUFFIX)]
    return stem


def output_files(img_path: str,
                 img_dir: str,
                 out_dir: str,
                 fmt: str = 'npy',
                 method_name: Optional[str] = None,
                 dataset_name: Optional[str] = None) -> Dict[str, str]:
    """Output files of one image: ``{'anomaly': ..., 'segmentation': ...}``
    (no ``'segmentation'`` for ``'smiyc'``). See the module docstring."""
    if fmt == 'npy':
        rel_dir = osp.relpath(osp.dirname(osp.abspath(img_path)),
                              osp.abspath(img_dir))
        stem = osp.splitext(osp.basename(img_path))[0]
        base = osp.normpath(osp.join(out_dir, rel_dir, stem))
    elif fmt == 'fishyscapes':
        base = osp.join(out_dir, _fishyscapes_prefix(img_path))
    elif fmt == 'smiyc':
        if not method_name or not dataset_name:
            raise ValueError(
                'The smiyc format needs a method name and a dataset name '
                '(--method-name, --dataset-name), e.g. BalancedEnergy and '
                'AnomalyTrack-all.')
        for value in (method_name, dataset_name):
            if os.sep in value or value in ('.', '..'):
                raise ValueError(f'Method and dataset names are folder '
                                 f'names; {value!r} is not.')
        return dict(anomaly=osp.join(out_dir, 'anomaly_p', method_name,
                                     dataset_name,
                                     smiyc_frame_id(img_path) + '.hdf5'))
    else:
        raise ValueError(f'Unknown output format {fmt!r}; choose one of '
                         f'{OUTPUT_FORMATS}.')
    return dict(anomaly=base + '_anomaly.npy',
                segmentation=base + '_segmentation.npy')


def save_npy(path: str, array: np.ndarray) -> None:
    """``np.save`` through a temporary file (never a truncated file)."""
    with atomic_output(path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, array)


def _import_h5py():
    try:
        import h5py
    except ImportError as error:
        raise ImportError('The smiyc output format needs h5py: pip install '
                          'h5py') from error
    return h5py


def save_smiyc_hdf5(path: str, anomaly: np.ndarray) -> None:
    """Write a score map as the SegmentMeIfYouCan benchmark stores it:
    float16 dataset ``'value'``, gzip level 9, atomically."""
    h5py = _import_h5py()
    value = np.asarray(anomaly).astype(SMIYC_DTYPE)
    if not np.isfinite(value).all():
        raise ValueError(
            f'{path}: the scores do not fit float16 (|score| > 65504 or '
            'NaN), which the SegmentMeIfYouCan store uses; pick a bounded '
            'score (e.g. --score-type max_softmax).')
    with atomic_output(path) as tmp:
        with h5py.File(tmp, 'w') as f:
            f.create_dataset(SMIYC_KEY, data=value, compression='gzip',
                             compression_opts=SMIYC_GZIP_LEVEL)


def load_smiyc_hdf5(path: str) -> np.ndarray:
    """Read a score map written by :func:`save_smiyc_hdf5` (or by the
    SegmentMeIfYouCan benchmark)."""
    h5py = _import_h5py()
    with h5py.File(path, 'r') as f:
        if SMIYC_KEY not in f:
            raise KeyError(f'{path} has no dataset {SMIYC_KEY!r} (keys: '
                           f'{list(f.keys())}).')
        return f[SMIYC_KEY][()]


def _npy_is_complete(path: str, shape: Tuple[int, int], dtype) -> bool:
    """True if ``path`` is a whole .npy of this shape and dtype."""
    try:
        with open(path, 'rb') as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f)
            else:
                header = np.lib.format.read_array_header_2_0(f)
            data_start = f.tell()
    except (OSError, ValueError):
        return False
    file_shape, _, file_dtype = header
    if tuple(file_shape) != tuple(shape) or file_dtype != np.dtype(dtype):
        return False
    expected = data_start + int(np.prod(shape)) * np.dtype(dtype).itemsize
    return osp.getsize(path) == expected


def _hdf5_is_complete(path: str, shape: Tuple[int, int]) -> bool:
    h5py = _import_h5py()
    try:
        with h5py.File(path, 'r') as f:
            value = f[SMIYC_KEY][()]
    except Exception:  # any unreadable or partial file is recomputed
        return False
    return value.shape == tuple(shape) and value.dtype == SMIYC_DTYPE


def _image_shape(img_path: str) -> Tuple[int, int]:
    image = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'Cannot read image {img_path!r}.')
    return image.shape[:2]


def outputs_complete(img_path: str, files: Dict[str, str]) -> bool:
    """True if every output file of the image is whole and has the image's
    resolution and the expected dtype."""
    if not all(osp.isfile(path) for path in files.values()):
        return False
    shape = _image_shape(img_path)
    if files['anomaly'].endswith('.hdf5'):
        return _hdf5_is_complete(files['anomaly'], shape)
    return (_npy_is_complete(files['anomaly'], shape, np.float32)
            and _npy_is_complete(files['segmentation'], shape, np.uint8))


def plan_outputs(images: Sequence[str],
                 img_dir: str,
                 out_dir: str,
                 fmt: str = 'npy',
                 method_name: Optional[str] = None,
                 dataset_name: Optional[str] = None
                 ) -> Dict[str, Dict[str, str]]:
    """Output files of every image; fails if two images share an output.
    """
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'Output folder {out_dir!r} is a file; give '
                                 'a folder (it is created if missing).')
    plan, owner = {}, {}
    for img in images:
        plan[img] = output_files(img, img_dir, out_dir, fmt, method_name,
                                 dataset_name)
        path = plan[img]['anomaly']
        if path in owner:
            raise ValueError(
                f'{owner[path]} and {img} would both write {path}; rename '
                'one of them (or use --format npy, which mirrors the '
                'folder structure).')
        owner[path] = img
    return plan


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
    if not is_local_path(checkpoint):
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
                 settings: ScoreSettings,
                 fmt: str = 'npy',
                 method_name: Optional[str] = None,
                 dataset_name: Optional[str] = None,
                 cfg_options: Optional[dict] = None) -> dict:
    """The settings that make a folder of anomaly maps, as stored in its
    :data:`RUN_MANIFEST` (JSON-ready).

    Args:
        config (str, optional): Config file (None for an in-memory config).
        checkpoint (str): Checkpoint file or URL.
        settings (ScoreSettings): The score settings.
        fmt (str): Output format.
        method_name (str, optional): Method name (``'smiyc'``).
        dataset_name (str, optional): Dataset name (``'smiyc'``).
        cfg_options (dict, optional): Config overrides.

    Returns:
        dict: The manifest.
    """
    manifest = dict(
        format=RUN_MANIFEST_FORMAT,
        output_format=fmt,
        method_name=method_name,
        dataset_name=dataset_name,
        config=osp.abspath(config) if config else None,
        cfg_options=cfg_options or None,
        checkpoint=checkpoint_fingerprint(checkpoint),
        score=asdict(settings))
    # what a JSON round trip gives (tuples become lists, ...)
    return json.loads(json.dumps(manifest, sort_keys=True, default=str))


def manifest_folder(out_dir: str,
                    fmt: str = 'npy',
                    method_name: Optional[str] = None,
                    dataset_name: Optional[str] = None) -> str:
    """Folder whose :data:`RUN_MANIFEST` covers the maps of a run: the
    ``'smiyc'`` method/dataset folder, else ``out_dir``."""
    if fmt == 'smiyc':
        return osp.join(out_dir, 'anomaly_p', method_name, dataset_name)
    return out_dir


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
        folder (str): See :func:`manifest_folder`.
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


def existing_outputs(plan: Dict[str, Dict[str, str]]) -> List[str]:
    """Output files of a :func:`plan_outputs` plan that exist."""
    return [path for files in plan.values() for path in files.values()
            if osp.lexists(path)]


def _prepare_manifest(plan: Dict[str, Dict[str, str]], manifest: dict,
                      overwrite: bool, folder: str) -> None:
    """Check the folder's manifest, then write this run's."""
    existing = existing_outputs(plan)
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


def write_anomaly_maps(inferencer, images: Sequence[str], img_dir: str,
                       out_dir: str, fmt: str = 'npy',
                       method_name: Optional[str] = None,
                       dataset_name: Optional[str] = None,
                       overwrite: bool = False,
                       show_progress: bool = True,
                       manifest: Optional[dict] = None
                       ) -> Dict[str, List[str]]:
    """Write the anomaly (and class) maps of ``images``.

    Images whose outputs are already complete (whole files of the right
    shape and dtype) are skipped unless ``overwrite``, so an interrupted run
    resumes where it stopped. Every file is written under a temporary name
    and renamed, so a killed run never leaves a truncated output.

    The run's ``manifest`` (for an :class:`AnomalyMapInferencer`, its
    :meth:`~AnomalyMapInferencer.run_manifest` by default) is checked
    against the folder's (:func:`check_run_manifest`) and written before
    the first map. With ``overwrite`` and a different or missing manifest,
    the run's existing outputs are deleted first, so that an interrupted
    ``overwrite`` run never leaves old maps under the new manifest.

    Args:
        inferencer (callable): Image path -> (anomaly float32 (H, W),
            classes uint8 (H, W)), e.g. :class:`AnomalyMapInferencer`.
        images (Sequence[str]): Image files, e.g. from :func:`find_images`.
        img_dir (str): Their root folder (for the ``'npy'`` layout).
        out_dir (str): Output folder, created if missing.
        fmt (str): ``'npy'``, ``'fishyscapes'`` or ``'smiyc'``.
        method_name (str, optional): Method name (``'smiyc'`` only).
        dataset_name (str, optional): Dataset name (``'smiyc'`` only), e.g.
            ``AnomalyTrack-all``.
        overwrite (bool): Recompute images with complete outputs too.
        show_progress (bool): Show a progress bar.
        manifest (dict, optional): See :func:`run_manifest`. Without one
            (and another inferencer) no manifest is checked or written.

    Returns:
        dict: ``written`` and ``skipped`` lists of image paths.

    Raises:
        RunManifestError: The folder holds maps made with other settings
            and ``overwrite`` is False.
    """
    from mmengine.utils import ProgressBar

    plan = plan_outputs(images, img_dir, out_dir, fmt, method_name,
                        dataset_name)
    if manifest is None and isinstance(inferencer, AnomalyMapInferencer):
        manifest = inferencer.run_manifest(fmt, method_name, dataset_name)
    if manifest is not None:
        _prepare_manifest(plan, manifest, overwrite,
                          manifest_folder(out_dir, fmt, method_name,
                                          dataset_name))
    os.makedirs(out_dir, exist_ok=True)
    written, skipped = [], []
    progress = ProgressBar(len(images)) if show_progress else None
    for img in images:
        files = plan[img]
        if not overwrite and outputs_complete(img, files):
            skipped.append(img)
        else:
            anomaly, classes = inferencer(img)
            if fmt == 'smiyc':
                save_smiyc_hdf5(files['anomaly'], anomaly)
            else:
                save_npy(files['segmentation'], classes)
                save_npy(files['anomaly'], anomaly)
            written.append(img)
        if progress is not None:
            progress.update()
    return dict(written=written, skipped=skipped)
