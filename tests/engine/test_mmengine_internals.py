"""The one MMEngine internal that mmseg_ood relies on, checked against the
installed MMEngine: on resume, ``IterBasedTrainLoop.run`` advances its
``dataloader_iterator`` by the iterations already trained, after
``before_train_epoch`` and before the first new batch. If a release changes
that, these tests fail (and exact resume must be revisited)."""
from mmengine.runner import IterBasedTrainLoop
from torch.utils.data import DataLoader, Dataset

from mmseg_ood.engine.mmengine_internals import restore_before_fetch


class _Recorder(Dataset):
    """Index i; every fetch is recorded in ``events``."""

    def __init__(self, events):
        self.events = events

    def __len__(self):
        return 100

    def __getitem__(self, index):
        self.events.append(f'fetch {index}')
        return index


class _Visualizer:
    dataset_meta = None


class _Model:

    def __init__(self, events):
        self.events = events

    def train(self, mode=True):
        return self

    def train_step(self, data_batch, optim_wrapper=None):
        self.events.append(f'train {data_batch[0]}')
        return {}


class _Runner:
    """What IterBasedTrainLoop uses of the Runner; hooks are recorded and
    ``before_train_epoch`` schedules the restore, as RandomStateHook
    does."""

    def __init__(self, events):
        self.events = events
        self.visualizer = _Visualizer()
        self.model = _Model(events)
        self.optim_wrapper = None
        self.val_loop = None
        self.train_loop = None
        self.scheduled = None

    def call_hook(self, name, **kwargs):
        if name == 'before_train_epoch':
            loop = self.train_loop
            self.scheduled = restore_before_fetch(
                loop, loop.iter, lambda: self.events.append('restore'))


def _resumed_run(done: int, max_iters: int):
    events = []
    runner = _Runner(events)
    loader = DataLoader(_Recorder(events), batch_size=1,
                        collate_fn=lambda batch: batch)
    loop = IterBasedTrainLoop(runner, loader, max_iters=max_iters)
    runner.train_loop = loop
    original = loop.dataloader_iterator
    # what Runner.resume sets from the checkpoint's meta
    loop._iter = done
    loop.run()
    return events, runner, loop, original


def test_the_iterator_is_advanced_after_the_epoch_hook():
    events, runner, loop, original = _resumed_run(done=3, max_iters=5)
    assert runner.scheduled is True
    assert events == [
        'fetch 0', 'fetch 1', 'fetch 2',  # advanced past trained batches
        'restore',                        # right before the first new one
        'fetch 3', 'train 3', 'fetch 4', 'train 4'
    ]
    assert loop.dataloader_iterator is original


def test_a_new_run_restores_before_its_first_batch():
    events, _, loop, original = _resumed_run(done=0, max_iters=2)
    assert events == ['restore', 'fetch 0', 'train 0', 'fetch 1', 'train 1']
    assert loop.dataloader_iterator is original


def test_a_loop_without_iterator_is_left_alone():

    class EpochLoop:
        iter = 4

    loop = EpochLoop()
    assert restore_before_fetch(loop, 4, lambda: None) is False
    assert not hasattr(loop, 'dataloader_iterator')
