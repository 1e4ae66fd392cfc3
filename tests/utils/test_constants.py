"""The one check of how the label values fit together."""
import pytest

from mmseg_ood.utils.constants import (
    IGNORE_INDEX,
    OUTLIER_INDEX,
    LabelRoleError,
    check_label_roles,
)


def test_the_defaults_fit_every_class_count():
    for num_classes in (1, 19, 150, 254):
        check_label_roles(OUTLIER_INDEX, IGNORE_INDEX, num_classes)
    check_label_roles(OUTLIER_INDEX, -100, 19)  # CrossEntropyLoss's default
    check_label_roles(None, None, None)  # nothing known yet


@pytest.mark.parametrize('args, match', [
    ((255, 255, 19), 'outlier_index=255 is also the ignore label'),
    ((5, 255, 19), 'outlier_index=5 is one of the 19 inlier classes'),
    ((254, 255, 255), 'outlier_index=254 is one of the 255 inlier classes'),
    ((254, 3, 19), 'ignore_index=3 is one of the 19 inlier classes'),
    ((300, 255, None), 'outlier_index=300 does not fit a label map'),
    ((-1, 255, None), 'outlier_index=-1 does not fit a label map'),
    ((True, 255, None), 'outlier_index must be an int'),
    ((254, 255, 0), 'num_classes must be >= 1'),
])
def test_overlapping_roles_are_named_with_the_fix(args, match):
    with pytest.raises(LabelRoleError, match=match) as error:
        check_label_roles(*args, where='model.decode_head.loss_decode[1]')
    assert str(error.value).startswith('model.decode_head.loss_decode[1]: ')
    assert isinstance(error.value, ValueError)  # the tools' user errors
