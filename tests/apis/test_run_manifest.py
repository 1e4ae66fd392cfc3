"""What produced an output (provenance) and when a recorded one is the same
source: content of the config and the checkpoint, not their paths."""
import hashlib
import shutil

from mmseg_ood.apis.run_manifest import (
    FINGERPRINT_BYTES,
    provenance,
    run_manifest,
    same_source,
)


def _files(tmp_path, checkpoint_bytes=b'weights' * 10):
    config = tmp_path / 'cfg.py'
    config.write_text('model = dict(type="X")\n')
    checkpoint = tmp_path / 'iter_10.pth'
    checkpoint.write_bytes(checkpoint_bytes)
    return str(config), str(checkpoint)


def test_provenance_names_the_contents(tmp_path):
    config, checkpoint = _files(tmp_path)
    made = provenance(config, checkpoint, {'a.b': (1, 2)})
    assert made['config_sha256'] == hashlib.sha256(
        b'model = dict(type="X")\n').hexdigest()
    assert made['checkpoint'] == dict(
        path=checkpoint, size=70,
        sha256_head_tail=hashlib.sha256(b'weights' * 10).hexdigest())
    assert made['cfg_options'] == {'a.b': [1, 2]}  # as JSON stores it
    # the map folders' manifest records the same fields
    manifest = run_manifest(config, checkpoint, {}, {}, {'a.b': (1, 2)})
    assert {k: manifest[k] for k in made} == made


def test_a_large_checkpoint_is_fingerprinted_by_head_and_tail(tmp_path):
    head, middle, tail = (b'h' * FINGERPRINT_BYTES, b'm' * 10,
                          b't' * FINGERPRINT_BYTES)
    _, checkpoint = _files(tmp_path, head + middle + tail)
    made = provenance(None, checkpoint)
    assert made['checkpoint']['sha256_head_tail'] == hashlib.sha256(
        head + tail).hexdigest()
    assert made['config'] is None and made['config_sha256'] is None


def test_same_source_follows_content_not_paths(tmp_path):
    config, checkpoint = _files(tmp_path)
    made = provenance(config, checkpoint)
    assert same_source(made, config, checkpoint)
    # moved files are the same source
    moved = tmp_path / 'moved'
    moved.mkdir()
    shutil.copy(config, moved / 'c.py')
    shutil.copy(checkpoint, moved / 'c.pth')
    assert same_source(made, str(moved / 'c.py'), str(moved / 'c.pth'))
    # a retrained checkpoint or an edited config under the same name is not
    with open(checkpoint, 'ab') as f:
        f.write(b'x')
    assert not same_source(made, config, checkpoint)
    made = provenance(config, checkpoint)
    with open(config, 'a') as f:
        f.write('# edited\n')
    assert not same_source(made, config, checkpoint)
    # nothing recorded (an output of an older version) is not the same
    for recorded in (None, {}, {'checkpoint': 'x.pth'}, 'text'):
        assert not same_source(recorded, config, checkpoint)


def test_a_url_checkpoint_is_its_own_identity(tmp_path):
    config, _ = _files(tmp_path)
    url = 'https://example.org/model.pth'
    made = provenance(config, url)
    assert made['checkpoint'] == dict(path=url)
    assert same_source(made, config, url)
    assert not same_source(made, config, url.replace('model', 'other'))
