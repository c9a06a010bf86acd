#!/usr/bin/env bash
# End-to-end test of docs/jobs/slurm.sh on a real, single-node Slurm cluster.
#
#   bash docs/jobs/test-slurm.sh                 # the test: must pass
#   bash docs/jobs/test-slurm.sh --fail-shard 1  # shard 1 cannot write its output: must fail, printing its log
#   bash docs/jobs/test-slurm.sh --self-test     # both of the above, checking outcome and cleanup (CI runs this)
#
# Installs slurmctld, slurmd, slurm-client and munge with apt-get when missing
# (needs root). Everything else lives in one temporary directory: a munge key
# and munged, a slurm.conf (commands find it through SLURM_CONF, so no file in
# /etc is touched), slurmctld and slurmd, each a child of this script kept in
# the foreground (no daemonizing), remembered by its pid and stopped by it on
# exit, success or not.
# It builds softdiff once, submits the shipped slurm.sh as a three-task array
# of 'joint-decode --quick' and the merge as a job depending on it, waits (at
# most SOFTDIFF_SLURM_TIMEOUT seconds, default 120), and compares the merged
# output with an unsharded run byte for byte. A failure names its step.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
self="$repo/docs/jobs/test-slurm.sh"
experiment=joint-decode
run_flags=(--quick)
shards=3
timeout=${SOFTDIFF_SLURM_TIMEOUT:-120}
fail_shard=

say() { echo "test-slurm: $*"; }
fail() { # fail STEP MESSAGE...
	local step=$1
	shift
	echo "test-slurm: FAILED at step '$step': $*" >&2
	exit 1
}

# --self-test runs this script twice as a child, once with a failing shard
# and once plainly, and checks each outcome and that each child left no
# daemon, job step or temporary directory behind.
self_test() {
	selftest_out=$(mktemp /tmp/softdiff-slurm-selftest.XXXXXX)
	trap 'rm -f "$selftest_out"' EXIT
	local out=$selftest_out
	# Live munge and Slurm processes (a job step's zombie, already exited and
	# waiting for init to reap it, does not count).
	daemons() { ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^(munged|slurmctld|slurmd|slurmstepd)$/ {print $1}' | sort; }
	check_clean() { # check_clean WHAT DAEMONS_BEFORE
		local tmp pid
		tmp=$(sed -n 's/^test-slurm: temporary directory \(.*\)$/\1/p' "$out")
		[ -n "$tmp" ] || fail "self-test" "$1: no temporary directory reported"
		[ ! -e "$tmp" ] || fail "self-test" "$1: left $tmp behind"
		for pid in $(sed -n 's/^test-slurm: started .* pid \([0-9]*\)$/\1/p' "$out"); do
			! kill -0 "$pid" 2>/dev/null || fail "self-test" "$1: daemon pid $pid still runs"
		done
		[ "$(daemons)" = "$2" ] || fail "self-test" "$1: left processes behind: $(daemons | tr '\n' ' ')"
	}
	local before rc
	before=$(daemons)
	say "self-test 1/2: a failing shard must fail the test and print the shard's log"
	rc=0
	bash "$self" --fail-shard 1 >"$out" 2>&1 || rc=$?
	sed 's/^/    /' "$out"
	[ "$rc" != 0 ] || fail "self-test" "the run with a failing shard exited 0"
	grep -q "^test-slurm: FAILED at step 'shard 1 of $shards'" "$out" ||
		fail "self-test" "the run with a failing shard did not fail at step 'shard 1 of $shards'"
	grep -q "softdiff: run: --out results-shards/1: " "$out" ||
		fail "self-test" "the run with a failing shard did not print shard 1's log"
	check_clean "failing run" "$before"
	say "self-test 2/2: the plain test must pass"
	rc=0
	bash "$self" >"$out" 2>&1 || rc=$?
	sed 's/^/    /' "$out"
	[ "$rc" = 0 ] || fail "self-test" "the plain run exited $rc"
	check_clean "passing run" "$before"
	say "self-test passed"
}

case "${1:-}" in
"") ;;
--self-test)
	self_test
	exit 0
	;;
--fail-shard)
	fail_shard=${2:?--fail-shard needs a shard index}
	[[ $fail_shard =~ ^[0-9]+$ && $fail_shard -lt $shards ]] || fail "arguments" "--fail-shard $fail_shard: want 0 to $((shards - 1))"
	;;
*) fail "arguments" "unknown argument $1 (want --self-test or --fail-shard I)" ;;
esac

# Variables of an enclosing Slurm job or user settings would change what
# sbatch and the tasks do.
mapfile -t inherited < <(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCONTROL)_' || true)
[ "${#inherited[@]}" = 0 ] || unset "${inherited[@]}"

# ---- state the cleanup undoes
tmp=
munged_pid='' slurmctld_pid='' slurmd_pid=''
jobs=''
policy_rc_created=

stop_pid() { # stop_pid NAME PID: SIGTERM, up to 15 s, then SIGKILL
	local name=$1 pid=$2
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "test-slurm: $name (pid $pid) ignored SIGTERM for 15 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? p cwd
	set +e
	trap - EXIT INT TERM
	if [ -n "$policy_rc_created" ]; then rm -f /usr/sbin/policy-rc.d; fi
	if [ -n "$jobs" ] && [ -n "$slurmctld_pid" ] && kill -0 "$slurmctld_pid" 2>/dev/null; then
		# shellcheck disable=SC2086 # job ids, split on purpose
		scancel $jobs 2>/dev/null
		for _ in $(seq 100); do
			[ -z "$(squeue -h -j "${jobs// /,}" -o %i 2>/dev/null)" ] && break
			sleep 0.1
		done
	fi
	[ -z "$slurmd_pid" ] || stop_pid slurmd "$slurmd_pid"
	[ -z "$slurmctld_pid" ] || stop_pid slurmctld "$slurmctld_pid"
	[ -z "$munged_pid" ] || stop_pid munged "$munged_pid"
	if [ -n "$tmp" ]; then
		# A job step left by a slurmd that had to be killed runs in the work
		# directory: end exactly those processes (this shell leaves it first).
		cd /
		for p in /proc/[0-9]*; do
			[ "${p#/proc/}" != $$ ] || continue
			cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
			case $cwd in "$tmp" | "$tmp"/*)
				echo "test-slurm: killing leftover process ${p#/proc/} in $cwd" >&2
				kill -KILL "${p#/proc/}" 2>/dev/null
				;;
			esac
		done
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "test-slurm: interrupted" >&2; exit 130' INT
trap 'echo "test-slurm: terminated" >&2; exit 143' TERM

[ "$(id -u)" = 0 ] || fail "install" "needs root (apt-get, and slurmd starts the job steps)"

# ---- the temporary directory: cluster state, logs, work directory
tmp=$(mktemp -d /tmp/softdiff-slurm.XXXXXX)
say "temporary directory $tmp"
chmod 755 "$tmp" # munged wants its socket's directories searchable by all
mkdir -p "$tmp/etc" "$tmp/log" "$tmp/run" "$tmp/state" "$tmp/spool" "$tmp/work/logs"
mkdir -m 755 "$tmp/munge-socket"
mkdir -m 700 "$tmp/munge"
work=$tmp/work

# ---- install
say "step install"
missing=
for c in slurmctld slurmd sbatch squeue scontrol scancel sinfo munged munge; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
if [ -n "$missing" ]; then
	say "installing slurmctld slurmd slurm-client munge (missing:$missing)"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		# Keep the packages' scripts from starting system daemons this test
		# would not know about (the standard Debian switch; removed again).
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy_rc_created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	pkgs=(slurmctld slurmd slurm-client munge)
	apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$tmp/log/apt.log" 2>&1 ||
		{ apt-get update -q && apt-get install -y -q --no-install-recommends "${pkgs[@]}"; } >>"$tmp/log/apt.log" 2>&1 ||
		{ cat "$tmp/log/apt.log" >&2; fail "install" "apt-get install ${pkgs[*]} failed (output above)"; }
	if [ -n "$policy_rc_created" ]; then rm -f /usr/sbin/policy-rc.d; policy_rc_created=; fi
fi
say "$(slurmctld -V), munge $(munged -V 2>&1 | awk '{print $1; exit}' | sed 's/munge-//')"

# ---- build softdiff once; the tasks use this binary
say "step build"
(cd "$repo" && go build -o "$work/softdiff" ./cmd/softdiff) || fail "build" "go build ./cmd/softdiff failed"

# ---- munged
say "step daemon start: munged"
head -c 1024 /dev/urandom >"$tmp/munge/munge.key"
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/munge-socket/munge.socket
munged -F --key-file="$tmp/munge/munge.key" --socket="$socket" \
	--pid-file="$tmp/munge/munged.pid" --log-file="$tmp/log/munged.log" \
	--seed-file="$tmp/munge/munged.seed" >"$tmp/log/munged.out" 2>&1 &
munged_pid=$!
say "started munged pid $munged_pid"
for _ in $(seq 100); do
	[ -S "$socket" ] && munge -S "$socket" -n 2>/dev/null | unmunge -S "$socket" >/dev/null 2>&1 && break
	kill -0 "$munged_pid" 2>/dev/null || break
	sleep 0.1
done
munge -S "$socket" -n 2>/dev/null | unmunge -S "$socket" >/dev/null 2>&1 ||
	{ cat "$tmp/log/munged.out" >&2; fail "daemon start" "munged did not come up (its output is above)"; }

# ---- slurm.conf
free_port() { # a TCP port nobody listens on, from $1 up
	local p
	for p in $(seq "$1" $(($1 + 500))); do
		(: </dev/tcp/127.0.0.1/"$p") 2>/dev/null || { echo "$p"; return; }
	done
	fail "daemon start" "no free TCP port in $1-$(($1 + 500))"
}
host=$(hostname -s)
ctld_port=$(free_port $((20000 + $$ % 20000)))
slurmd_port=$(free_port $((ctld_port + 1)))
cpus=$(nproc)
mem=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 / 2)) # MiB; half the machine
export SLURM_CONF=$tmp/etc/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=softdiff-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
PlugStackConfig=$tmp/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=kill_invalid_depend
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
: >"$tmp/etc/plugstack.conf"

# ---- slurmctld and slurmd
say "step daemon start: slurmctld and slurmd"
slurmctld -D -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
slurmctld_pid=$!
say "started slurmctld pid $slurmctld_pid"
slurmd -D -f "$SLURM_CONF" >"$tmp/log/slurmd.out" 2>&1 &
slurmd_pid=$!
say "started slurmd pid $slurmd_pid"
daemon_logs() {
	local f
	for f in slurmctld.out slurmctld.log slurmd.out slurmd.log; do
		[ -s "$tmp/log/$f" ] && { echo "--- $f (last 30 lines)"; tail -n 30 "$tmp/log/$f"; }
	done
	return 0
}
state=
for _ in $(seq 300); do
	kill -0 "$slurmctld_pid" 2>/dev/null || { daemon_logs >&2; fail "daemon start" "slurmctld exited (logs above)"; }
	kill -0 "$slurmd_pid" 2>/dev/null || { daemon_logs >&2; fail "daemon start" "slurmd exited (logs above)"; }
	state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
	[ "$state" = idle ] && break
	sleep 0.1
done
[ "$state" = idle ] || { daemon_logs >&2; fail "daemon start" "node $host is '${state:-unknown}' after 30 s, not idle (logs above)"; }
say "node $host idle ($cpus CPUs, $mem MiB); slurmctld on port $ctld_port, slurmd on $slurmd_port"

# ---- the unsharded reference, while nothing else runs
say "step reference: unsharded $experiment ${run_flags[*]}"
"$work/softdiff" run "$experiment" "${run_flags[@]}" --out "$tmp/reference" >"$tmp/log/reference.out" 2>&1 ||
	{ cat "$tmp/log/reference.out" >&2; fail "reference" "the unsharded run failed (output above)"; }

# ---- submission
cd "$work"
if [ -n "$fail_shard" ]; then
	# Shard $fail_shard's output directory is a file: softdiff cannot write there.
	say "making shard $fail_shard fail: results-shards/$fail_shard is a file"
	mkdir -p results-shards
	echo "not a directory" >"results-shards/$fail_shard"
fi
say "step submission: sbatch --array=0-$((shards - 1)) docs/jobs/slurm.sh $experiment ${run_flags[*]}"
array=$(sbatch --parsable --array=0-$((shards - 1)) --cpus-per-task=1 --mem=500M --time=00:10:00 \
	"$repo/docs/jobs/slurm.sh" "$experiment" "${run_flags[@]}" 2>"$tmp/log/sbatch.err") ||
	{ cat "$tmp/log/sbatch.err" >&2; fail "submission" "sbatch of the array failed (above)"; }
array=${array%%;*}
jobs=$array
inputs=$(for i in $(seq 0 $((shards - 1))); do printf 'results-shards/%d ' "$i"; done)
merge=$(sbatch --parsable --dependency=afterok:"$array" --job-name=softdiff-merge \
	--cpus-per-task=1 --mem=500M --time=00:10:00 --output=logs/merge-%j.out \
	--wrap "./softdiff merge --out results $inputs" 2>"$tmp/log/sbatch.err") ||
	{ cat "$tmp/log/sbatch.err" >&2; fail "submission" "sbatch of the merge failed (above)"; }
merge=${merge%%;*}
jobs="$array $merge"
say "array job $array, merge job $merge"

# ---- wait, bounded
field() { # field NAME RECORD: the value of NAME=... in a one-line scontrol record
	sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"
}
deadline=$((SECONDS + timeout))
wait_done() { # wait_done JOBID WHAT: until squeue no longer lists the job
	while [ -n "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			squeue -j "$1" -o '%i %T %r' >&2
			daemon_logs >&2
			fail "wait" "$2 not finished after $timeout s (SOFTDIFF_SLURM_TIMEOUT)"
		fi
		kill -0 "$slurmctld_pid" 2>/dev/null || { daemon_logs >&2; fail "wait" "slurmctld exited while $2 ran (logs above)"; }
		kill -0 "$slurmd_pid" 2>/dev/null || { daemon_logs >&2; fail "wait" "slurmd exited while $2 ran (logs above)"; }
		sleep 0.5
	done
}
say "step wait: array job $array"
wait_done "$array" "array job $array"
records=$(scontrol -o show job "$array") || fail "wait" "scontrol show job $array failed"
failed=() why=()
for i in $(seq 0 $((shards - 1))); do
	rec=$(grep -E "[[:space:]]ArrayTaskId=${i}[[:space:]]" <<<"$records" || true)
	[ -n "$rec" ] || fail "shard $i of $shards" "Slurm has no record of array task ${array}_$i"
	st=$(field JobState "$rec")
	ec=$(field ExitCode "$rec")
	log=$(field StdOut "$rec")
	if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then
		echo "--- log of shard $i ($log)" >&2
		cat "$log" >&2 2>/dev/null || echo "(no log at $log)" >&2
		echo "---" >&2
		failed+=("$i")
		why+=("task ${array}_$i ended $st with exit code $ec")
		continue
	fi
	say "shard $i of $shards: $st, exit code $ec"
done
if [ "${#failed[@]}" -gt 0 ]; then
	list=$(IFS=,; echo "${failed[*]}")
	reasons=$(printf '%s; ' "${why[@]}")
	fail "shard $list of $shards" "${reasons%; } (exit status:signal; the log is above)"
fi
say "step wait: merge job $merge"
wait_done "$merge" "merge job $merge"
rec=$(scontrol -o show job "$merge") || fail "merge" "scontrol show job $merge failed"
st=$(field JobState "$rec")
ec=$(field ExitCode "$rec")
if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then
	log=$(field StdOut "$rec")
	echo "--- log of the merge ($log)" >&2
	cat "$log" >&2 2>/dev/null || echo "(no log at $log)" >&2
	echo "---" >&2
	fail "merge" "merge job $merge ended $st with exit code $ec (reason $(field Reason "$rec"); its log is above)"
fi
say "merge: $st, exit code $ec"

# ---- comparison. records.json and summary.json also record the shard
# layout, and records.json and README.md the summed compute time, so they
# differ by design; every other file (the tables as CSV and Markdown, the
# plots) must be equal.
say "step comparison: results/$experiment against the unsharded run"
ref=$tmp/reference/$experiment
got=$work/results/$experiment
[ -d "$got" ] || fail "comparison" "the merge wrote no $got"
listing() { (cd "$1" && find . -type f ! -name records.json ! -name summary.json ! -name README.md | LC_ALL=C sort); }
[ "$(listing "$ref")" = "$(listing "$got")" ] ||
	fail "comparison" "file sets differ: $(diff <(listing "$ref") <(listing "$got") | grep '^[<>]' | tr '\n' ' ')"
for f in $(listing "$ref"); do
	cmp "$ref/$f" "$got/$f" >&2 || { diff "$ref/$f" "$got/$f" | head -n 20 >&2; fail "comparison" "merged ${f#./} differs from the unsharded run's (above)"; }
done
say "merged $experiment equals the unsharded run byte for byte: $(listing "$got" | sed 's|^\./||' | paste -sd ' ')"
say "passed"
