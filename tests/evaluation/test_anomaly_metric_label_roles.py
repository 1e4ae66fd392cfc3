"""The anomaly metric's void label against the evaluation labels (0 inlier,
1 anomaly): the one label-role check of the package, applied to the metric.

Blocked: the call belongs in ``AnomalyMetric.__init__``
(``mmseg_ood/evaluation/metrics/anomaly_metric.py``, owned by the metrics
work): ``check_label_roles(None, ignore_index, 2, where='AnomalyMetric')``.
The marker is strict, so this test fails (XPASS) once the call is there and
the marker can go.
"""
import pytest

from mmseg_ood.evaluation.metrics import AnomalyMetric
from mmseg_ood.utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    LabelRoleError,
    check_label_roles,
)


def test_the_check_names_a_void_label_equal_to_the_anomaly_label():
    with pytest.raises(LabelRoleError, match='AnomalyMetric: ignore_index=1 '
                       'is one of the 2 inlier classes'):
        check_label_roles(None, ANOMALY_EVAL_ANOMALY, 2, where='AnomalyMetric')


@pytest.mark.xfail(strict=True, reason='needs change in mmseg_ood/evaluation/'
                   'metrics/anomaly_metric.py (owned by the metrics work)')
def test_the_metric_refuses_ignore_index_1():
    # today every anomaly pixel is silently ignored
    with pytest.raises(LabelRoleError):
        AnomalyMetric(score=dict(type='EnergyScore', num_classes=19),
                      ignore_index=ANOMALY_EVAL_ANOMALY)
