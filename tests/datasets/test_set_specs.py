"""The table of benchmark sets against the benchmarks' published facts."""
import numpy as np
import pytest

from mmseg_ood.datasets.converters import LabelValueError
from mmseg_ood.datasets.set_specs import (
    ANOMALY_SETS,
    SMIYC_TRACKS,
    get_set_spec,
)


def test_every_set_and_its_published_size():
    # sizes: Fishyscapes (bdl-benchmark), Road Anomaly (Lis et al.),
    # SegmentMeIfYouCan (road-anomaly-benchmark, tracks.py)
    assert {key: spec.num_images for key, spec in ANOMALY_SETS.items()} == {
        'fs_laf': 100, 'fs_static': 30, 'road_anomaly': 60,
        'smiyc_anomaly': 10, 'smiyc_obstacle': 30, 'laf_noknown': 1043}
    for key, spec in ANOMALY_SETS.items():
        assert spec.key == key
        assert spec.data_root.startswith('data/')
        # every set is either read as released or built by a converter
        assert (spec.release is None) != (spec.converter is None), key


def test_component_tracks_of_segmentmeifyoucan():
    assert (SMIYC_TRACKS['anomaly'].min_pred_size,
            SMIYC_TRACKS['anomaly'].min_gt_size) == (500, 100)
    assert (SMIYC_TRACKS['obstacle'].min_pred_size,
            SMIYC_TRACKS['obstacle'].min_gt_size) == (50, 10)
    tracks = {key: spec.track for key, spec in ANOMALY_SETS.items()}
    assert tracks == {'fs_laf': None, 'fs_static': None,
                      'road_anomaly': None, 'smiyc_anomaly': 'anomaly',
                      'smiyc_obstacle': 'obstacle',
                      'laf_noknown': 'obstacle'}
    assert get_set_spec('laf_noknown').component_track is \
        SMIYC_TRACKS['obstacle']


def test_obstacle_validation_frames_are_selected_as_the_benchmark_does():
    release = get_set_spec('smiyc_obstacle').release
    kept = [n for n in [f'validation_{i}' for i in range(1, 41)]
            if release.selects(n)]
    # validation_19 and validation_21 ... validation_29 are left out
    assert len(kept) == 30
    assert 'validation_19' not in kept and 'validation_20' in kept
    assert not any(f'validation_{i}' in kept for i in range(21, 30))
    assert not release.selects('test_1')
    anomaly = get_set_spec('smiyc_anomaly').release
    assert anomaly.selects('validation0003')
    assert not anomaly.selects('validation_3')


@pytest.mark.parametrize('key, raw, expected', [
    ('fs_laf', [0, 1, 255], [0, 1, 255]),
    ('road_anomaly', [0, 1, 2, 255], [0, 0, 1, 255]),
    ('laf_noknown', [0, 1, 2, 100, 200, 201, 255], [255, 0, 1, 1, 1, 255,
                                                    255]),
])
def test_label_mappings_by_hand(key, raw, expected):
    mapped = get_set_spec(key).labels.apply(np.array([raw], np.uint8), 'f')
    assert mapped.dtype == np.uint8
    assert mapped.tolist() == [expected]


def test_unknown_raw_values_and_keys_are_errors():
    with pytest.raises(LabelValueError, match=r'x.png holds label values '
                       r'\[7\]'):
        get_set_spec('fs_static').labels.apply(np.array([0, 7]), 'x.png')
    with pytest.raises(KeyError, match="Unknown anomaly set 'fs'"):
        get_set_spec('fs')
    assert [v.name for v in get_set_spec('fs_static').versions] == [
        'v1', 'v2', 'v3']
