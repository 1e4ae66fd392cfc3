"""Prepare Road Anomaly (Lis et al., ICCV 2019) from its public release.

The command ``mmseg-ood-convert-road-anomaly``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.convert_road_anomaly` for its arguments and examples.
"""
from mmseg_ood.cli.convert_road_anomaly import main

if __name__ == '__main__':
    main()
