"""The official PEBAL / Balanced Energy outputs of tests/data/pebal (see its
README) and the deterministic weights they were computed with."""
import math
import zlib
from pathlib import Path

import numpy as np
import torch

FIXTURE_DIR = Path(__file__).resolve().parents[1] / 'data' / 'pebal'
#: Modules of DeepWV3Plus that MMSeg's decode head holds.
HEAD_MODULES = ('aspp', 'bot_aspp', 'bot_fine', 'final')


def golden() -> dict:
    """Arrays of pebal_golden.npz."""
    with np.load(FIXTURE_DIR / 'pebal_golden.npz') as data:
        return {k: data[k] for k in data.files}


def official_keys() -> dict:
    """``<name>`` -> shape of the 268 tensors (``branch1.`` removed)."""
    shapes = {}
    for line in (FIXTURE_DIR / 'pebal_state_dict_keys.txt').read_text(
    ).splitlines():
        key, shape = line.split('\t')
        numbers = shape.strip('()').replace(' ', '').split(',')
        shapes[key[len('branch1.'):]] = tuple(int(n) for n in numbers if n)
    return shapes


def deterministic_weight(name: str, shape: tuple) -> torch.Tensor:
    """The fixture README's weight of one tensor."""
    if name.endswith('num_batches_tracked'):
        return torch.zeros(shape, dtype=torch.int64)
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    tensor = torch.empty(shape)
    if len(shape) == 4:
        return tensor.normal_(0, (1 / math.prod(shape[1:]))**0.5,
                              generator=gen)
    if name.endswith('running_var') or name.endswith('.weight'):
        return tensor.uniform_(0.5, 1.5, generator=gen)
    return tensor.normal_(0, 0.1, generator=gen)


def mmseg_name(name: str) -> str:
    """``backbone.<name>`` or ``decode_head.<name>``."""
    group = 'decode_head' if name.split('.')[0] in HEAD_MODULES \
        else 'backbone'
    return f'{group}.{name}'
