"""Learning-rate schedules of the paper's recipe.

PEBAL and Balanced Energy decay the learning rate as
``lr_t = max(lr_0 * (1 - t / T) ** 0.9, 1e-8)`` with ``T`` sized for
``epochs x (2975 // 8)`` iterations, while an epoch really has
``(2975 + 297) // 8`` of them: the run continues past ``T`` at 1e-8.
MMEngine's ``PolyLR`` ends where the run ends and decays to its floor
differently (``(lr_0 - eta_min) * (...) + eta_min``), so the schedule is its
own scheduler.
"""
from mmengine.optim import _ParamScheduler
from mmseg.registry import PARAM_SCHEDULERS

__all__ = ['ClampedPolyLR']

#: ``end`` of a schedule that lasts the whole run (MMEngine's own default).
_WHOLE_RUN = int(1e9)


@PARAM_SCHEDULERS.register_module()
class ClampedPolyLR(_ParamScheduler):
    """``lr_t = max(lr_0 * (1 - t / total_iters) ** power, eta_min)``;
    ``eta_min`` from ``total_iters`` on.

    ``t`` counts the steps since ``begin`` (0 for the first iteration).

    Args:
        optimizer: The wrapped optimizer.
        total_iters (int): ``T``, where the polynomial reaches 0; may be
            shorter than the run (the paper: 7420 of 8180).
        power (float): Power of the polynomial. Default 0.9.
        eta_min (float): The floor. Default 1e-8 (the paper).
        begin (int): First step. Default 0.
        end (int): Step after the last. Default: the whole run.
        last_step (int): Last step index, for resuming. Default -1.
        by_epoch (bool): Step per epoch. Default False (per iteration).
        verbose (bool): Print each update.
    """

    def __init__(self, optimizer, total_iters: int, power: float = 0.9,
                 eta_min: float = 1e-8, begin: int = 0, end: int = _WHOLE_RUN,
                 last_step: int = -1, by_epoch: bool = False,
                 verbose: bool = False) -> None:
        if not (isinstance(total_iters, int) and total_iters > 0):
            raise ValueError(
                f'total_iters must be a positive int, got {total_iters!r}.')
        if eta_min < 0 or power <= 0:
            raise ValueError('ClampedPolyLR needs eta_min >= 0 and power > '
                             f'0; got eta_min={eta_min}, power={power}.')
        self.total_iters = total_iters
        self.power = power
        self.eta_min = eta_min
        super().__init__(optimizer, param_name='lr', begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch,
                         verbose=verbose)

    def _get_value(self):
        """The closed form at ``self.last_step``."""
        progress = min(self.last_step / self.total_iters, 1.0)
        factor = (1.0 - progress)**self.power
        return [max(base * factor, self.eta_min) for base in self.base_values]
