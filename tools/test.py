"""Evaluate a checkpoint on one or several anomaly sets; one table per run.

The command ``mmseg-ood-test``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.test` for its arguments and examples.
"""
from mmseg_ood.cli.test import main

if __name__ == '__main__':
    main()
