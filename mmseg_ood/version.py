"""Version of mmseg_ood."""

__version__ = '0.1.0'
