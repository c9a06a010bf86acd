#!/usr/bin/env bash
# Benchmarks of softdiff, one section per area, each printing its raw
# numbers and a ratio table in Markdown (the tables in docs/perf.md).
#
#   bench/run.sh soft        # soft: fused softmax+entropy vs numpy/torch and bandwidth
#   bench/run.sh gemm        # gemm: Sgemm vs numpy's single-thread OpenBLAS sgemm
#   bench/run.sh all         # every section defined below
#   bench/run.sh list        # names of the sections
#
# A section is a shell function named section_<name>; add one per area.
# Environment: BENCH_COUNT (repetitions of each Go benchmark, default 5; the
# median is reported), BENCH_OUT (directory for raw output, default a
# temporary one), BENCH_PY (Python with numpy and torch, default Debian's
# /usr/bin/python3, installed with apt when missing). For a machine without
# Go, SOFT_TEST_SIMD and SOFT_TEST_PLAIN name prebuilt test binaries of ./soft
# (GOEXPERIMENT=simd go test -c, and go test -c).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${BENCH_PY:-/usr/bin/python3}"
BENCH_COUNT="${BENCH_COUNT:-5}"
BENCH_OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$BENCH_OUT"

# need_python installs Debian's numpy, scipy, torch, OpenBLAS and threadpoolctl
# when missing, and stops unless numpy runs on OpenBLAS: Debian's numpy links
# libblas.so.3, which is the slow reference BLAS unless libopenblas0 is
# installed (a fresh machine gets the reference one, about 15× slower in
# sgemm, which would make every numpy baseline unfair). OPENBLAS_* tuning
# variables from the environment are dropped for this command only.
need_python() {
	if ! env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/blas_check.py 2>/dev/null; then
		if [ "$PY" != /usr/bin/python3 ]; then
			echo "bench/run.sh: $PY lacks numpy, torch, scipy or threadpoolctl, or numpy is not on OpenBLAS:" >&2
			"$PY" bench/blas_check.py >&2 || true
			exit 1
		fi
		echo "== installing python3-numpy python3-scipy python3-torch python3-threadpoolctl libopenblas0-pthread" >&2
		apt-get update -qq && apt-get install -y python3-numpy python3-scipy python3-torch python3-threadpoolctl libopenblas0-pthread >/dev/null
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/blas_check.py >&2
	fi
}

machine() {
	echo "machine: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) CPUs; $(go version 2>/dev/null || echo 'prebuilt Go test binaries')"
}

# median_go FILE: "name median-ns/op" per benchmark name over the -count runs.
median_go() {
	awk '/^Benchmark/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") print $1, $i }' "$1" |
		sort -k1,1 -k2,2g |
		awk '{ v[$1] = v[$1] " " $2; n[$1]++ }
		     END { for (k in v) { split(substr(v[k], 2), a, " "); print k, a[int((n[k] + 1) / 2)] } }' |
		sort
}

section_soft() {
	echo "## soft: fused row numerics"
	machine
	need_python
	local out="$BENCH_OUT/soft"
	mkdir -p "$out"
	local simd="${SOFT_TEST_SIMD:-}" plain="${SOFT_TEST_PLAIN:-}"
	if [ -z "$simd" ]; then
		simd="$out/simd.test"
		GOEXPERIMENT=simd go test -c -o "$simd" ./soft
	fi
	if [ -z "$plain" ]; then
		plain="$out/plain.test"
		GOEXPERIMENT= go test -c -o "$plain" ./soft
	fi
	simd=$(realpath "$simd")
	plain=$(realpath "$plain")
	echo "== go (GOEXPERIMENT=simd build: kernels avx2 when the CPU has AVX2+FMA)"
	(cd soft && "$simd" -test.run '^$' -test.bench 'SoftmaxEntropyRows|Stream|MixRows|KLRows|SparseTopK' \
		-test.benchtime 5x -test.count "$BENCH_COUNT") | tee "$out/go_simd.txt"
	echo "== go (plain build: pure-Go kernels)"
	(cd soft && "$plain" -test.run '^$' -test.bench 'SoftmaxEntropyRows' -test.benchtime 3x \
		-test.count "$BENCH_COUNT") | tee "$out/go_plain.txt"
	echo "== numpy and torch (bench/softmax.py)"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" bench/softmax.py | tee "$out/py.txt"
	median_go "$out/go_simd.txt" >"$out/go_simd.med"
	median_go "$out/go_plain.txt" >"$out/go_plain.med"
	"$PY" - "$out" <<'PYEOF'
import re, sys
out = sys.argv[1]
def load(f):
    d = {}
    for line in open(f):
        name, ns = line.split()
        m = re.match(r"Benchmark(\w+)/L=(\d+)/V=(\d+)/workers=(\d+)", name)
        d[(m[1], int(m[2]), int(m[4]))] = float(ns) / 1e6  # ms
    return d
simd, plain = load(out + "/go_simd.med"), load(out + "/go_plain.med")
py = {}
for line in open(out + "/py.txt"):
    kv = dict(x.split("=") for x in line.split())
    py[(kv["impl"], int(kv["L"]), int(kv["threads"]))] = float(kv["seconds"]) * 1e3
print()
print("Fused softmax+entropy, V = 32768, float32; times in ms (median); w = Go workers = torch/numpy threads.")
print()
print("| L | w | Go simd | Go plain | numpy | torch (history) | torch-fair | torch-fair / Go simd | torch / Go simd (history) | stream | stream / Go simd | Go simd 1w / 2w |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for L in (256, 1024):
    for w in (1, 2):
        g = simd[("SoftmaxEntropyRows", L, w)]
        scal = simd[("SoftmaxEntropyRows", L, 1)] / g if w == 2 else 1.0
        tf = py[('torch-fair', L, w)]
        print(f"| {L} | {w} | {g:.1f} | {plain[('SoftmaxEntropyRows', L, w)]:.1f} | {py[('numpy', L, w)]:.1f} | "
              f"{py[('torch', L, w)]:.1f} | {tf:.1f} | {tf / g:.2f}x | {py[('torch', L, w)] / g:.2f}x | "
              f"{simd[('Stream', L, w)]:.1f} | {100 * simd[('Stream', L, w)] / g:.0f}% | {scal:.2f}x |")
print()
print("Other whole-state operations (Go simd build), ms (median) and speed-up of 2 workers over 1.")
print()
print("| op | L | 1 worker | 2 workers | 1w / 2w |")
print("|---|---|---|---|---|")
for op in ("MixRows", "KLRows", "SparseTopK", "Stream"):
    for L in (256, 1024):
        a, b = simd[(op, L, 1)], simd[(op, L, 2)]
        print(f"| {op} | {L} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
print()
print("Targets: torch-fair / Go simd >= 1.5x at equal threads (w); stream / Go simd >= 40%; Go simd 1w / 2w >= 1.7x.")
print("Accuracy: both sides pass bench/softmax.py's check (probabilities within 1e-4 relative, entropy within 1e-4")
print("of a float64 evaluation); the Go side's own tests bound it tighter (docs/soft.md).")
PYEOF
}

# kernels: the graph kernel's action exp(τR) on 64 one-hot rows of the
# K = 32768, D = 256, k = 16 kNN graph at τ = 0.1, 1, 10, against
# scipy.sparse.linalg.expm_multiply on the same graph and rows (bench/expm.py),
# both scored against a tight Go reference (series tol 1e-16); the two sides
# run alternately (7 rounds) so that they see the same machine load, best
# time of each reported. Then the float32 Transition benchmark of the graph.
# Both run the GOEXPERIMENT=simd build (the pure-Go kNN build of this graph
# takes minutes; docs/perf.md).
section_kernels() {
	echo "## kernels: graph-kernel action of the matrix exponential"
	machine
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
	local out="$BENCH_OUT/kernels"
	mkdir -p "$out"
	GOEXPERIMENT=simd go build -o "$out/expmbench" ./kernels/internal/expmbench
	"$out/expmbench" -out "$out" -reps 7
	echo "== alternating runs: scipy once, then Go (best of 3), 7 rounds per τ"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE REPS=7 "$PY" bench/expm.py "$out" "$out/expmbench"
	echo "== go test -bench GraphTransition (float32 rows through Transition)"
	GOEXPERIMENT=simd go test -run '^$' -bench 'GraphTransition' -benchtime 3x -count 1 ./kernels
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# section_gemm: internal/simdgemm's Sgemm (GOEXPERIMENT=simd build, one
# worker, the CPU's widest micro-kernel) against numpy's single-thread
# OpenBLAS sgemm on the HMM's and the transformer's shapes, alternating
# shape by shape (bench/gemm.py); then the Go benchmark with 1 and 2 workers
# and in the pure-Go build.
section_gemm() {
	echo "## gemm: single-precision matrix product"
	machine
	need_python
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
	local out="$BENCH_OUT/gemm"
	mkdir -p "$out"
	GOEXPERIMENT=simd go test -c -o "$out/simd.test" ./internal/simdgemm
	GOEXPERIMENT= go test -c -o "$out/plain.test" ./internal/simdgemm
	(cd internal/simdgemm && "$out/simd.test" -test.run 'TestPathsPresent' -test.v | grep paths)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 "$PY" bench/gemm.py "$out/simd.test" | tee "$out/table.md"
	echo "== go test -bench Sgemm, simd build, 1 and 2 workers"
	(cd internal/simdgemm && "$out/simd.test" -test.run '^$' -test.bench 'Sgemm' -test.benchtime 0.2s) | tee "$out/go_simd.txt"
	echo "== go test -bench Sgemm, pure-Go build, 1 worker"
	(cd internal/simdgemm && "$out/plain.test" -test.run '^$' -test.bench 'Sgemm/.*/workers=1' -test.benchtime 3x) | tee "$out/go_plain.txt"
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# section_oracle: HMM forward–backward, Go (both builds) vs numpy float32;
# see bench/hmm.sh for its environment variables (BENCH_PY is shared).
section_oracle() {
	echo "## oracle"
	bash bench/hmm.sh
}

# section_nn: the Go forward of package nn vs PyTorch CPU (bench/nn.sh).
section_nn() {
	echo "## nn"
	bash bench/nn.sh
}

sections() { declare -F | awk '{print $3}' | sed -n 's/^section_//p'; }

case "${1:-}" in
all)
	for s in $(sections); do "section_$s"; done
	;;
list)
	sections
	;;
"" | -h | --help)
	sed -n '2,16p' "$0"
	exit 2
	;;
*)
	if ! declare -F "section_$1" >/dev/null; then
		echo "bench/run.sh: no section '$1' (have: $(sections | tr '\n' ' '))" >&2
		exit 2
	fi
	"section_$1"
	;;
esac
