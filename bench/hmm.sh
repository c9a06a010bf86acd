#!/usr/bin/env bash
# Oracle HMM benchmark (docs/perf.md "## oracle"): forward–backward with
# token posteriors, S=64, V=1000, L=64, a batch of 256 sequences, for two
# kinds of evidence ("masked": each position all-MASK or a one-hot commit;
# "soft": every row dense with MASK mass ½). Go (default build and
# GOEXPERIMENT=simd build of oracle/cmd/hmmbench) against numpy float32
# (bench/hmm.py: the stock reference, kept for history, and the fair ones —
# a dense 2-D rewrite and, for masked evidence, a structure-aware version)
# on the same model and evidence, numpy's BLAS on as many threads as Go has
# CPUs; hmm.py re-times the simd build between its rounds (same load) and
# checks every side against a float64 evaluation.
#
#   bash bench/hmm.sh
#
# Environment: BENCH_PY (Python with numpy; default Debian's
# /usr/bin/python3, python3-numpy installed with apt when missing);
# HMMBENCH_CPUS (a taskset CPU list such as 0-1; Go and OpenBLAS then use
# that many threads); HMMBENCH_GO and HMMBENCH_SIMD (prebuilt hmmbench
# binaries, for a machine without Go: go build -o X ./oracle/cmd/hmmbench and
# GOEXPERIMENT=simd go build -o Y ./oracle/cmd/hmmbench).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${BENCH_PY:-/usr/bin/python3}"
# numpy on OpenBLAS (bench/blas_check.py says why it matters), installed when missing
if ! env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/blas_check.py numpy 2>/dev/null; then
	if [ "$PY" != /usr/bin/python3 ]; then
		echo "bench/hmm.sh: $PY lacks numpy or threadpoolctl, or numpy is not on OpenBLAS:" >&2
		"$PY" bench/blas_check.py numpy >&2 || true
		exit 1
	fi
	apt-get update && apt-get install -y python3-numpy python3-threadpoolctl libopenblas0-pthread
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/blas_check.py numpy >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GO_BIN="${HMMBENCH_GO:-$tmp/hmmbench}"
SIMD_BIN="${HMMBENCH_SIMD:-$tmp/hmmbench-simd}"
[ -n "${HMMBENCH_GO:-}" ] || GOEXPERIMENT= go build -o "$GO_BIN" ./oracle/cmd/hmmbench
[ -n "${HMMBENCH_SIMD:-}" ] || GOEXPERIMENT=simd go build -o "$SIMD_BIN" ./oracle/cmd/hmmbench
pin=()
threads=$(nproc)
if [ -n "${HMMBENCH_CPUS:-}" ]; then
	pin=(taskset -c "$HMMBENCH_CPUS")
	threads=$("${pin[@]}" nproc)
fi
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads of $(nproc) CPUs used, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ev in masked soft; do
	"${pin[@]}" "$GO_BIN" -evidence "$ev" -dump "$tmp/$ev"
	"${pin[@]}" "$SIMD_BIN" -evidence "$ev" | sed 's/^go:/go+simd:/'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" "${pin[@]}" "$PY" bench/hmm.py "$tmp/$ev" "$SIMD_BIN" "$ev"
done
