"""Build the COCO outlier bank used to paste auxiliary outliers in training.

The command ``mmseg-ood-coco-bank``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.coco_ood_bank` for its arguments and examples.
"""
from mmseg_ood.cli.coco_ood_bank import main

if __name__ == '__main__':
    main()
