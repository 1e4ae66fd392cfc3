"""Command-line tools, installed as console commands by ``pip install``.

=============================== =============================================
command                         what it does
=============================== =============================================
``mmseg-ood-train``             train (MMSeg's ``tools/train.py`` + more)
``mmseg-ood-test``              evaluate on anomaly sets, one table
``mmseg-ood-anomaly-maps``      submission score maps of an image folder
``mmseg-ood-prior``             outlier prior of Balanced Energy
``mmseg-ood-sml-statistics``    max-logit statistics of SML
``mmseg-ood-coco-bank``         the COCO outlier bank
``mmseg-ood-convert-fishyscapes``  FS Lost & Found / Static val sets
``mmseg-ood-convert-road-anomaly`` Road Anomaly
``mmseg-ood-convert-lost-and-found`` Lost & Found testNoKnown
``mmseg-ood-demo-world``        the SYNTHETIC demo world
=============================== =============================================

Each module holds the argument parser and ``main`` of one command; the work
is done by package functions. ``tools/`` in a source checkout holds the
same commands under MMSeg's script names. Every module also runs as
``python -m mmseg_ood.cli.<name>`` (e.g. under ``torchrun``).
"""
