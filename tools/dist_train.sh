#!/usr/bin/env bash
# Distributed training through torchrun (PyTorch DDP via MMEngine).
# Usage: bash tools/dist_train.sh CONFIG GPUS [train.py options...]
# GPUs: NCCL and SyncBN as the config says; no CUDA: gloo and BN, unedited.
# train_dataloader.batch_size is per process: total batch = GPUS x batch_size.
set -euo pipefail
if [ "$#" -lt 2 ]; then
    echo "usage: [PORT=29500] [NNODES=1 NODE_RANK=0 MASTER_ADDR=...]" \
        "bash $0 CONFIG GPUS [train.py options...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
DIR=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"
