# Entry point of the README: Balanced Energy on MMSeg's Cityscapes
# DeepLabV3+ R101-D8 (the method on MMSeg's model). The full set of configs,
# with the baselines, is in configs/balanced_energy/; the paper's own model
# and objective (WRN-38 DeepLabV3+, abstention loss) in
# configs/balanced_energy_pebal/.
_base_ = ('./balanced_energy/balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_'
          'cityscapes-coco-900x900.py')
