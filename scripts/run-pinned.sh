#!/usr/bin/env bash
# run-pinned.sh: the full experiment run on a many-core machine. Every
# experiment (or, with SHARDS=n, every one of its n shards) runs as its own
# process pinned to two cores (taskset, GOMAXPROCS=2, --workers 2); one queue
# per pair of cores takes the next unstarted job until none is left; at the
# end 'softdiff merge' combines the parts. Results do not depend on the worker
# count, the sharding or the machine, so DIR/results holds the tables
# 'softdiff run all --out DIR/results' writes (docs/jobs/README.md says which
# files differ in their shard bookkeeping). DIR/times.tsv gives each
# experiment's time on two cores (summed over its shards); the last line, the
# sum, is the wall time of 'run all' on a 2-core machine of the same per-core
# speed.
#
#   scripts/run-pinned.sh DIR [SOFTDIFF] [-- extra run flags, e.g. --quick]
#
# SOFTDIFF defaults to a binary built from this checkout. NAMES (space
# separated) chooses the experiments, default all of 'softdiff list'.
set -euo pipefail
dir=${1:?usage: run-pinned.sh DIR [SOFTDIFF] [-- run flags]}
shift
sd=""
if [[ $# -gt 0 && $1 != -- ]]; then sd=$1; shift; fi
[[ $# -gt 0 && $1 == -- ]] && shift
if [[ -z $sd ]]; then
	sd=$(mktemp -d)/softdiff
	go build -o "$sd" ./cmd/softdiff
fi
shards=${SHARDS:-1}
names=${NAMES:-$("$sd" list | awk 'NF==0 {exit} {print $1}')}
jobs=()
for n in $names; do
	for (( i = 0; i < shards; i++ )); do jobs+=("$n $i"); done
done
mkdir -p "$dir/parts" "$dir/logs" "$dir/claims"
slots=$(( $(nproc) / 2 )); (( slots >= 1 )) || slots=1

runjob() { # runjob NAME SHARD CORES FLAGS...
	local n=$1 i=$2 cores=$3; shift 3
	local tag="$n-$i" start end rc=0
	local sh=()
	(( shards > 1 )) && sh=(--shard "$i/$shards")
	start=$(date +%s.%N)
	GOMAXPROCS=2 taskset -c "$cores" "$sd" run "$n" --workers 2 "${sh[@]}" --out "$dir/parts/$tag" "$@" \
		>"$dir/logs/$tag.out" 2>"$dir/logs/$tag.err" || rc=$?
	end=$(date +%s.%N)
	printf '%s\t%s\t%s\t%s\n' "$n" "$i" "$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')" "$rc" >"$dir/logs/$tag.time"
	return $rc
}

pids=()
for (( s = 0; s < slots; s++ )); do
	(
		rc=0
		for (( k = 0; k < ${#jobs[@]}; k++ )); do
			mkdir "$dir/claims/$k" 2>/dev/null || continue # another queue has it
			read -r n i <<<"${jobs[k]}"
			runjob "$n" "$i" "$((2*s)),$((2*s+1))" "$@" || rc=1
		done
		exit $rc
	) &
	pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done

cat "$dir"/logs/*.time | awk -F'\t' -v order="$names" '
	{ t[$1] += $3; if ($4 != 0) bad[$1] = 1 }
	END {
		print "experiment\twall_s_2core\tstatus"
		n = split(order, o, " ")
		for (k = 1; k <= n; k++) { s += t[o[k]]; printf "%s\t%.1f\t%s\n", o[k], t[o[k]], (o[k] in bad) ? "failed" : "ok" }
		printf "total\t%.1f\t\n", s
	}' >"$dir/times.tsv"
cat "$dir/times.tsv"
[[ $fail == 0 ]] || { echo "run-pinned: a job failed (logs in $dir/logs)" >&2; exit 1; }
parts=()
for j in "${jobs[@]}"; do read -r n i <<<"$j"; parts+=("$dir/parts/$n-$i"); done
"$sd" merge --out "$dir/results" "${parts[@]}" >"$dir/logs/merge.out"
echo "run-pinned: results in $dir/results"
