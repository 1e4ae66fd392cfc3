"""Convert NVIDIA's, PEBAL's and Balanced Energy's checkpoints to MMSeg.

Layouts read (the same 268 tensors ``<name>`` of DeepWV3Plus in each):

* NVIDIA ``cityscapes_best.pth``: ``{'state_dict': {'module.<name>': ...},
  'optimizer', 'epoch', 'mean_iu', 'command'}`` with a 19-row classifier
  ``final.6`` and an extra ``module.criterion.nll_loss.weight`` (dropped).
  The classifier is widened to 20 rows as PEBAL does: rows 0..18 copied,
  row 19 Kaiming-normal (std sqrt(2 / 256)) from a seeded generator.
* PEBAL ``best_ad_ckpt.pth`` and Balanced Energy ``6707_best_real.pth``:
  ``{'model': {'branch1.<name>': ...}, 'optimizer', 'epoch',
  'iteration'}``, or the bare ``{'branch1.<name>': ...}``; 20 rows.

Output: an MMEngine checkpoint ``{'meta': ..., 'state_dict': ...}`` with
``backbone.<name>`` (the WiderResNet trunk) and ``decode_head.<name>``
(``aspp``, ``bot_aspp``, ``bot_fine``, ``final``), which
``AbstentionEncoderDecoder`` with ``WiderResNetA2`` and
``DeepWV3PlusHead(num_classes=20)`` loads with ``strict=True``.

Files are read with ``torch.load(weights_only=True)``; importing mmseg_ood
allows numpy scalars (NVIDIA's ``mean_iu``) there. A file that still holds
other objects is refused unless the caller trusts it (``trusted=True``).
"""
import math
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Dict, Tuple

import torch
from torch import Tensor

from ..models.backbones import WiderResNetA2
from ..models.decode_heads import DeepWV3PlusHead
from ..utils.file_io import atomic_output
from ..version import __version__

__all__ = [
    'PEBAL_NUM_CHANNELS', 'convert_pebal_checkpoint', 'expected_shapes',
    'read_pebal_state_dict', 'to_mmseg_state_dict', 'widen_classifier'
]

#: Output channels of PEBAL's head: 19 classes + the abstention channel.
PEBAL_NUM_CHANNELS = 20
#: Top-level modules of DeepWV3Plus that belong to the decode head.
HEAD_MODULES = ('aspp', 'bot_aspp', 'bot_fine', 'final')
#: The classifier whose rows are the output channels.
CLASSIFIER = 'final.6.weight'
#: Prefixes of the layouts.
NVIDIA_PREFIX = 'module.'
PEBAL_PREFIX = 'branch1.'
#: NVIDIA's loss weights, stored in its checkpoint.
NVIDIA_EXTRA_PREFIX = 'criterion.'


def expected_shapes(num_channels: int = PEBAL_NUM_CHANNELS
                    ) -> Dict[str, Tuple[int, ...]]:
    """Names and shapes of the converted state dict (built on the meta
    device: no memory, no weights)."""
    with torch.device('meta'):
        backbone = WiderResNetA2()
        head = DeepWV3PlusHead(num_classes=num_channels)
    shapes = {}
    for prefix, module in (('backbone.', backbone), ('decode_head.', head)):
        for name, tensor in module.state_dict().items():
            shapes[prefix + name] = tuple(tensor.shape)
    return shapes


def _load(path: str, trusted: bool):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path!r} does not exist.')
    try:
        return torch.load(path, map_location='cpu', weights_only=not trusted)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f'{path}: torch.load(weights_only=True) refused the file: '
            f'{str(error).splitlines()[0]} If you trust the file (it '
            'executes code while loading), pass --trusted.') from error
    except (RuntimeError, EOFError, OSError) as error:
        raise ValueError(f'{path}: not a readable PyTorch checkpoint '
                         f'({error}). Is the download complete?') from error


def _describe(obj) -> str:
    if isinstance(obj, dict):
        keys = [str(k) for k in list(obj)[:5]]
        return f'a dict with {len(obj)} keys, first {keys}'
    return f'a {type(obj).__name__}'


def read_pebal_state_dict(path: str, trusted: bool = False
                          ) -> Tuple[str, Dict[str, Tensor], int]:
    """Read a checkpoint of one of the three layouts.

    Args:
        path (str): The checkpoint file.
        trusted (bool): Load with ``weights_only=False`` (runs the pickle's
            code; only for files you trust).

    Returns:
        tuple[str, dict, int]: The layout (``'nvidia'`` or ``'pebal'``), the
        state dict with the prefixes removed (NVIDIA's ``criterion.*``
        dropped) and the number of tensors in the file's state dict.

    Raises:
        ValueError: For any other content, saying what was found.
    """
    obj = _load(path, trusted)
    layout, state = None, None
    if isinstance(obj, dict):
        if isinstance(obj.get('state_dict'), dict) and all(
                str(k).startswith(NVIDIA_PREFIX) for k in obj['state_dict']):
            layout, state, prefix = 'nvidia', obj['state_dict'], NVIDIA_PREFIX
        elif isinstance(obj.get('model'), dict):
            layout, state, prefix = 'pebal', obj['model'], PEBAL_PREFIX
        elif obj and all(str(k).startswith(PEBAL_PREFIX) for k in obj):
            layout, state, prefix = 'pebal', obj, PEBAL_PREFIX
    if layout is None:
        hint = ''
        if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict) \
                and any(str(k).startswith('backbone.')
                        for k in obj['state_dict']):
            hint = ' It looks like an MMSeg checkpoint already: use it as is.'
        raise ValueError(
            f'{path}: found {_describe(obj)}; expected NVIDIA\'s '
            "cityscapes_best.pth ({'state_dict': {'module.<name>': ...}}), "
            "a PEBAL / Balanced Energy checkpoint ({'model': "
            "{'branch1.<name>': ...}}) or a bare {'branch1.<name>': ...} "
            f'state dict.{hint}')
    wrong = [k for k in state if not str(k).startswith(prefix)]
    if wrong:
        raise ValueError(f'{path}: the {layout} layout has keys '
                         f'{prefix}<name>, but {len(wrong)} keys do not, '
                         f'e.g. {wrong[:3]}.')
    names = OrderedDict()
    for key, value in state.items():
        name = key[len(prefix):]
        if layout == 'nvidia' and name.startswith(NVIDIA_EXTRA_PREFIX):
            continue
        if not isinstance(value, Tensor):
            raise ValueError(f'{path}: {key} is a {type(value).__name__}, '
                             'not a tensor.')
        names[name] = value
    return layout, names, len(state)


def widen_classifier(weight: Tensor, rows: int, seed: int) -> Tensor:
    """Append Kaiming-normal rows to a 1x1 classifier, as PEBAL does.

    Args:
        weight (Tensor): ``(C, in, 1, 1)``.
        rows (int): Rows wanted (> C).
        seed (int): Seed of the new rows' generator.

    Returns:
        Tensor: ``(rows, in, 1, 1)``: the old rows, then the new ones drawn
        from N(0, 2 / fan_in).
    """
    extra = rows - weight.shape[0]
    fan_in = math.prod(weight.shape[1:])
    generator = torch.Generator().manual_seed(seed)
    new = torch.empty((extra, ) + tuple(weight.shape[1:]),
                      dtype=weight.dtype).normal_(
                          0, math.sqrt(2 / fan_in), generator=generator)
    return torch.cat([weight, new])


def to_mmseg_state_dict(state: Dict[str, Tensor], layout: str, seed: int = 0,
                        source: str = 'the checkpoint') -> 'OrderedDict':
    """Rename (and for NVIDIA's layout widen) a DeepWV3Plus state dict.

    Args:
        state (dict): Names without prefix, as
            :func:`read_pebal_state_dict` returns them.
        layout (str): ``'nvidia'`` (19-row classifier, widened to 20) or
            ``'pebal'`` (20 rows).
        seed (int): Seed of the abstention row for ``'nvidia'``.
        source (str): Named in errors.

    Returns:
        OrderedDict: ``backbone.*`` and ``decode_head.*`` tensors that match
        :func:`expected_shapes` exactly.

    Raises:
        ValueError: On missing, unexpected or misshapen tensors.
    """
    state = OrderedDict(state)
    if layout == 'nvidia' and CLASSIFIER in state and \
            state[CLASSIFIER].shape[0] < PEBAL_NUM_CHANNELS:
        state[CLASSIFIER] = widen_classifier(state[CLASSIFIER],
                                             PEBAL_NUM_CHANNELS, seed)
    converted = OrderedDict()
    for name, tensor in state.items():
        group = 'decode_head.' if name.split('.')[0] in HEAD_MODULES \
            else 'backbone.'
        converted[group + name] = tensor
    expected = expected_shapes()
    missing = [k for k in expected if k not in converted]
    unexpected = [k for k in converted if k not in expected]
    wrong = [f'{k}: {tuple(converted[k].shape)} instead of {shape}'
             for k, shape in expected.items()
             if k in converted and tuple(converted[k].shape) != shape]
    if missing or unexpected or wrong:
        raise ValueError(
            f'{source} does not hold DeepWV3Plus (WiderResNet-38 A2 '
            f'DeepLabV3+): {len(missing)} missing tensors {missing[:3]}, '
            f'{len(unexpected)} unexpected {unexpected[:3]}, {len(wrong)} '
            f'of another shape {wrong[:3]}.')
    return converted


def convert_pebal_checkpoint(src: str, dst: str, seed: int = 0,
                             trusted: bool = False) -> dict:
    """Convert ``src`` and write the MMEngine checkpoint ``dst``.

    Args:
        src (str): NVIDIA, PEBAL or Balanced Energy checkpoint.
        dst (str): Output file; must not exist.
        seed (int): Seed of the widened row (NVIDIA layout only).
        trusted (bool): See :func:`read_pebal_state_dict`.

    Returns:
        dict: What was done: ``layout``, ``num_read`` (tensors in the file's
        state dict), ``num_dropped``, ``num_written``, ``widened`` (the
        classifier got the abstention row).
    """
    if osp.exists(dst):
        raise FileExistsError(f'{dst} exists; choose another output file or '
                              'remove it first.')
    layout, state, num_read = read_pebal_state_dict(src, trusted)
    converted = to_mmseg_state_dict(state, layout, seed, source=src)
    meta = dict(
        converted_from=osp.basename(src), layout=layout,
        converter=f'mmseg_ood {__version__} pebal2mmseg',
        abstention_row_seed=seed if layout == 'nvidia' else None)
    with atomic_output(dst) as tmp:
        torch.save(dict(meta=meta, state_dict=converted), tmp)
    return dict(layout=layout, num_read=num_read,
                num_dropped=num_read - len(state),
                num_written=len(converted), widened=layout == 'nvidia')
