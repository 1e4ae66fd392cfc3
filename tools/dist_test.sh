#!/usr/bin/env bash
# Distributed evaluation through torchrun.
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options...]
set -euo pipefail
if [ "$#" -lt 3 ]; then
    echo "usage: [PORT=29500] [NNODES=1 NODE_RANK=0 MASTER_ADDR=...]" \
        "bash $0 CONFIG CHECKPOINT GPUS [test.py options...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
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
    "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
