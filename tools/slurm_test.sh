#!/usr/bin/env bash
# Evaluation on a Slurm cluster: one task per GPU, MMEngine's slurm launcher.
# Usage: [GPUS=4] [GPUS_PER_NODE=min(GPUS,8)] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]
set -euo pipefail
if [ "$#" -lt 4 ]; then
    echo "usage: [GPUS=4] [GPUS_PER_NODE=min(GPUS,8)] [CPUS_PER_TASK=5]" \
        "[SRUN_ARGS=...]" \
        "bash $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PYTHON=${PYTHON:-python}
read -r -a EXTRA_SRUN_ARGS <<< "${SRUN_ARGS:-}"
DIR=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${EXTRA_SRUN_ARGS[@]+"${EXTRA_SRUN_ARGS[@]}"} \
    "$PYTHON" -u "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher=slurm \
    "${@:5}"
