"""Keep chosen submodules in eval mode while the rest of a model trains."""
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

__all__ = [
    'EvalModeHook'
]


@HOOKS.register_module()
class EvalModeHook(Hook):
    """Keep the named submodules in eval mode during training.

    MMEngine puts the whole model in train mode before every iteration, so
    BatchNorm layers of parts that should stay fixed keep updating their
    running statistics (and dropout stays active) even when their learning
    rate is 0. This hook switches those submodules back to eval mode before
    each iteration. Together with ``lr_mult=0`` for the same parts in
    ``optim_wrapper.paramwise_cfg.custom_keys`` they are frozen entirely.

    Args:
        modules (Sequence[str]): Dotted names of submodules of the model,
            e.g. ``('decode_head.aspp_modules', 'decode_head.bottleneck')``.

    Example:
        >>> custom_hooks = [dict(type='EvalModeHook',
        ...                      modules=['decode_head.image_pool'])]
    """
    priority = 'LOW'

    def __init__(self, modules: Sequence[str]) -> None:
        if isinstance(modules, str) or not modules:
            raise ValueError('EvalModeHook needs a list of submodule names, '
                             f'got {modules!r}.')
        self.modules = tuple(modules)

    def before_train(self, runner) -> None:
        """Check that every named submodule exists."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        names = dict(model.named_modules())
        missing = [name for name in self.modules if name not in names]
        if missing:
            raise KeyError(
                f'EvalModeHook: the model has no submodule {missing}; '
                'names are dotted paths such as decode_head.bottleneck.')
        self._targets = [names[name] for name in self.modules]

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        for module in self._targets:
            module.eval()
