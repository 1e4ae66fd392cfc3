"""Train a segmentor with MMSeg semantics, plus what mmseg_ood needs.

The command ``mmseg-ood-train``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.train` for its arguments and examples.
"""
from mmseg_ood.cli.train import main

if __name__ == '__main__':
    main()
