"""Write the SYNTHETIC demo world (fake street scenes in real data layouts).

The command ``mmseg-ood-demo-world``, under MMSeg's script name; see
:mod:`mmseg_ood.cli.make_demo_world` for its arguments and examples.
"""
from mmseg_ood.cli.make_demo_world import main

if __name__ == '__main__':
    main()
