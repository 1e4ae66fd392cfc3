"""Install mmseg_ood: ``pip install -e .`` (tested stack: see README)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))

#: Console commands: mmseg-ood-<name> runs mmseg_ood.cli.<module>:main.
COMMANDS = (
    ('train', 'train'),
    ('test', 'test'),
    ('anomaly-maps', 'anomaly_maps'),
    ('prior', 'estimate_ood_prior'),
    ('sml-statistics', 'sml_statistics'),
    ('coco-bank', 'coco_ood_bank'),
    ('convert-fishyscapes', 'convert_fishyscapes'),
    ('convert-road-anomaly', 'convert_road_anomaly'),
    ('convert-lost-and-found', 'convert_lost_and_found'),
    ('demo-world', 'make_demo_world'),
    ('pebal2mmseg', 'pebal2mmseg'),
    ('switch-on', 'switch_on'),
)


def read_requirements(name):
    """Requirement lines of requirements/<name>, without comments."""
    with open(osp.join(HERE, 'requirements', name), encoding='utf-8') as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def read_readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def read_version():
    scope = {}
    path = osp.join(HERE, 'mmseg_ood', 'version.py')
    with open(path, encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmseg_ood',
    version=read_version(),
    description='Balanced Energy regularization and anomaly segmentation '
    'for MMSegmentation 1.x',
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['mmseg_ood', 'mmseg_ood.*']),
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'cpu': read_requirements('cpu.txt'),
    },
    entry_points={
        'console_scripts': [
            f'mmseg-ood-{name}=mmseg_ood.cli.console:{module}'
            for name, module in COMMANDS
        ],
    },
)
