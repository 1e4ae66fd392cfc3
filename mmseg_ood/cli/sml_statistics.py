"""Compute the statistics of Standardized Max Logits for a trained model.

Runs the model's test-time forward over the config's training set (the
clean frames: the training pipeline's loading steps, then the test
pipeline's resize), and writes, per inlier class, the mean and standard
deviation of the max logit over the pixels predicted as that class: the
file that ``StandardizedMaxLogitScore(statistics='path.json')`` reads.

Examples:
    mmseg-ood-sml-statistics CONFIG CHECKPOINT --out work_dirs/x/sml.json
    mmseg-ood-test CONFIG CHECKPOINT --cfg-options \
        test_evaluator.score.type=StandardizedMaxLogitScore \
        test_evaluator.score.statistics=work_dirs/x/sml.json
"""
import argparse

from mmengine.dist import is_main_process

from mmseg_ood.apis import (
    estimate_sml_statistics,
    save_sml_statistics,
    sml_record,
)
from mmseg_ood.apis.run_manifest import provenance

from .common import (
    add_statistics_arguments,
    parse_runner_args,
    prepare_statistics_run,
    user_errors,
)

__all__ = ['main', 'parse_args']

PROG = 'mmseg-ood-sml-statistics'
DEFAULT_OUT = 'sml_statistics.json'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Per-class max-logit statistics of Standardized Max '
        'Logits (Jung et al., ICCV 2021)')
    add_statistics_arguments(parser, DEFAULT_OUT, 'training frames')
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    with user_errors(PROG):
        out, model, loader, num_classes, classes = prepare_statistics_run(
            args, paste=False, default_out=DEFAULT_OUT)
    stats = estimate_sml_statistics(model, loader, num_classes)
    if not is_main_process():
        return None
    record = sml_record(
        stats,
        classes,
        num_samples=len(loader.dataset),
        seed=args.seed,
        config=args.config,
        checkpoint=args.checkpoint,
        provenance=provenance(args.config, args.checkpoint,
                              args.cfg_options),
        source=f'computed by {PROG}: max logit of the pixels predicted as '
        'each class, training frames at test-time geometry')
    with user_errors(PROG):
        save_sml_statistics(record, out, overwrite=args.overwrite)
    names = classes or [str(k) for k in range(num_classes)]
    print(f'{"class":<16} {"pixels":>12} {"mean":>9} {"std":>9}')
    for name, count, mean, std in zip(names, record['count'], record['mean'],
                                      record['std']):
        cells = ('-', '-') if mean is None else (f'{mean:.3f}', f'{std:.3f}')
        print(f'{name:<16} {count:>12} {cells[0]:>9} {cells[1]:>9}')
    print(f'statistics written to {out}; use them with '
          "dict(type='StandardizedMaxLogitScore', "
          f"num_classes={num_classes}, statistics='{out}')")
    return record


if __name__ == '__main__':
    main()
