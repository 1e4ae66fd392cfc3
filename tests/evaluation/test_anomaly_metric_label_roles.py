"""The anomaly metric's void label against the evaluation labels (0 inlier,
1 anomaly): the one label-role check of the package, applied to the metric.
"""
import pytest

from mmseg_ood.evaluation.metrics import AnomalyMetric
from mmseg_ood.utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    IGNORE_INDEX,
    LabelRoleError,
)


@pytest.mark.parametrize('ignore_index', [ANOMALY_EVAL_INLIER,
                                          ANOMALY_EVAL_ANOMALY])
def test_the_metric_refuses_a_void_label_equal_to_an_evaluation_label(
        ignore_index):
    # it would silently ignore every inlier or every anomaly pixel
    with pytest.raises(LabelRoleError, match=(
            rf'AnomalyMetric: ignore_index={ignore_index} is one of the 2 '
            r'evaluation classes \(0 inlier, 1 anomaly\) \(0\.\.1\)')):
        AnomalyMetric(score=dict(type='EnergyScore', num_classes=19),
                      ignore_index=ignore_index)


def test_the_metric_accepts_the_void_label():
    metric = AnomalyMetric(score=dict(type='EnergyScore', num_classes=19),
                           ignore_index=IGNORE_INDEX)
    assert metric.ignore_index == IGNORE_INDEX
