"""The paper's comparison on the SYNTHETIC demo world, in one command.

With the same seed and schedule it trains three models and evaluates them
on every demo anomaly set, the way the paper compares its loss:

1. a start model without outlier exposure (the stand-in for MMSeg's
   Cityscapes checkpoint), trained from scratch on the demo Cityscapes set;
2. its outlier prior, estimated with
   ``tools/analysis_tools/estimate_ood_prior.py`` (pasted objects, argmax);
3. three fine-tunings of the start model: **no outlier exposure** (scored by
   max-logit and by energy), **energy regularization** (uniform prior,
   alpha 0) and **Balanced Energy** (the estimated prior);
4. ``tools/test.py --curves`` for each, then one table
   (``<work-dir>/comparison.md`` and ``.csv``) and one precision-recall /
   ROC figure per set with all methods (``<work-dir>/curves/<set>.png``).

Every step runs the project's command-line tools, as a user would. Safe to
run again: finished steps are reused (training resumes). The numbers are a
toy result on synthetic data, not benchmark results.

Example:
    python tools/misc/compare_demo.py --work-dir work_dirs/compare_demo
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import sys
import time

import numpy as np

from mmseg_ood.visualization import plot_curves

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from run_demo import BANNER, prepare_world, run  # noqa: E402

CONFIGS = dict(
    no_oe='configs/demo/finetune_deeplabv3plus_r18-d8-half_1xb4-600_'
    'demo-world-128x256.py',
    energy='configs/demo/energy_deeplabv3plus_r18-d8-half_1xb4-600_'
    'demo-world-128x256.py',
    balanced_energy='configs/demo/balanced-energy_deeplabv3plus_r18-d8-'
    'half_1xb4-600_demo-world-128x256.py')
#: Table rows: (label, method, metric prefix inside the set's results).
ROWS = (
    ('no outlier exposure, max-logit', 'no_oe', 'max_logit'),
    ('no outlier exposure, energy', 'no_oe', 'energy'),
    ('energy regularization', 'energy', None),
    ('Balanced Energy (estimated prior)', 'balanced_energy', None),
)


def schedule(iters: int, lr: float) -> list:
    """``--cfg-options`` of a run of ``iters`` iterations at ``lr``."""
    return [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'optim_wrapper.optimizer.lr={lr}'
    ]


def checkpoint_of(work_dir: str, iters: int) -> str:
    path = osp.join(work_dir, f'iter_{iters}.pth')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} was not written; see the log above.')
    return path


def evaluate(config: str, checkpoint: str, out_dir: str) -> dict:
    """tools/test.py with curves; returns {set prefix: summary}."""
    out = osp.join(out_dir, 'anomaly_sets.json')
    if not osp.isfile(out):
        run([
            sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
            out_dir, '--out-json', out, '--curves'
        ])
    with open(out) as f:
        record = json.load(f)
    return {s['set'] + _suffix(s, record): s for s in record['sets']}


def _suffix(summary: dict, record: dict) -> str:
    """'' or '/<metric prefix>' for sets scored by several metrics."""
    names = [s['set'] for s in record['sets']]
    return f"/{summary['score']}" if names.count(summary['set']) > 1 else ''


def load_curve(eval_dir: str, name: str):
    """The stored (fps, tps) counts of one set from tools/test.py."""
    found = glob.glob(
        osp.join(eval_dir, '*', 'curves', name.replace('/', '_') + '.npz'))
    if not found:
        return None
    counts = np.load(sorted(found)[-1])
    return counts['fps'], counts['tps']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/compare_demo')
    parser.add_argument('--base-iters', type=int, default=600,
                        help='iterations of the start model (from scratch)')
    parser.add_argument('--base-lr', type=float, default=2e-3)
    parser.add_argument('--finetune-iters', type=int, default=300,
                        help='iterations of each fine-tuning')
    parser.add_argument('--finetune-lr', type=float, default=5e-4)
    parser.add_argument('--prior-samples', type=int, default=64,
                        help='pasted scenes for the prior estimate')
    args = parser.parse_args(argv)
    start = time.time()
    work = args.work_dir

    print('[1/5] demo world and COCO outlier bank (synthetic)', flush=True)
    prepare_world()

    print('[2/5] start model without outlier exposure', flush=True)
    base_dir = osp.join(work, 'base')
    run([
        sys.executable, 'tools/train.py', CONFIGS['no_oe'], '--work-dir',
        base_dir, '--resume', '--cfg-options'
    ] + schedule(args.base_iters, args.base_lr))
    base = checkpoint_of(base_dir, args.base_iters)

    print('[3/5] outlier prior of the start model', flush=True)
    prior = osp.join(work, 'outlier_prior.json')
    if not osp.isfile(prior):
        run([
            sys.executable, 'tools/analysis_tools/estimate_ood_prior.py',
            CONFIGS['balanced_energy'], base, '--out', prior,
            '--num-samples', str(args.prior_samples), '--work-dir', work
        ])

    print('[4/5] fine-tuning: no exposure, energy, Balanced Energy',
          flush=True)
    results = {}
    for method, config in CONFIGS.items():
        run_dir = osp.join(work, method)
        options = [f'load_from={base}'] + schedule(args.finetune_iters,
                                                    args.finetune_lr)
        if method == 'balanced_energy':
            options.append(f'model.decode_head.loss_decode.1.prior={prior}')
        run([
            sys.executable, 'tools/train.py', config, '--work-dir', run_dir,
            '--resume', '--cfg-options'
        ] + options)
        results[method] = evaluate(
            config, checkpoint_of(run_dir, args.finetune_iters),
            osp.join(run_dir, 'eval'))

    print('[5/5] table and curves', flush=True)
    write_report(work, results, args)
    print(f'\n(comparison finished in {time.time() - start:.0f} s)')


def write_report(work: str, results: dict, args) -> None:
    sets = [name for name in results['energy']]
    header = ['method'] + [
        f'{s} {k}' for s in sets for k in ('AUROC', 'AP', 'FPR95')
    ]
    rows = []
    for label, method, prefix in ROWS:
        row = [label]
        for name in sets:
            key = f'{name}/{prefix}' if prefix else name
            metrics = results[method][key].get('metrics', {})
            row += [metrics.get(k) for k in ('AUROC', 'AP', 'FPR95')]
        rows.append(row)

    def cell(value):
        return '-' if value is None else f'{value:.2f}'

    lines = [
        f'> {BANNER}', '',
        f'Start model: {args.base_iters} iterations without outlier '
        f'exposure; each method: {args.finetune_iters} more iterations '
        f'from it (lr {args.finetune_lr}, same seed). Score: energy (or '
        'max-logit), blurred; FPR95: first TPR >= 0.95. Values in percent.',
        '', '| method | ' + ' | '.join(
            f'{s} AP / FPR95' for s in sets) + ' |',
        '| --- |' + ' ---: |' * len(sets)
    ]
    for row in rows:
        cells = [
            f'{cell(row[1 + 3 * i + 1])} / {cell(row[1 + 3 * i + 2])}'
            for i in range(len(sets))
        ]
        lines.append(f'| {row[0]} | ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines)
    with open(osp.join(work, 'comparison.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work, 'comparison.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    print('\n' + table)
    os.makedirs(osp.join(work, 'curves'), exist_ok=True)
    for name in sets:
        curves, exact = {}, {}
        for label, method, prefix in ROWS:
            key = f'{name}/{prefix}' if prefix else name
            counts = load_curve(osp.join(work, method, 'eval'), key)
            if counts is not None:
                curves[label] = counts
                exact[label] = results[method][key].get('metrics')
        out = osp.join(work, 'curves', f'{name}.png')
        # thinned curves, legend with the exact values of the table
        plot_curves(curves, out, title=f'{name} (SYNTHETIC demo world)',
                    metrics=exact)
        print(f'curves: {out}')


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '2')
    main()
