"""Cost of the Balanced Energy loss in a training step.

Times one full training step (data preprocessing, forward, losses,
backward, optimizer step: MMEngine's ``model.train_step``) of the same
model on the same batch from the same seed with two loss settings:

- ``ce`` (the reference): MMSeg's plain ``CrossEntropyLoss`` on both heads;
  its labels have the outlier pixels (254) set to void (255), since a plain
  cross-entropy cannot take label 254;
- ``balanced``: ``InlierCrossEntropyLoss`` + ``BalancedEnergyLoss`` on the
  decode head, ``InlierCrossEntropyLoss`` on the auxiliary head (the
  project's configs), labels with outliers;
- ``inlier_ce`` (diagnostic, not gated): ``InlierCrossEntropyLoss`` alone.

The model is the config's (default: the demo config's DeepLabV3+ with a
half-width ResNet-18 at 128x256, batch 4); ``--config`` and ``--crop`` pick
a bigger one (e.g. ``configs/deeplabv3plus_balanced_energy.py --crop 512
1024``). The Balanced Energy prior is the paper's (its values do not
change the cost). Each variant gets ``--warmup`` untimed steps; then
``--repeats`` repetitions of ``--steps`` rounds each time one step of every
variant back to back (the order rotates per repetition), so that load
changes on a shared machine hit both sides of a ratio alike. The ratio
balanced / ce is taken per round; the report gives medians, the device and the
thread count. PASS needs a median ratio <= ``--max-ratio`` (1.05); the exit
status is 1 otherwise. ``--profile`` adds the loss alone (forward +
backward on the decode head's full-resolution logits) and the top
operators of a profiled ``balanced`` step.

Example::

    OMP_NUM_THREADS=1 python benchmarks/bench_loss_overhead.py \\
        --steps 3 --repeats 5
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict, List

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_ood  # noqa: F401,E402  (registers the losses; mmcv-lite ops)
from mmseg_ood.utils.constants import IGNORE_INDEX, OUTLIER_INDEX

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs',
                          'deeplabv3plus_balanced_energy_demo.py')
REFERENCE, GATED = 'ce', 'balanced'
NUM_CLASSES = 19


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='config whose model is timed')
    parser.add_argument('--crop', type=int, nargs=2, metavar=('H', 'W'),
                        help="crop size (default: the config's crop_size)")
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--outlier-fraction', type=float, default=0.1,
                        help='share of each label map that is outlier '
                        f'({OUTLIER_INDEX})')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda' (needs a CUDA GPU)")
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps per variant')
    parser.add_argument('--steps', type=int, default=3,
                        help='timed steps per variant and repetition')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-ratio', type=float, default=1.05)
    parser.add_argument('--profile', action='store_true',
                        help='also time the losses alone and list the top '
                        'operators of a balanced step')
    parser.add_argument('--out-json', help='also write the results here')
    return parser.parse_args()


def variant_losses(name: str):
    """(decode head losses, auxiliary head loss) of a variant."""
    if name == 'ce':
        return (dict(type='CrossEntropyLoss', loss_weight=1.0),
                dict(type='CrossEntropyLoss', loss_weight=0.4))
    if name == 'inlier_ce':
        return (dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
                dict(type='InlierCrossEntropyLoss', loss_weight=0.4))
    if name == 'balanced':
        return ([
            dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
            dict(type='BalancedEnergyLoss', prior='cityscapes_paper',
                 num_classes=NUM_CLASSES, loss_weight=0.1)
        ], dict(type='InlierCrossEntropyLoss', loss_weight=0.4))
    raise ValueError(name)


VARIANTS = ('ce', 'balanced', 'inlier_ce')


def build_model(model_cfg: dict, name: str, crop, state: dict, device):
    """The config's model with a variant's losses and the given weights."""
    cfg = copy.deepcopy(model_cfg)
    cfg['pretrained'] = None
    cfg['data_preprocessor']['size'] = tuple(crop)
    decode, aux = variant_losses(name)
    cfg['decode_head']['loss_decode'] = decode
    if cfg.get('auxiliary_head'):
        cfg['auxiliary_head']['loss_decode'] = aux
    model = revert_sync_batchnorm(MODELS.build(cfg))
    model.load_state_dict(state)
    return model.to(device).train()


def make_batch(batch_size: int, crop, outlier_fraction: float,
               seed: int) -> Dict[str, list]:
    """Images and label maps with inlier blocks, void and an outlier box."""
    gen = torch.Generator().manual_seed(seed)
    height, width = crop
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(0, 256, (3, height, width), generator=gen,
                          dtype=torch.uint8))
        blocks = torch.randint(0, NUM_CLASSES, (height // 16 + 1,
                                                width // 16 + 1),
                               generator=gen)
        label = blocks.repeat_interleave(16, 0).repeat_interleave(16, 1)
        label = label[:height, :width].clone()
        label[:height // 20] = IGNORE_INDEX  # a void band
        box_h = max(1, int(height * outlier_fraction**0.5))
        box_w = max(1, int(width * outlier_fraction**0.5))
        y0 = int(torch.randint(0, height - box_h + 1, (1, ), generator=gen))
        x0 = int(torch.randint(0, width - box_w + 1, (1, ), generator=gen))
        label[y0:y0 + box_h, x0:x0 + box_w] = OUTLIER_INDEX
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[None])
        sample.set_metainfo(
            dict(img_shape=(height, width), ori_shape=(height, width),
                 pad_shape=(height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def without_outliers(batch: Dict[str, list]) -> Dict[str, list]:
    """The batch with outlier pixels set to void (for the plain CE)."""
    batch = copy.deepcopy(batch)
    for sample in batch['data_samples']:
        label = sample.gt_sem_seg.data
        label[label == OUTLIER_INDEX] = IGNORE_INDEX
    return batch


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], None], steps: int,
               device: torch.device) -> float:
    """Seconds per call of ``step``, averaged over ``steps`` calls."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def loss_only(crop, batch_size: int, batch: dict, device) -> Dict[str, float]:
    """Forward + backward of the decode losses alone on (N, K, H, W)."""
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(batch_size, NUM_CLASSES, *crop,
                         generator=gen).to(device).requires_grad_()
    label = torch.stack([s.gt_sem_seg.data[0]
                         for s in batch['data_samples']]).to(device)
    plain = label.masked_fill(label == OUTLIER_INDEX, IGNORE_INDEX)
    results = {}
    for name in ('ce', 'balanced'):
        decode, _ = variant_losses(name)
        losses = [MODELS.build(c).to(device)
                  for c in (decode if isinstance(decode, list) else [decode])]
        target = plain if name == 'ce' else label

        def step(losses=losses, target=target):
            total = sum(loss(logits, target, ignore_index=IGNORE_INDEX)
                        for loss in losses)
            total.backward()
            logits.grad = None

        time_steps(step, 2, device)
        results[name] = statistics.median(
            time_steps(step, 5, device) for _ in range(3))
    return results


def profile_step(step: Callable[[], None], device) -> str:
    """The top operators (self time) of three profiled steps."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for _ in range(3):
            step()
        synchronize(device)
    key = ('self_cuda_time_total'
           if device.type == 'cuda' else 'self_cpu_time_total')
    return prof.key_averages().table(sort_by=key, row_limit=20)


def main() -> int:
    args = parse_args()
    if min(args.steps, args.repeats, args.batch_size) < 1 or args.warmup < 0:
        raise SystemExit('--steps, --repeats and --batch-size must be >= 1 '
                         'and --warmup >= 0.')
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA GPU is available here.')
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    crop = tuple(args.crop or cfg.get('crop_size'))
    model_cfg = cfg.model.to_dict()

    # one set of initial weights for every variant
    torch.manual_seed(args.seed)
    init = copy.deepcopy(model_cfg)
    init['pretrained'] = None
    init['decode_head']['loss_decode'] = variant_losses(REFERENCE)[0]
    state = revert_sync_batchnorm(MODELS.build(init)).state_dict()

    batch = make_batch(args.batch_size, crop, args.outlier_fraction,
                       args.seed)
    batches = {name: batch for name in VARIANTS}
    batches['ce'] = without_outliers(batch)
    lr = cfg.optim_wrapper.optimizer.get('lr', 1e-3)
    steps = {}
    for name in VARIANTS:
        model = build_model(model_cfg, name, crop, state, device)
        wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=lr))

        def step(model=model, wrapper=wrapper, data=batches[name]):
            model.train_step(data, wrapper)

        steps[name] = step

    print(f'device: {device} ({torch.get_num_threads()} threads); model '
          f'from {osp.relpath(args.config, REPO_ROOT)}; batch '
          f'{args.batch_size} x {crop[0]}x{crop[1]}; outlier fraction '
          f'{args.outlier_fraction}')
    for name in VARIANTS:
        for _ in range(args.warmup):
            steps[name]()
    times: Dict[str, List[float]] = {name: [] for name in VARIANTS}
    ratios: List[float] = []
    for rep in range(args.repeats):
        shift = rep % len(VARIANTS)
        order = VARIANTS[shift:] + VARIANTS[:shift]
        current: Dict[str, List[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.steps):
            # one step of each variant back to back: a load change on a
            # shared machine hits the variants of a pair alike
            for name in order:
                current[name].append(time_steps(steps[name], 1, device))
            ratios.append(current[GATED][-1] / current[REFERENCE][-1])
        for name in VARIANTS:
            times[name].extend(current[name])
        print(f'repetition {rep + 1}/{args.repeats}: ' + ', '.join(
            f'{n} {statistics.median(current[n]) * 1e3:.1f} ms'
            for n in VARIANTS) + '; balanced/ce ' + ' '.join(
                f'{r:.3f}' for r in ratios[-args.steps:]))

    ratio = statistics.median(ratios)
    print(f'\n{"variant":<10} {"ms/step":>9} {"ratio":>7}')
    report = dict(device=str(device), threads=torch.get_num_threads(),
                  config=args.config, crop=list(crop),
                  batch_size=args.batch_size, variants={})
    for name in VARIANTS:
        median = statistics.median(times[name])
        rel = statistics.median(
            t / r for t, r in zip(times[name], times[REFERENCE]))
        report['variants'][name] = dict(ms_per_step=median * 1e3, ratio=rel)
        print(f'{name:<10} {median * 1e3:>9.1f} {rel:>7.3f}')
    ok = ratio <= args.max_ratio
    verdict = 'PASS' if ok else 'FAIL'
    print(f'balanced / ce = {ratio:.3f} (median of {len(ratios)} '
          f'back-to-back step pairs): {verdict} (<= {args.max_ratio}) on '
          f'{device}')
    report.update(ratio=ratio, max_ratio=args.max_ratio, passed=ok)

    if args.profile:
        alone = loss_only(crop, args.batch_size, batch, device)
        extra = (alone['balanced'] - alone['ce']) * 1e3
        print(f'\nlosses alone, forward + backward on ({args.batch_size}, '
              f'{NUM_CLASSES}, {crop[0]}, {crop[1]}) logits: ' + ', '.join(
                  f'{n} {t * 1e3:.1f} ms' for n, t in alone.items()) +
              f'; balanced adds {extra:.1f} ms')
        report['loss_only_ms'] = {n: t * 1e3 for n, t in alone.items()}
        print('\ntop operators of 3 balanced steps:')
        print(profile_step(steps['balanced'], device))

    if args.out_json:
        tmp_path = args.out_json + '.tmp'
        with open(tmp_path, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=2)
        os.replace(tmp_path, args.out_json)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
