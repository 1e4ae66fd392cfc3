"""AnomalyDataset reads every benchmark set, processed or as released, and
fails clearly when a folder is wrong."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS

from mmseg_ood.datasets.converters import (
    convert_laf_test_no_known,
    convert_road_anomaly,
)

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def build(**cfg):
    return DATASETS.build(dict(type='AnomalyDataset', pipeline=[], **cfg))


def test_reads_pairs_of_the_processed_demo_sets(demo_world):
    fs = build(benchmark='fs_laf', data_root=demo_world['fs_laf'])
    assert len(fs) == 3
    ra = build(benchmark='road_anomaly', data_root=demo_world['road_anomaly'])
    assert len(ra) == 2
    for dataset in (fs, ra):
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            image = cv2.imread(info['img_path'])
            label = cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED)
            assert image.shape[:2] == label.shape
            assert set(np.unique(label)) <= {0, 1, 255}
    assert ra.get_data_info(0)['img_path'].endswith('.jpg')
    assert fs.metainfo['classes'] == ('inlier', 'anomaly')
    assert fs.metainfo['anomaly_set']['benchmark'] == 'fs_laf'
    assert fs.metainfo['anomaly_set']['name'] == 'Fishyscapes Lost & Found val'
    assert ra.metainfo['anomaly_set']['name'] == 'Road Anomaly'


def test_a_folder_without_benchmark_is_a_set_of_its_own(demo_world):
    dataset = build(data_root=demo_world['fs_laf'])
    assert len(dataset) == 3
    assert dataset.metainfo['anomaly_set']['benchmark'] is None
    assert dataset.metainfo['anomaly_set']['name'] == 'anomaly set'


def test_partial_benchmark_set_is_reported(demo_world, mmlog):
    build(benchmark='fs_laf', data_root=demo_world['fs_laf'])
    assert ('Fishyscapes Lost & Found val: 3 frames' in mmlog.text
            and 'the benchmark has 100' in mmlog.text)
    mmlog.messages.clear()
    build(data_root=demo_world['fs_laf'])  # no benchmark: nothing to compare
    assert 'the benchmark has' not in mmlog.text


def test_pipeline_loads_labels_at_native_resolution(demo_world):
    dataset = DATASETS.build(
        dict(
            type='AnomalyDataset',
            benchmark='road_anomaly',
            data_root=demo_world['road_anomaly'],
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(128, 64), keep_ratio=True),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')
            ]))
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape


def test_default_folder_comes_from_the_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        build(benchmark='fs_static')
    message = str(err.value)
    assert "data_root='data/fishyscapes/Static'" in message
    assert 'mmseg-ood-convert-fishyscapes static' in message


def test_missing_folder_names_the_expected_tree(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build(data_root=str(tmp_path / 'nowhere'))
    message = str(err.value)
    assert 'nowhere' in message and 'original/*.png' in message
    assert 'labels/*.png' in message


def test_missing_label_and_empty_folder(demo_world, tmp_path):
    root = tmp_path / 'fs'
    shutil.copytree(demo_world['fs_laf'], root)
    victim = sorted(os.listdir(root / 'labels'))[1]
    os.remove(root / 'labels' / victim)
    with pytest.raises(FileNotFoundError, match=f'1 of 3 images.*{victim}'):
        build(benchmark='fs_laf', data_root=str(root))
    shutil.rmtree(root / 'original')
    os.makedirs(root / 'original')
    with pytest.raises(FileNotFoundError, match=r'No \*.png image'):
        build(benchmark='fs_laf', data_root=str(root))
    # Road Anomaly frames are jpg: png frames are not taken for them.
    with pytest.raises(FileNotFoundError, match=r'No \*.jpg image'):
        build(benchmark='road_anomaly', data_root=demo_world['fs_laf'])


def test_name_version_and_set_come_from_the_record(demo_world, tmp_path):
    root = tmp_path / 'static'
    shutil.copytree(demo_world['fs_static'], root)
    (root / 'DATASET.json').write_text(
        json.dumps(dict(format='mmseg_ood.anomaly_set', key='fs_static',
                        name='FS Static val', version='v2')))
    dataset = build(data_root=str(root))
    assert dataset.metainfo['anomaly_set']['benchmark'] == 'fs_static'
    assert dataset.metainfo['anomaly_set']['name'] == 'FS Static val'
    assert dataset.metainfo['anomaly_set']['version'] == 'v2'
    with pytest.raises(ValueError, match="holds 'fs_static', but the config "
                       "asks for benchmark='fs_laf'"):
        build(benchmark='fs_laf', data_root=str(root))


@pytest.mark.parametrize('benchmark, suffix', [
    ('smiyc_anomaly', '.jpg'),
    ('smiyc_obstacle', '.webp'),
])
def test_reads_smiyc_validation_frames_as_released(demo_world, benchmark,
                                                    suffix):
    dataset = DATASETS.build(
        dict(type='AnomalyDataset', benchmark=benchmark, pipeline=PIPELINE,
             data_root=demo_world[benchmark]))
    assert dataset.layout == 'release'
    images = sorted(os.listdir(os.path.join(demo_world[benchmark],
                                            'images')))
    assert len(images) == 3  # two validation frames + one test frame
    assert len(dataset) == 2
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        name = os.path.basename(info['img_path'])
        assert name.startswith('validation') and name.endswith(suffix)
        assert info['seg_map_path'].endswith(
            name[:-len(suffix)] + '_labels_semantic.png')
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape
    label = cv2.imread(dataset.get_data_info(0)['seg_map_path'],
                       cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(), label)
    facts = dataset.metainfo['anomaly_set']
    assert facts['name'].startswith('SegmentMeIfYouCan')
    assert dataset.metainfo['anomaly_set']['benchmark'] == benchmark


def test_obstacle_track_excludes_the_benchmark_frames(demo_world, tmp_path):
    root = tmp_path / 'dataset_ObstacleTrack'
    shutil.copytree(demo_world['smiyc_obstacle'], root)
    src = root / 'images' / 'validation_1.webp'
    lab = root / 'labels_masks' / 'validation_1_labels_semantic.png'
    for n in (19, 20, 25):
        shutil.copy(src, root / 'images' / f'validation_{n}.webp')
    # validation_20 is kept and needs a label; 19 and 25 are excluded and
    # need none
    shutil.copy(lab, root / 'labels_masks' / 'validation_20_labels_semantic'
                '.png')
    dataset = build(benchmark='smiyc_obstacle', data_root=str(root))
    names = sorted(os.path.basename(dataset.get_data_info(i)['img_path'])
                   for i in range(len(dataset)))
    assert names == ['validation_1.webp', 'validation_2.webp',
                     'validation_20.webp']


def test_missing_smiyc_label_and_wrong_root(demo_world, tmp_path):
    root = tmp_path / 'dataset_AnomalyTrack'
    shutil.copytree(demo_world['smiyc_anomaly'], root)
    os.remove(root / 'labels_masks' / 'validation0001_labels_semantic.png')
    with pytest.raises(FileNotFoundError,
                       match='(?s)1 of 2 images.*validation0001_labels_'
                       'semantic.png.*labels_masks/validation0000'):
        build(benchmark='smiyc_anomaly', data_root=str(root))
    with pytest.raises(FileNotFoundError,
                       match='(?s)does not exist.*dataset_ObstacleTrack/'):
        build(benchmark='smiyc_obstacle', data_root=str(tmp_path))


def test_no_known_reads_the_converter_output(demo_world, tmp_path):
    out = str(tmp_path / 'nk')
    record = convert_laf_test_no_known(demo_world['laf'], out,
                                       show_progress=False)
    # the record names the set: no benchmark argument needed
    dataset = DATASETS.build(
        dict(type='AnomalyDataset', data_root=out, pipeline=PIPELINE))
    assert dataset.metainfo['anomaly_set']['benchmark'] == 'laf_noknown'
    assert len(dataset) == record['num_images']
    facts = dataset.metainfo['anomaly_set']
    assert facts['name'] == 'Lost & Found testNoKnown'
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape
    with pytest.raises(ValueError, match='has no such release'):
        build(benchmark='laf_noknown', layout='release', data_root=out)


def test_argument_errors(demo_world):
    with pytest.raises(KeyError, match="Unknown anomaly set 'RoadAnomaly'"):
        build(benchmark='RoadAnomaly', data_root=demo_world['smiyc_anomaly'])
    with pytest.raises(ValueError, match='layout must be one of'):
        build(benchmark='smiyc_anomaly', layout='raw',
              data_root=demo_world['smiyc_anomaly'])
    with pytest.raises(ValueError, match='needs data_root'):
        build()


# ---------------------------------------------------------------------------
# Bad files in a set: each one named before evaluation
# ---------------------------------------------------------------------------
@pytest.fixture
def fs_copy(demo_world, tmp_path):
    root = tmp_path / 'fs_laf'
    shutil.copytree(demo_world['fs_laf'], root)
    return root


def _first(folder, pattern='*.png'):
    return sorted(folder.glob(pattern))[0]


def test_a_label_without_its_image_is_an_error(fs_copy):
    image = _first(fs_copy / 'original')
    os.remove(image)
    with pytest.raises(FileNotFoundError,
                       match=f"1 label.*have no image.*{image.stem}.png"):
        build(data_root=str(fs_copy))


def test_files_in_sub_folders_are_an_error_not_frames(fs_copy):
    for folder in ('original', 'labels'):
        nested = fs_copy / folder / 'backup'
        nested.mkdir()
        shutil.copy(_first(fs_copy / folder), nested / 'old.png')
        with pytest.raises(ValueError, match=r'1 file\(s\) \*.png lie in '
                           'sub-folders.*backup/old.png'):
            build(data_root=str(fs_copy))
        shutil.rmtree(nested)
    assert len(build(data_root=str(fs_copy))) == 3


def test_images_must_be_those_of_the_record(demo_world, tmp_path):
    out = tmp_path / 'ra'
    convert_road_anomaly(demo_world['road_anomaly_raw'], str(out),
                         show_progress=False)
    assert len(build(data_root=str(out))) == 2
    record = json.loads((out / 'DATASET.json').read_text())
    record['images'] = record['images'][:1] + ['gone']
    (out / 'DATASET.json').write_text(json.dumps(record))
    with pytest.raises(FileNotFoundError,
                       match=r"lists 2 images, the folder holds 2: 1 listed "
                       r"but missing \(e.g. \['gone'\]\), 1 not listed"):
        build(data_root=str(out))


def test_a_16_bit_label_is_named_not_wrapped(fs_copy):
    label = _first(fs_copy / 'labels')
    values = cv2.imread(str(label), cv2.IMREAD_UNCHANGED).astype(np.uint16)
    values[0, 0] = 257  # MMSeg's LoadAnnotations would read 1 (anomaly)
    cv2.imwrite(str(label), values)
    with pytest.raises(ValueError, match=f'{label.name} is a 16-bit PNG'):
        build(data_root=str(fs_copy))


@pytest.mark.parametrize('folder', ['original', 'labels'])
def test_a_truncated_file_is_named(fs_copy, folder):
    path = _first(fs_copy / folder)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=f'{path}.*truncated or corrupt'):
        build(data_root=str(fs_copy))
