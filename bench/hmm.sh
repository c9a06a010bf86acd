#!/usr/bin/env bash
# Oracle HMM benchmark (docs/perf.md "## oracle"): forward–backward with
# token posteriors, S=64, V=1000, L=64, a batch of 256 sequences, for two
# kinds of evidence. Go (default build and GOEXPERIMENT=simd build) against
# numpy float32 (bench/hmm.py) on the same model and evidence; hmm.py also
# checks that its posteriors match Go's.
#
#   bash bench/hmm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	apt-get update && apt-get install -y python3-numpy
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/hmmbench" ./oracle/cmd/hmmbench
GOEXPERIMENT=simd go build -o "$tmp/hmmbench-simd" ./oracle/cmd/hmmbench
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ev in masked soft; do
	"$tmp/hmmbench" -evidence "$ev" -dump "$tmp/$ev"
	"$tmp/hmmbench-simd" -evidence "$ev" | sed 's/^go:/go+simd:/'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/hmm.py "$tmp/$ev"
done
