"""Entry points of the ``mmseg-ood-*`` console commands.

``mmseg-ood-test`` runs ``mmseg_ood.cli.console:test``: the ``main`` of
:mod:`mmseg_ood.cli.test`, with its return value (metrics, records, kept for
callers in Python) dropped, so that the command exits with status 0 on
success instead of printing the value and exiting with 1.
"""
import importlib
from typing import Callable


def __getattr__(module: str) -> Callable[[], None]:
    if module.startswith('__'):  # e.g. __path__, probed by the import system
        raise AttributeError(module)
    main = importlib.import_module(f'mmseg_ood.cli.{module}').main

    def run() -> None:
        main()

    run.__doc__ = main.__doc__
    return run
