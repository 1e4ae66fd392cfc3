"""Stop training at the first loss that is not finite."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook', 'non_finite_terms']


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite; the message names the
    iteration and the loss terms."""


def non_finite_terms(outputs: Optional[dict]) -> dict:
    """The loss terms of a train step's outputs that are not finite.

    Args:
        outputs (dict, optional): What ``train_step`` returns (the parsed
            ``log_vars``: ``loss`` and every ``*loss*`` term).

    Returns:
        dict: Term name -> its value (NaN or +-inf), in output order.
    """
    bad = {}
    for name, value in (outputs or {}).items():
        if 'loss' not in name:
            continue
        if isinstance(value, torch.Tensor):
            if value.numel() and not torch.isfinite(value).all():
                bad[name] = float(value.detach().float().flatten()[
                    ~torch.isfinite(value.detach().float().flatten())][0])
        elif isinstance(value, (int, float)) and not math.isfinite(value):
            bad[name] = float(value)
    return bad


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` after the first iteration whose
    loss (or one of its terms) is NaN or infinite.

    Without it a diverging run logs ``loss: nan`` until validation (or the
    end of training) and saves checkpoints of NaN weights. The error names
    the iteration and every non-finite term (e.g.
    ``decode.loss_balanced_energy``), so the cause can be found: a learning
    rate too high, an empty or corrupt batch, labels out of range. It runs
    before the checkpoint hook, so the broken weights are not saved.
    ``mmseg-ood-train`` adds it to every run.
    """
    priority = 'VERY_HIGH'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        bad = non_finite_terms(outputs)
        if not bad:
            return
        terms = ', '.join(f'{name} = {value}' for name, value in bad.items())
        raise NonFiniteLossError(
            f'Training diverged at iteration {runner.iter + 1}: {terms}. '
            'The weights after this step are not usable, so the run stops '
            'here (no checkpoint of this step is saved). Lower the learning '
            'rate or the weight of that loss term, check the batch '
            '(labels outside 0..K-1, the outlier label and the ignore '
            'label), then resume from the last checkpoint: '
            'mmseg-ood-train CONFIG --resume.')
