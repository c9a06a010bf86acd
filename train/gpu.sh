#!/bin/sh
# Train every shipped denoiser concurrently on one GPU and export them.
#
#   sh train/gpu.sh OUT
#
# needs: python3 with torch (CUDA) and numpy; a softdiff binary (SOFTDIFF,
# default .devstage/softdiff, a static build: CGO_ENABLED=0 go build -o
# .devstage/softdiff ./cmd/softdiff) run from the repository root, which
# holds data/kjv-hmm.json. No network. Writes OUT/models/NAME/ (config.json,
# model.safetensors, parity.safetensors, README.md), OUT/logs/NAME.log and
# OUT/summary.txt. Training data goes to DATA (default /tmp/softdiff-data),
# generated with fixed seeds unless the files are already there.
#
# Knobs (environment): TRAIN_SECONDS (training time per model, default 420),
# DEVICE (cuda), PYTHON (python3), KJV_N / PCFG_N (sequences), SCALE (1;
# 0 = tiny models and batches, for a CPU check of the whole pipeline),
# COMPILE (1: torch.compile), ONLY (space-separated names: train only
# these), SUFFIX (appended to every checkpoint name, e.g. -long for a longer
# run beside the shipped one). Products run in TF32 on the GPU, the rest in
# float32 (the skip's log-likelihood needs it).
set -eu
OUT=${1:?usage: sh train/gpu.sh OUT}
PY=${PYTHON:-python3}
BIN=${SOFTDIFF:-.devstage/softdiff}
DATA=${DATA:-/tmp/softdiff-data}
SECS=${TRAIN_SECONDS:-420}
DEVICE=${DEVICE:-cuda}
SCALE=${SCALE:-1}
KJV_N=${KJV_N:-8000000}
PCFG_N=${PCFG_N:-2000000}
mkdir -p "$OUT/models" "$OUT/logs" "$DATA"
export PYTHONUNBUFFERED=1
export TORCHINDUCTOR_COMPILE_THREADS=${TORCHINDUCTOR_COMPILE_THREADS:-2} # seven compiles share the cores
t0=$(date +%s)
{
	echo "host: $(uname -n), $(nproc) cores"
	$PY -c 'import sys, torch, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
	command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
} 2>&1 | tee "$OUT/summary.txt"

# 1. Training data from the Go oracles (no oracle is implemented twice).
sample() { # testbed n
	if [ ! -f "$DATA/$1.npy" ]; then
		"$BIN" sample --testbed "$1" --n "$2" --seed 1 --out "$DATA/$1.npy"
	fi
}
sample kjv-hmm-32 "$KJV_N"
sample agreement-pcfg "$PCFG_N"
echo "data ready after $(( $(date +%s) - t0 )) s" | tee -a "$OUT/summary.txt"

# 2. All trainings at once; each is launch-bound, so they share the GPU.
if [ "$SCALE" = 0 ]; then
	SIZE="--hidden 16 --layers 1 --heads 2"; BK=16; BP=16; BIG="--hidden 32 --layers 1 --heads 2"
else
	SIZE="--hidden 64 --layers 4 --heads 4"; BK=1024; BP=2048; BIG="--hidden 128 --layers 4 --heads 4"
fi
COMP=""
if [ "${COMPILE:-1}" = 1 ]; then COMP="--compile"; fi
FLAGS="--device $DEVICE --out $OUT/models --time-limit $SECS --steps 1000000 --lr 2e-3 --warmup 300 --log-every 500 --threads 2 $COMP"
pids=""
train() { # name seed args...
	name=$1; seed=$2; shift 2
	if [ -n "${ONLY:-}" ]; then
		case " $ONLY " in *" $name "*) ;; *) return 0 ;; esac
	fi
	name=$name${SUFFIX:-}
	$PY train/train.py $FLAGS --name "$name" --seed "$seed" "$@" >"$OUT/logs/$name.log" 2>&1 &
	pids="$pids $!"
}
K="--data $DATA/kjv-hmm-32.npy"
P="--data $DATA/agreement-pcfg.npy"
train kjv-hmm-32-mdlm 11 $K --objective mdlm $SIZE --batch $BK
train kjv-hmm-32-soft 12 $K --objective soft $SIZE --batch $BK
train kjv-hmm-32-mix 13 $K --objective mix $SIZE --batch $BK
train kjv-hmm-32-soft-noskip 14 $K --objective soft --no-skip $SIZE --batch $BK
train kjv-hmm-32-mix-d128 15 $K --objective mix $BIG --batch $BK
train agreement-pcfg-mdlm 16 $P --objective mdlm $SIZE --batch $BP
train agreement-pcfg-mix 17 $P --objective mix $SIZE --batch $BP
fail=0
for p in $pids; do wait "$p" || fail=1; done

# 3. Summary: the last JSON line of every log (steps, wall time, losses).
for f in "$OUT"/logs/*.log; do
	tail -n 1 "$f"
done | tee -a "$OUT/summary.txt"
echo "total wall time $(( $(date +%s) - t0 )) s, failures: $fail" | tee -a "$OUT/summary.txt"
exit $fail
