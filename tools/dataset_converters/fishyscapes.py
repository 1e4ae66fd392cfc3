"""Prepare the Fishyscapes validation sets from their public releases.

The command ``mmseg-ood-convert-fishyscapes``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.convert_fishyscapes` for its arguments and examples.
"""
from mmseg_ood.cli.convert_fishyscapes import main

if __name__ == '__main__':
    main()
