"""The demo scripts reuse a finished step's JSON only if it was made from
the same config and checkpoint; otherwise they run the step again and
replace it (so a re-run after retraining never reports the old model)."""
import json

import pytest

from mmseg_ood.apis.run_manifest import provenance
from mmseg_ood.demo import steps


@pytest.fixture
def commands(monkeypatch):
    """The commands the steps run (nothing is run)."""
    ran = []
    monkeypatch.setattr(steps, 'run', ran.append)
    return ran


@pytest.fixture
def model(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text('x = 1\n')
    checkpoint = tmp_path / 'iter_4.pth'
    checkpoint.write_bytes(b'weights')
    return str(config), str(checkpoint)


def test_a_missing_output_is_made(commands, model, tmp_path):
    out = steps.sml_statistics(*model, str(tmp_path))
    assert out == str(tmp_path / 'sml_statistics.json')
    assert len(commands) == 1
    assert commands[0][1:3] == ['-m', 'mmseg_ood.cli.sml_statistics']
    assert '--overwrite' not in commands[0]


def test_an_output_of_the_same_model_is_reused(commands, model, tmp_path,
                                               capsys):
    out = tmp_path / 'sml_statistics.json'
    out.write_text(json.dumps(dict(mean=[1.0], provenance=provenance(
        *model))))
    steps.sml_statistics(*model, str(tmp_path))
    assert commands == []
    assert f'reusing {out}' in capsys.readouterr().out


@pytest.mark.parametrize('change', ['retrained', 'config', 'old', 'broken'])
def test_an_output_of_another_source_is_made_again(commands, model,
                                                   tmp_path, change, capsys):
    config, checkpoint = model
    out = tmp_path / 'outlier_prior.json'
    out.write_text(json.dumps(dict(prior=[1.0], provenance=provenance(
        config, checkpoint))))
    if change == 'retrained':
        with open(checkpoint, 'wb') as f:
            f.write(b'other weights')
    elif change == 'config':
        with open(config, 'a') as f:
            f.write('y = 2\n')
    elif change == 'old':  # written before outputs recorded provenance
        out.write_text(json.dumps(dict(prior=[1.0], checkpoint=checkpoint)))
    else:
        out.write_text('{"prior": [1.0')
    steps.outlier_prior(config, checkpoint, str(out), str(tmp_path), 2)
    assert len(commands) == 1
    cmd = commands[0]
    assert cmd[1:3] == ['-m', 'mmseg_ood.cli.estimate_ood_prior']
    assert cmd[-1] == '--overwrite'
    assert cmd[cmd.index('--out') + 1] == str(out)
    assert 'making it again' in capsys.readouterr().out


def test_evaluation_is_redone_for_a_new_checkpoint(commands, model,
                                                   tmp_path):
    config, checkpoint = model
    out = tmp_path / 'anomaly_sets.json'
    record = dict(sets=[dict(key='fs_laf', auroc=0.5)],
                  provenance=provenance(config, checkpoint))
    out.write_text(json.dumps(record))
    assert steps.evaluate(config, checkpoint, str(tmp_path)) == {
        'fs_laf': dict(key='fs_laf', auroc=0.5)}
    assert commands == []
    newer = tmp_path / 'iter_8.pth'
    newer.write_bytes(b'more training')
    steps.evaluate(config, str(newer), str(tmp_path), ['a=1'])
    assert commands == [steps.tool('test') + [
        config, str(newer), '--work-dir', str(tmp_path), '--out-json',
        str(out), '--curves', '--cfg-options', 'a=1', '--overwrite'
    ]]
