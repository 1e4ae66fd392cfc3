"""Prepare Lost & Found testNoKnown (SegmentMeIfYouCan) from Lost & Found.

The command ``mmseg-ood-convert-lost-and-found``, under MMSeg's script
name; see :mod:`mmseg_ood.cli.convert_lost_and_found` for its arguments and
examples.
"""
from mmseg_ood.cli.convert_lost_and_found import main

if __name__ == '__main__':
    main()
