# SYNTHETIC demo world, energy regularization baseline (uniform prior,
# alpha 0) with the same pasted outliers as the Balanced Energy demo.
_base_ = '../deeplabv3plus_balanced_energy_demo.py'
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
        dict(type='EnergyLoss', num_classes=19, loss_weight=0.1),
    ]))
