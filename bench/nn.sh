#!/usr/bin/env bash
# Go forward of package nn against PyTorch CPU on the same weights and
# inputs, one thread each, B = 1 and 32, and both as a fraction of the
# machine's float32 matrix-multiply rate (torch.matmul n = 1024, one thread,
# measured in the same run). Prints the raw lines and a Markdown table
# (docs/perf.md, section nn).
#
#   bash bench/nn.sh
#
# Environment: BENCH_COUNT (alternating rounds, medians taken; default 5),
# BENCH_OUT (raw output directory), BENCH_PY (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${BENCH_PY:-/usr/bin/python3}"
COUNT="${BENCH_COUNT:-5}"
OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
echo "machine: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) CPUs; $(go version); $("$PY" -c 'import torch; print("torch", torch.__version__)')"
# Go (both builds) and torch alternate, COUNT rounds, so that a change of
# load on a shared machine hits every column alike; medians over rounds.
GOEXPERIMENT= go test -c -o "$OUT/plain.test" ./nn
GOEXPERIMENT=simd go test -c -o "$OUT/simd.test" ./nn
: >"$OUT/go-plain.txt"
: >"$OUT/go-simd.txt"
: >"$OUT/torch.txt"
for round in $(seq "$COUNT"); do
	for build in plain simd; do
		(cd nn && GOMAXPROCS=1 "$OUT/$build.test" -test.run '^$' -test.bench 'Forward|SgemmPeak') >>"$OUT/go-$build.txt"
	done
	THREADS=1 "$PY" bench/nn.py data/models/*/ >>"$OUT/torch.txt"
done
for build in plain simd; do sed "s/^/$build /" "$OUT/go-$build.txt" | grep Benchmark; done
cat "$OUT/torch.txt"
# Median ns/op per Go benchmark and build; torch seconds per model and B.
awk -v out="$OUT" '
function med(key) { return medof(vals[key]) }
function medof(list,   n, i, j, t, a) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((n + 1) / 2)]
}
FILENAME ~ /go-/ && /^Benchmark/ {
	build = FILENAME; sub(/.*go-/, "", build); sub(/\.txt/, "", build)
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 1; i <= NF; i++) {
		if ($(i+1) == "ns/op") vals[build " " name] = vals[build " " name] " " $i
		if ($(i+1) == "MFLOP/op") mf[name] = $i
	}
	if (name ~ /Forward/) { split(name, p, "/"); models[p[2] " " p[3]] = 1 }
}
FILENAME ~ /torch/ && /impl=torch model=/ {
	split($2, m, "="); split($3, bb, "="); split($5, s, "=")
	tv[m[2] " B=" bb[2]] = tv[m[2] " B=" bb[2]] " " s[2]
}
FILENAME ~ /torch/ && /matmul n=1024/ { split($5, g, "="); pv = pv " " g[2] }
END {
	peak = medof(pv)
	for (k in tv) torch[k] = medof(tv[k])
	printf "\nmatrix-multiply rate (torch.matmul n = 1024, one thread): %.1f GFLOP/s\n\n", peak
	print "| model | B | Go ms (default) | Go ms (simd) | torch ms | torch / Go (simd) | Go simd % of peak | torch % of peak |"
	print "|---|---|---|---|---|---|---|---|"
	n = 0
	for (k in models) keys[++n] = k
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (keys[j] < keys[i]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
	for (i = 1; i <= n; i++) {
		split(keys[i], p, " ")
		bn = "BenchmarkForward/" p[1] "/" p[2]
		gp = med("plain " bn) / 1e6; gs = med("simd " bn) / 1e6; ts = torch[keys[i]] * 1e3
		gr = mf[bn] / 1e3 / (gs / 1e3); tr = mf[bn] / 1e3 / (ts / 1e3) # GFLOP/s
		printf "| %s | %s | %.3f | %.3f | %.3f | %.2f | %.0f%% | %.0f%% |\n", p[1], substr(p[2], 3), gp, gs, ts, ts / gs, 100 * gr / peak, 100 * tr / peak
	}
}' "$OUT"/go-plain.txt "$OUT"/go-simd.txt "$OUT"/torch.txt
