"""Write per-image anomaly score maps (and class maps) of an image folder.

The command ``mmseg-ood-anomaly-maps``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.anomaly_maps` for its arguments and examples.
"""
from mmseg_ood.cli.anomaly_maps import main

if __name__ == '__main__':
    main()
