"""Estimate the outlier class prior of Balanced Energy with a trained model.

The command ``mmseg-ood-prior``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.estimate_ood_prior` for its arguments and examples.
"""
from mmseg_ood.cli.estimate_ood_prior import main

if __name__ == '__main__':
    main()
