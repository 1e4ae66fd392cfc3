"""The paper's comparison on the SYNTHETIC demo world, in one command.

With the same seed and schedule it trains three models and evaluates them
on every demo anomaly set, the way the paper compares its loss:

1. a start model without outlier exposure (the stand-in for MMSeg's
   Cityscapes checkpoint), trained from scratch on the demo Cityscapes set;
2. its outlier prior, estimated with ``mmseg-ood-prior`` (pasted objects,
   argmax);
3. three fine-tunings of the start model: **no outlier exposure** (scored
   by max-logit, by energy and by Standardized Max Logits), **energy
   regularization** (uniform prior, alpha 0) and **Balanced Energy** (the
   estimated prior);
4. ``mmseg-ood-test --curves`` for each (after ``mmseg-ood-sml-statistics``),
   then one table (``<work-dir>/comparison.md`` and ``.csv``) and one
   precision-recall / ROC figure per set with all rows
   (``<work-dir>/curves/<set>.png``).

Every step runs the project's command-line tools, as a user would. Safe to
run again: finished steps are reused (training resumes). The numbers are a
toy result on synthetic data, not benchmark results.

Example:
    python tools/misc/compare_demo.py --work-dir work_dirs/compare_demo
"""
import argparse
import os
import os.path as osp
import time

from mmseg_ood.demo.report import write_comparison
from mmseg_ood.demo.steps import (
    checkpoint_of,
    evaluate,
    outlier_prior,
    prepare_world,
    sml_statistics,
    train,
)

CONFIGS = dict(
    no_oe='configs/demo/finetune_deeplabv3plus_r18-d8-half_1xb4-600_'
    'demo-world-128x256.py',
    energy='configs/demo/energy_deeplabv3plus_r18-d8-half_1xb4-600_'
    'demo-world-128x256.py',
    balanced_energy='configs/demo/balanced-energy_deeplabv3plus_r18-d8-'
    'half_1xb4-600_demo-world-128x256.py')
#: Index of the SML metric in each config's test_evaluator.
SML_METRIC = dict(no_oe=2, energy=1, balanced_energy=1)


def schedule(iters: int, lr: float) -> list:
    """``--cfg-options`` of a run of ``iters`` iterations at ``lr``."""
    return [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'optim_wrapper.optimizer.lr={lr}'
    ]


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
    train(CONFIGS['no_oe'], base_dir, schedule(args.base_iters,
                                               args.base_lr))
    base = checkpoint_of(base_dir, args.base_iters)

    print('[3/5] outlier prior of the start model', flush=True)
    prior = outlier_prior(CONFIGS['balanced_energy'], base,
                          osp.join(work, 'outlier_prior.json'), work,
                          args.prior_samples)

    print('[4/5] fine-tuning: no exposure, energy, Balanced Energy',
          flush=True)
    results = {}
    for method, config in CONFIGS.items():
        run_dir = osp.join(work, method)
        options = [f'load_from={base}'] + schedule(args.finetune_iters,
                                                    args.finetune_lr)
        if method == 'balanced_energy':
            options.append(f'model.decode_head.loss_decode.1.prior={prior}')
        train(config, run_dir, options)
        checkpoint = checkpoint_of(run_dir, args.finetune_iters)
        statistics = sml_statistics(config, checkpoint, run_dir)
        results[method] = evaluate(
            config, checkpoint, osp.join(run_dir, 'eval'), [
                f'test_evaluator.{SML_METRIC[method]}.score.statistics='
                f'{statistics}'
            ])

    print('[5/5] table and curves', flush=True)
    note = (f'Start model: {args.base_iters} iterations without outlier '
            f'exposure; each method: {args.finetune_iters} more iterations '
            f'from it (lr {args.finetune_lr}, same seed). Scores blurred: '
            'energy, max-logit, Standardized Max Logits (SML); FPR95: '
            'first TPR >= 0.95. Values in percent.')
    print('\n' + write_comparison(work, results, note))
    print(f'\n(comparison finished in {time.time() - start:.0f} s)')


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', '2')
    main()
