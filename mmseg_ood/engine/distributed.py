"""Make MMSeg configs run distributed on machines without CUDA.

MMEngine's distributed path assumes GPUs: ``init_dist`` calls
``torch.cuda.set_device``, DDP is given ``device_ids=[LOCAL_RANK]`` and
SyncBN needs CUDA. On a CPU-only machine :func:`setup_cpu_distributed`
creates a gloo process group before the Runner is built (the Runner then
skips ``init_dist``), wraps the model without device ids and turns SyncBN
into BN, so a GPU config runs under ``torchrun`` unedited.
"""
import torch
import torch.distributed as dist
from mmengine.config import Config

from ..utils.config_walk import is_type, resolve_type

__all__ = [
    'replace_sync_bn', 'setup_cpu_distributed', 'sync_bn_classes'
]


def sync_bn_classes() -> tuple:
    """The synchronized BN layers: PyTorch's, and MMCV's ``MMSyncBN`` when
    a full MMCV registers it."""
    classes = [torch.nn.SyncBatchNorm]
    mmcv_sync_bn = resolve_type('MMSyncBN')
    if mmcv_sync_bn is not None:
        classes.append(mmcv_sync_bn)
    return tuple(classes)


def replace_sync_bn(node):
    """Copy of a config node with every SyncBN norm layer turned into BN."""
    if isinstance(node, dict):
        node = {key: replace_sync_bn(value) for key, value in node.items()}
        if is_type(node, sync_bn_classes()):
            node['type'] = 'BN'
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(replace_sync_bn(item) for item in node)
    return node


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare a distributed run on CPU (gloo, BN); no-op with CUDA.

    Call it after setting ``cfg.launcher`` and before building the Runner.

    Args:
        cfg (Config): The run's config; edited in place.

    Returns:
        bool: True if the config was set up for CPU distributed running.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise ValueError(
            f'--launcher {launcher} needs CUDA GPUs on this machine; CPU '
            'distributed runs use --launcher pytorch through torchrun, e.g. '
            'torchrun --nproc_per_node=2 -m mmseg_ood.cli.train CONFIG '
            '--launcher pytorch.')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters',
                                                  False))
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    cfg.model = replace_sync_bn(cfg.model.to_dict() if hasattr(
        cfg.model, 'to_dict') else cfg.model)
    cfg.env_cfg = dict(cfg.get('env_cfg') or {})
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
    return True
