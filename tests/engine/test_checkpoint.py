"""MMEngine checkpoints load under torch's weights_only default, and the
allow-list lets nothing else through."""
import io
import os
import pickle
import pickletools
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn
from torch.utils.data import Dataset

from mmseg_ood.engine.checkpoint import (
    CheckpointError,
    CheckpointMismatchError,
    check_checkpoint_readable,
    history_buffer_getattr,
    load_fitting_checkpoint,
    mmengine_checkpoint_globals,
    read_checkpoint,
)


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class _Data(Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)), labels=0)


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """A checkpoint written by MMEngine's Runner (message hub, numpy
    history, optimizer, dataset meta)."""
    work = tmp_path_factory.mktemp('runner')
    runner = Runner(
        model=_Model(), work_dir=str(work),
        train_dataloader=dict(
            dataset=_Data(), batch_size=2,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=2, by_epoch=False)),
        randomness=dict(seed=3))
    runner.train()
    return str(work / 'iter_2.pth')


def _pickled_globals(path):
    """The globals a torch checkpoint's pickle names (GLOBAL opcodes)."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith('data.pkl'))
        data = archive.read(name)
    return {
        arg.replace(' ', '.').replace('__builtin__.', 'builtins.')
        for op, arg, _ in pickletools.genops(data) if op.name == 'GLOBAL'
    }


def test_runner_checkpoints_need_the_allow_list(runner_checkpoint):
    # torch allows its own types, OrderedDict and bytes by itself
    needed = {
        g for g in _pickled_globals(runner_checkpoint) if not g.startswith(
            ('torch.', 'collections.OrderedDict', '_codecs.encode'))
    }
    # torch does not allow these by itself ...
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed
    assert 'builtins.getattr' in needed
    # ... and mmseg_ood allows exactly what is needed, by name
    allowed = {
        entry[1] if isinstance(entry, tuple) else
        f'{entry.__module__}.{entry.__qualname__}'
        for entry in mmengine_checkpoint_globals()
    }
    assert needed <= allowed, needed - allowed


def test_runner_checkpoints_load_with_weights_only(runner_checkpoint):
    checkpoint = torch.load(runner_checkpoint, map_location='cpu',
                            weights_only=True)
    assert checkpoint['meta']['seed'] == 3
    assert checkpoint['meta']['iter'] == 2
    history = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer)
    assert history.data[0].size == 2  # two iterations logged
    # MMEngine's own local loader (resume, load_from, init_model) as well
    via_mmengine = CheckpointLoader.load_checkpoint(runner_checkpoint,
                                                    map_location='cpu')
    assert via_mmengine['meta']['iter'] == 2
    # and the message hub restores from it
    hub = MessageHub.get_instance('test_checkpoint')
    hub.load_state_dict(checkpoint['message_hub'])
    assert hub.get_scalar('train/loss').data[0].size == 2


def _pickled(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


class _Call:
    """Pickles as ``function(*args)``."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize('payload', [
    _Call(getattr, HistoryBuffer, '__init__'),
    _Call(getattr, HistoryBuffer, 'update'),
    _Call(getattr, np.ndarray, 'tofile'),
    _Call(os.getcwd),
])
def test_nothing_else_is_reachable(payload):
    with pytest.raises(pickle.UnpicklingError):
        torch.load(_pickled({'x': payload}), weights_only=True)


def test_object_arrays_cannot_smuggle_globals():
    array = np.array([_Call(os.getcwd), 1], dtype=object)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(_pickled({'x': array}), weights_only=True)
    plain = torch.load(_pickled({'x': np.arange(3)}), weights_only=True)
    np.testing.assert_array_equal(plain['x'], np.arange(3))


def test_history_buffer_getattr_allows_only_the_statistics():
    assert history_buffer_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='weights_only=False'):
        history_buffer_getattr(HistoryBuffer, '__class__')
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_getattr(np, 'mean')


# ---------------------------------------------------------------------------
# Truncated checkpoints and checkpoints of another model
# ---------------------------------------------------------------------------
class _OtherModel(BaseModel):
    """Another architecture: other names and shapes."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 3)
        self.head = nn.Linear(3, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        return self.head(self.linear(inputs))


def test_a_truncated_checkpoint_is_named(runner_checkpoint, tmp_path):
    cut = tmp_path / 'iter_2.pth'
    data = open(runner_checkpoint, 'rb').read()
    cut.write_bytes(data[:len(data) // 2])
    for check in (check_checkpoint_readable, read_checkpoint):
        with pytest.raises(CheckpointError, match=f'{cut} is not a readable '
                           'checkpoint.*truncated'):
            check(str(cut))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        check_checkpoint_readable(str(tmp_path / 'nope.pth'))
    check_checkpoint_readable(runner_checkpoint)


def test_a_checkpoint_of_another_model_is_refused(runner_checkpoint):
    model = _OtherModel()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as error:
        load_fitting_checkpoint(model, runner_checkpoint,
                                allow_hint='Pass --allow-partial.')
    message = str(error.value)
    assert message.startswith(f'{runner_checkpoint} does not fit the model')
    assert "2 tensors of the model are missing from it (e.g. ['head.bias'" \
        in message
    assert 'linear.weight: (2, 2) in the checkpoint, (3, 2) in the model' \
        in message
    assert message.endswith('Pass --allow-partial.')
    assert all(torch.equal(v, before[k])
               for k, v in model.state_dict().items())  # nothing loaded


def test_a_partial_load_is_explicit_and_recorded(runner_checkpoint):
    model = _Model()
    model.extra = nn.Linear(1, 1)
    fit = load_fitting_checkpoint(model, runner_checkpoint,
                                  allow_partial=True)
    assert fit['partial'] and fit['missing'] == ['extra.bias',
                                                 'extra.weight']
    assert fit['unexpected'] == [] and fit['shape_mismatch'] == []
    saved = torch.load(runner_checkpoint)['state_dict']
    assert torch.equal(model.linear.weight, saved['linear.weight'])
    exact = load_fitting_checkpoint(_Model(), runner_checkpoint)
    assert not exact['partial'] and exact['meta']['iter'] == 2
