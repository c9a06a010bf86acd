#!/usr/bin/env bash
# Device run of gremlins over the sampler packages, side by side. It needs
# .devstage/ (ignored) holding: go.tar.xz (a Go 1.26 GOROOT without src/cmd,
# pkg/tool and tests), tools.tar.xz (pkg/tool/linux_amd64: compile, link,
# asm, cover, vet, cgo and a built cmd/covdata), vendor.tar.xz (`go mod
# vendor`), gremlins.xz (v0.6.0); see docs/testing.md. Run there as
# `T=420 PKGS='kernels 12;soft 4' bash scripts/mutation-device.sh` (carry
# .devstage). PKGS is a ';'-separated list of "pkg workers [FILES] [RUN]",
# FILES itself quoted with commas: "decode 8 final,beam".
cd "$(dirname "$0")/.."
mkdir -p /tmp/go && tar -xJf .devstage/go.tar.xz -C /tmp/go && tar -xJf .devstage/tools.tar.xz -C /tmp/go
tar -xJf .devstage/vendor.tar.xz
xz -dc .devstage/gremlins.xz > /tmp/gremlins && chmod +x /tmp/gremlins
# gremlins runs 'go mod download', which needs the network: the vendored
# build needs nothing downloaded, so that one command is skipped.
mkdir -p /tmp/gowrap && printf '#!/bin/sh\n[ "$1" = mod ] && [ "$2" = download ] && exit 0\nexec /tmp/go/bin/go "$@"\n' > /tmp/gowrap/go && chmod +x /tmp/gowrap/go
export GOROOT=/tmp/go PATH=/tmp/gowrap:/tmp/go/bin:$PATH GOCACHE=/tmp/gocache GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=vendor -buildvcs=false" GREMLINS=/tmp/gremlins
go version; nproc; lscpu | grep 'Model name'
export GOFLAGS="-mod=vendor"
T=${T:-470}; rm -rf /tmp/mut
if [ -n "${RECHECK:-}" ]; then
	# RECHECK=file of gremlins lines RPKG=decode RARGS='-short -failfast -run X'
	# re-tests those mutants with scripts/mutcheck, 16 side by side
	go build -o /tmp/mutcheck ./scripts/mutcheck
	timeout $T /tmp/mutcheck -pkg ./$RPKG -j ${RJOBS:-16} -timeout ${RTIMEOUT:-150s} -args "$RARGS" < "$RECHECK" > $OUT/recheck.txt 2>&1
	tail -3 $OUT/recheck.txt; exit 0
fi
run() { # pkg workers [FILES (comma-separated)] [RUN]
	( export OUT=/tmp/mut/$1 WORKERS=$2 FILES="${3//,/ }" RUN="${4:-}"; [ -z "$FILES" ] && unset FILES; [ -z "$RUN" ] && unset RUN
	  mkdir -p $OUT; timeout $T bash scripts/mutation.sh $1 > $OUT/run.txt 2>&1 ) &
}
# the coverage step of gremlins runs side by side clash: start them apart
IFS=';' read -ra specs <<< "${PKGS:-kernels 6;soft 5;oracle 5}"
for spec in "${specs[@]}"; do read -ra a <<< "$spec"; run "${a[@]}"; sleep 25; done
wait
for f in $(find /tmp/mut -name '*.log' | sort); do
	p=$(basename "$f" .log) k=$(grep -c 'KILLED' $f); l=$(grep -c 'LIVED' $f); t=$(grep -c 'TIMED OUT' $f); n=$(grep -c 'NOT COVERED' $f)
	echo "$p killed $k lived $l timedout $t notcovered $n"; tail -3 $f
done
tar -czf $OUT/logs.tgz -C /tmp/mut .
