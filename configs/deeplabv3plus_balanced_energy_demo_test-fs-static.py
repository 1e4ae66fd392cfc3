# Evaluate the demo model on the demo world's Fishyscapes Static-layout set.
_base_ = './deeplabv3plus_balanced_energy_demo.py'
test_dataloader = dict(
    dataset=dict(data_root='data/demo_world/fishyscapes/Static'))
