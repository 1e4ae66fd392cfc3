# SYNTHETIC demo world, Balanced Energy: the README's demo config under its
# MMSeg-style name (configs/deeplabv3plus_balanced_energy_demo.py).
_base_ = '../deeplabv3plus_balanced_energy_demo.py'
