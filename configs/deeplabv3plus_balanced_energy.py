# Entry point of the README: Balanced Energy on MMSeg's Cityscapes
# DeepLabV3+ R101-D8, the paper's recipe. The full set of configs, with the
# baselines and what the paper reports, is in configs/balanced_energy/.
_base_ = ('./balanced_energy/balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_'
          'cityscapes-coco-900x900.py')
