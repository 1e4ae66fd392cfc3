#!/usr/bin/env bash
# Training on a Slurm cluster: one task per GPU, MMEngine's slurm launcher.
# Usage: [GPUS=4] [GPUS_PER_NODE=min(GPUS,8)] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]
# e.g. GPUS=16 bash tools/slurm_train.sh gpu be_r101 \
#   configs/deeplabv3plus_balanced_energy.py work_dirs/be_r101 --resume
set -euo pipefail
if [ "$#" -lt 4 ]; then
    echo "usage: [GPUS=4] [GPUS_PER_NODE=min(GPUS,8)] [CPUS_PER_TASK=5]" \
        "[SRUN_ARGS=...]" \
        "bash $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
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
    "$PYTHON" -u "$DIR/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher=slurm "${@:5}"
