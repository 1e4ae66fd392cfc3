"""Every console command and every tools/ script runs a cli module's main;
bad input ends as ``<command>: error: <message>``."""
import ast
import importlib
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmseg_ood.cli.common import user_errors

from ..conftest import REPO_ROOT


def _setup_commands():
    """(name, module) pairs of setup.py's COMMANDS."""
    tree = ast.parse((REPO_ROOT / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.targets[0].id == 'COMMANDS':
            return ast.literal_eval(node.value)
    raise AssertionError('setup.py has no COMMANDS')


def test_every_console_command_has_a_main():
    commands = _setup_commands()
    modules = {module for _, module in commands}
    cli_dir = REPO_ROOT / 'mmseg_ood' / 'cli'
    found = {osp.splitext(n)[0] for n in os.listdir(cli_dir)
             if n.endswith('.py')
             and n not in ('__init__.py', 'common.py', 'console.py')}
    assert modules == found
    for _, module in commands:
        main = importlib.import_module(f'mmseg_ood.cli.{module}').main
        assert callable(main)


def test_every_tools_script_runs_a_cli_main():
    # the two demo scripts orchestrate the commands; all others are them
    scripts = [
        path for path in REPO_ROOT.glob('tools/**/*.py')
        if path.name not in ('run_demo.py', 'compare_demo.py')
    ]
    assert len(scripts) == len(_setup_commands()) == 12
    for path in scripts:
        tree = ast.parse(open(path).read())
        imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
        assert [(i.module.split('.')[:2], [a.name for a in i.names])
                for i in imports] == [(['mmseg_ood', 'cli'], ['main'])], path


@pytest.mark.slow
def test_a_tools_script_runs_as_a_user_starts_it(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'), 'nope.py',
         'x.pth'], cwd=tmp_path, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(
        "mmseg-ood-test: error: Config file 'nope.py' does not exist.")


def test_user_errors_become_one_line_without_traceback():
    with pytest.raises(SystemExit) as exit_info:
        with user_errors('mmseg-ood-x'):
            raise FileNotFoundError('data/x does not exist; build it.')
    assert exit_info.value.code == \
        'mmseg-ood-x: error: data/x does not exist; build it.'
    with pytest.raises(SystemExit) as exit_info:
        with user_errors('mmseg-ood-x'):
            raise KeyError("Unknown anomaly set(s) ['a']")
    assert exit_info.value.code == \
        "mmseg-ood-x: error: Unknown anomaly set(s) ['a']"
    with pytest.raises(RuntimeError):  # not bad input: a traceback
        with user_errors('mmseg-ood-x'):
            raise RuntimeError('bug')
