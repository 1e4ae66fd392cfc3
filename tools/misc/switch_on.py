"""Write a config that switches the method on in any MMSeg config.

The command ``mmseg-ood-switch-on``; see :mod:`mmseg_ood.cli.switch_on` for
its arguments and examples.
"""
from mmseg_ood.cli.switch_on import main

if __name__ == '__main__':
    main()
