#!/usr/bin/env bash
# Mutation testing of the sampler packages with go-gremlins
# (github.com/go-gremlins/gremlins, v0.6.0). See docs/testing.md.
#
# usage: scripts/mutation.sh [package ...]        (default: decode kernels hybrid oracle soft)
#        FILES='llada fastdllm' scripts/mutation.sh decode   (only those files of decode)
#        RUN='TestReMDM|TestManyStep' FILES=remdm scripts/mutation.sh decode
#            (only the tests matching RUN: faster, and a lower bound on the score)
#        SKIP='TestSlow|TestSlower' ...   (leave those tests out: go test -skip)
#        WORKERS=2 TIMEOUT=3 ...   (gremlins' --workers, --timeout-coefficient)
#
# Each package runs in its own gremlins invocation, one worker, the tests
# in -short mode; results go to $OUT (default /tmp/mutation): <pkg>.log
# (every mutant and its status) and <pkg>.json. On 2 shared cores a
# mutant costs 5-40 s; a whole package takes hours (decode, kernels: over
# 1200 mutants each), so restrict FILES for a run that must finish.
set -euo pipefail
cd "$(dirname "$0")/.."
GREMLINS=${GREMLINS:-$(go env GOPATH)/bin/gremlins}
if [ ! -x "$GREMLINS" ]; then
	go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
fi
OUT=${OUT:-/tmp/mutation}
mkdir -p "$OUT"
export GOFLAGS="-buildvcs=false -short${RUN:+ -run=$RUN}${SKIP:+ -skip=$SKIP}"
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(decode kernels hybrid oracle soft)
for p in "${pkgs[@]}"; do
	ex=()
	if [ -n "${FILES:-}" ]; then
		# exclude every non-test file of the package not named in FILES
		for f in "$p"/*.go "$p"/*/*.go; do
			[ -e "$f" ] || continue
			case $f in *_test.go) continue ;; esac
			b=$(basename "$f" .go)
			keep=0
			for w in $FILES; do [ "$b" = "$w" ] && [ "$(dirname "$f")" = "$p" ] && keep=1; done
			[ $keep = 1 ] || ex+=(-E "${f#"$p"/}\$")
		done
	fi
	echo "== $p ${FILES:+(files: $FILES)} ${RUN:+(tests: $RUN)} $(date -u +%FT%TZ)"
	name=${p//\//_} # decode/draw: decode_draw.log
	nice -n 19 "$GREMLINS" unleash --workers "${WORKERS:-1}" --timeout-coefficient "${TIMEOUT:-3}" "${ex[@]}" \
		-o "$OUT/$name.json" "./$p" 2>&1 | tee "$OUT/$name.log" | tail -6
done
