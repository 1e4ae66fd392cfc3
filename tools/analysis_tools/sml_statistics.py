"""Compute the statistics of Standardized Max Logits for a trained model.

The command ``mmseg-ood-sml-statistics``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.sml_statistics` for its arguments and examples.
"""
from mmseg_ood.cli.sml_statistics import main

if __name__ == '__main__':
    main()
