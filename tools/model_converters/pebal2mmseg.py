"""Convert NVIDIA / PEBAL / Balanced Energy checkpoints to MMSeg.

The command ``mmseg-ood-pebal2mmseg``, under MMSeg's converter naming; see
:mod:`mmseg_ood.cli.pebal2mmseg` for its arguments and examples.
"""
from mmseg_ood.cli.pebal2mmseg import main

if __name__ == '__main__':
    main()
