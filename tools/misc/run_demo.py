"""The README's demo: generate, convert, train, evaluate on SYNTHETIC data.

Runs, from the repository root, the same commands a user runs on real data:

1. ``mmseg-ood-demo-world`` writes the synthetic demo world;
2. ``mmseg-ood-coco-bank`` builds its COCO outlier bank;
3. ``mmseg-ood-train`` trains the demo DeepLabV3+ with Balanced Energy;
4. ``mmseg-ood-sml-statistics`` computes the statistics of the Standardized
   Max Logits baseline for the trained model;
5. ``mmseg-ood-test`` evaluates it on every demo anomaly set in one run,
   with the energy score and with SML;

then prints one table and writes it to ``<work-dir>/anomaly_table.md``.
Safe to run again: the world and bank are reused, training resumes from
(or stops at) the last checkpoint, and finished steps are kept.
"""
import argparse
import os
import os.path as osp
import time

from mmseg_ood.demo.report import demo_table
from mmseg_ood.demo.steps import (
    checkpoint_of,
    evaluate,
    prepare_world,
    sml_statistics,
    train,
)

TRAIN_CONFIG = 'configs/deeplabv3plus_balanced_energy_demo.py'
#: Index of the SML metric in the demo config's test_evaluator.
SML_METRIC = 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    args = parser.parse_args(argv)
    start = time.time()

    print('[1-2/5] demo world (synthetic) and COCO outlier bank', flush=True)
    prepare_world()
    print('[3/5] training', flush=True)
    train(TRAIN_CONFIG, args.work_dir)
    checkpoint = checkpoint_of(args.work_dir)
    print('[4/5] SML statistics of the trained model', flush=True)
    statistics = sml_statistics(TRAIN_CONFIG, checkpoint, args.work_dir)
    print('[5/5] evaluation', flush=True)
    results = evaluate(
        TRAIN_CONFIG, checkpoint, osp.join(args.work_dir, 'eval'),
        [f'test_evaluator.{SML_METRIC}.score.statistics={statistics}'])
    table = demo_table(results, f'{TRAIN_CONFIG} ({checkpoint})')
    with open(osp.join(args.work_dir, 'anomaly_table.md'), 'w') as f:
        f.write(table + '\n')
    print('\n' + table)
    print(f'\n(demo finished in {time.time() - start:.0f} s; table in '
          f'{osp.join(args.work_dir, "anomaly_table.md")})')


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '2')
    main()
