# Fine-tuning schedule for MMSeg's models, after the paper's: Adam lr 1e-5,
# poly 0.9 to 0 over 8k iterations (about 20 epochs of 2975 + 297 samples at
# batch 8), validation and a checkpoint every 1000 iterations, best
# checkpoint by Fishyscapes L&F AP. The paper's exact schedule (poly sized
# for 7420 iterations, 1e-8 tail) is ClampedPolyLR in balanced_energy_pebal/.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-5, weight_decay=0.0),
    clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=8000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8000, val_interval=1000)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=1000,
        save_best='fs_laf/AP',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# the recipe's total batch; `--cfg-options auto_scale_lr.enable=True`
# scales the learning rate when a run uses another total batch
auto_scale_lr = dict(enable=False, base_batch_size=8)
