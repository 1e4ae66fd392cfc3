# Evaluate the demo model on the demo world's Road Anomaly-layout set (jpg).
_base_ = './deeplabv3plus_balanced_energy_demo.py'
test_dataloader = dict(
    dataset=dict(
        type='RoadAnomalyDataset', data_root='data/demo_world/road_anomaly'))
