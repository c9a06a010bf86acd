#!/usr/bin/env bash
# Time softdiff's samplers against a served model: one command.
#
#   GOEXPERIMENT=simd CGO_ENABLED=0 go build -o oipbench ./cmd/oipbench   # here, once (static, AVX2 kernels)
#   bash serve/bench_gpu.sh                               # on the GPU machine; table in $OUT
#
# Starts serve/server.py with a randomly initialised softdiff denoiser of
# about 1.06 B parameters (vocabulary 126,464 with MASK at 126,336 as in
# LLaDA; d = 2048, 16 layers, 16 heads, MLP 8192, tied head, evidence skip;
# bf16 weights and activations, float32 logits) on the GPU, waits for it,
# runs ./oipbench (L = 256, B = 1…64, LLaDA low-confidence and Fast-dLLM
# threshold, top-k 64 transfer, dense transfer at B = 1 and 4), writes
# oipbench.md/.csv, the server log and machine facts to $OUT, and stops the
# server, and packs all of it into $OUT/bench_gpu.tar.gz. No network and
# no Go toolchain needed on the GPU machine (it builds nothing there).
#
# LLaDA-8B's compute shape (7.5 B parameters; the GELU MLP at 18 432 has the
# FLOPs of LLaDA's SwiGLU at 12 288), the docs/perf.md figures of 3 December:
#   SHAPE=vocab=126464,mask=126336,length=256,hidden=4096,layers=32,heads=32,intermediate=18432 bash serve/bench_gpu.sh
#
# TOPK may list several k (TOPK=64,8): each is a run of oipbench against the
# same server, its tables in $OUT/k<k>/ (dense transfer in the first only).
#
# Everything is an environment variable with a default; the CPU smoke test
# of .ci/run uses
#   DEVICE=cpu DTYPE=float32 SHAPE=vocab=500,mask=499,length=32,hidden=32,layers=2,heads=2,intermediate=64 \
#   LEN=32 BLOCK=8 BATCHES=1,2 DENSE_BATCHES=1 bash serve/bench_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-${1:-/tmp/oipbench}}
PY=${PY:-python3}
BIN=${BIN:-./oipbench}
DEVICE=${DEVICE:-cuda}
DTYPE=${DTYPE:-bfloat16}
SHAPE=${SHAPE:-vocab=126464,mask=126336,length=256,hidden=2048,layers=16,heads=16,intermediate=8192}
LEN=${LEN:-256}
BLOCK=${BLOCK:-32}
BATCHES=${BATCHES:-1,2,4,8,16,32,64}
DENSE_BATCHES=${DENSE_BATCHES:-1,4}
TOPK=${TOPK:-64}
STEPS=${STEPS:-8}
BUDGET=${BUDGET:-5m}
READY_S=${READY_S:-240}

mkdir -p "$OUT"
if [ -f "$BIN" ] && [ ! -x "$BIN" ]; then chmod +x "$BIN"; fi
[ -x "$BIN" ] || { echo "bench_gpu: $BIN missing: build it with GOEXPERIMENT=simd CGO_ENABLED=0 go build -o oipbench ./cmd/oipbench" >&2; exit 1; }
t0=$(date +%s)
{
	echo "date: $(date -u +%FT%TZ)"
	echo "host: $(uname -a)"
	echo "cpus: $(nproc)"
	command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
	$PY -c 'import torch, numpy, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "numpy", numpy.__version__)'
	echo "shape: $SHAPE, device $DEVICE, dtype $DTYPE"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

portfile="$OUT/port"
rm -f "$portfile"
$PY serve/server.py --random "$SHAPE" --name random --device "$DEVICE" --dtype "$DTYPE" \
	--port 0 --port-file "$portfile" --max-batch 64 > "$OUT/server.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 1 $((READY_S * 2))); do
	[ -s "$portfile" ] && break
	if ! kill -0 $srv 2>/dev/null; then
		echo "bench_gpu: the server exited:" >&2; cat "$OUT/server.log" >&2; exit 1
	fi
	sleep 0.5
done
[ -s "$portfile" ] || { echo "bench_gpu: server not ready after $READY_S s" >&2; cat "$OUT/server.log" >&2; exit 1; }
echo "server ready after $(( $(date +%s) - t0 )) s: $(cat "$OUT/server.log")"

first=1
for k in ${TOPK//,/ }; do
	dir="$OUT"
	if [ "$TOPK" != "$k" ]; then dir="$OUT/k$k"; mkdir -p "$dir"; fi
	dense="$DENSE_BATCHES"
	[ $first = 1 ] || dense=""
	first=0
	"$BIN" --url "http://127.0.0.1:$(cat "$portfile")" --model random --len "$LEN" --block "$BLOCK" \
		--batches "$BATCHES" --dense-batches "$dense" --topk "$k" --steps "$STEPS" --budget "$BUDGET" \
		--out "$dir" | tee "$dir/oipbench.txt"
done
kill $srv
wait $srv 2>/dev/null || true
# one tarball of everything (a GPU machine may return only a few files)
tgz=$(mktemp)
tar -czf "$tgz" -C "$OUT" --exclude=bench_gpu.tar.gz --exclude=port .
mv "$tgz" "$OUT/bench_gpu.tar.gz"
echo "bench_gpu: done in $(( $(date +%s) - t0 )) s; $OUT/oipbench.md, all in $OUT/bench_gpu.tar.gz"
