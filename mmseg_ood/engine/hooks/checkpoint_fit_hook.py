"""Refuse a checkpoint that does not fit the model (test runs)."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..checkpoint import check_checkpoint_fit

__all__ = ['CHECKPOINT_FIT_INFO', 'CheckpointFitHook']

#: Key of the fit record in the runner's message hub (``get_info``).
CHECKPOINT_FIT_INFO = 'checkpoint_fit'


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stop before evaluation when ``load_from`` does not fit the model.

    MMEngine loads the tensors of a checkpoint that fit the model and only
    logs the others, so a checkpoint of another architecture (or another
    number of classes) would be evaluated with partly random weights and
    give a full table of meaningless numbers. This hook compares the
    checkpoint with the model right after it is read and raises
    :class:`~mmseg_ood.engine.checkpoint.CheckpointMismatchError`, naming
    the file and the tensors. With ``allow_partial=True`` it lets the load
    go on and records the mismatch in the message hub
    (:data:`CHECKPOINT_FIT_INFO`), which ``mmseg-ood-test`` writes into its
    results. ``mmseg-ood-test`` adds it to every run.

    Args:
        checkpoint (str, optional): The checkpoint file, for the message.
        allow_partial (bool): Allow a checkpoint that fits only partly.
    """
    priority = 'VERY_HIGH'

    def __init__(self, checkpoint: Optional[str] = None,
                 allow_partial: bool = False) -> None:
        self.checkpoint = checkpoint
        self.allow_partial = allow_partial
        self.fit: Optional[dict] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        source = self.checkpoint or str(
            getattr(runner, '_load_from', None) or 'the checkpoint')
        self.fit = check_checkpoint_fit(
            model, checkpoint, source, self.allow_partial,
            allow_hint='To evaluate it anyway with the tensors that fit '
            '(the others keep their initial values), pass '
            '--allow-partial-checkpoint; the results then record it.')
        runner.message_hub.update_info(CHECKPOINT_FIT_INFO, self.fit)
