#!/bin/sh
# Train the learned kernel denoisers of graded-generation concurrently on one
# GPU, and pack everything into one tarball.
#
#   SOFTDIFF=/path/to/static/softdiff sh train/gpu-kernels.sh OUT
#
# needs: python3 with torch (CUDA) and numpy; the static softdiff binary
# (SOFTDIFF, default .devstage/softdiff: CGO_ENABLED=0 go build -o
# .devstage/softdiff ./cmd/softdiff), run from the repository root. No
# network. Steps:
#   1. training data: softdiff sample --testbed kjv-hmm-32 (fixed seed),
#      unless DATA/kjv-hmm-32.npy exists;
#   2. the kernels' forward tables: softdiff export-kernel for every kernel
#      of KERNELS (the Go kernels' own values; train.py validates them);
#   3. one training per kernel, all at once, each for TRAIN_SECONDS (≤ 400)
#      of wall time: train/train.py --objective kernel --kernel TABLE;
#   4. OUT/kernels.tar with models/NAME/ (config.json, model.safetensors,
#      parity.safetensors, README.md), logs/NAME.log and summary.txt; copy
#      models/* into data/models/ to ship them.
#
# Knobs (environment): KERNELS (default "graph hierarchical uniform info
# uniform-warped hierarchical-warped"), TRAIN_SECONDS (380), DEVICE (cuda),
# PYTHON (python3), KJV_N (8000000), TIMES (64, the tables' grid), SCALE (1;
# 0 = tiny models and batches, for a CPU check), COMPILE (1).
set -eu
OUT=${1:?usage: sh train/gpu-kernels.sh OUT}
PY=${PYTHON:-python3}
BIN=${SOFTDIFF:-.devstage/softdiff}
DATA=${DATA:-/tmp/softdiff-data}
SECS=${TRAIN_SECONDS:-380}
DEVICE=${DEVICE:-cuda}
SCALE=${SCALE:-1}
KJV_N=${KJV_N:-8000000}
TIMES=${TIMES:-64}
KERNELS=${KERNELS:-graph hierarchical uniform info uniform-warped hierarchical-warped}
if [ "$SECS" -gt 400 ]; then echo "TRAIN_SECONDS $SECS > 400" >&2; exit 2; fi
W=$OUT/work
mkdir -p "$W/models" "$W/logs" "$W/tables" "$DATA"
export PYTHONUNBUFFERED=1
export TORCHINDUCTOR_COMPILE_THREADS=${TORCHINDUCTOR_COMPILE_THREADS:-2}
t0=$(date +%s)
{
	echo "host: $(uname -n), $(nproc) cores"
	$PY -c 'import sys, torch, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
	command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
} 2>&1 | tee "$W/summary.txt"

if [ ! -f "$DATA/kjv-hmm-32.npy" ]; then
	"$BIN" sample --testbed kjv-hmm-32 --n "$KJV_N" --seed 1 --out "$DATA/kjv-hmm-32.npy"
fi
for k in $KERNELS; do
	"$BIN" export-kernel --testbed kjv-hmm-32 --kernel "$k" --times "$TIMES" --out "$W/tables/$k.safetensors" | tee -a "$W/summary.txt"
done
echo "data and tables ready after $(( $(date +%s) - t0 )) s" | tee -a "$W/summary.txt"

if [ "$SCALE" = 0 ]; then
	SIZE="--hidden 16 --layers 1 --heads 2"; BK=16
else
	SIZE="--hidden 64 --layers 4 --heads 4"; BK=1024
fi
COMP=""
if [ "${COMPILE:-1}" = 1 ]; then COMP="--compile"; fi
FLAGS="--device $DEVICE --out $W/models --time-limit $SECS --steps 1000000 --lr 2e-3 --warmup 300 --log-every 500 --threads 2 $COMP"
pids=""
seed=31
for k in $KERNELS; do
	name=kjv-hmm-32-kernel-$k
	$PY train/train.py $FLAGS --name "$name" --seed "$seed" --data "$DATA/kjv-hmm-32.npy" \
		--objective kernel --kernel "$W/tables/$k.safetensors" $SIZE --batch $BK >"$W/logs/$name.log" 2>&1 &
	pids="$pids $!"
	seed=$((seed + 1))
done
fail=0
for p in $pids; do wait "$p" || fail=1; done
for f in "$W"/logs/*.log; do tail -n 1 "$f"; done | tee -a "$W/summary.txt"
echo "total wall time $(( $(date +%s) - t0 )) s, failures: $fail" | tee -a "$W/summary.txt"
# One tarball (the tables are left out: softdiff export-kernel rebuilds them).
tar -C "$W" -cf "$OUT/kernels.tar" models logs summary.txt
exit $fail
