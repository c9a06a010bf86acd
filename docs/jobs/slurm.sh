#!/usr/bin/env bash
# Slurm job array for a sharded softdiff sweep: task i of n runs the i-th of
# n disjoint parts of every experiment's grid; a dependent job merges them.
#
#   go build -o softdiff ./cmd/softdiff          # once, on the login node
#   mkdir -p logs                                # sbatch opens --output before the script runs
#   sbatch --array=0-7 docs/jobs/slurm.sh        # n = 8 shards of 'softdiff run all'
#   sbatch --dependency=afterok:<array job id> --wrap \
#     "./softdiff merge --out results $(printf 'results-shards/%d ' $(seq 0 7))"
#
# Arguments after the script name the experiment (default: all) and further
# 'softdiff run' flags; resources given on the sbatch command line override the
# #SBATCH lines below, and --workers follows --cpus-per-task:
#
#   sbatch --array=0-2 --cpus-per-task=1 --mem=1G docs/jobs/slurm.sh joint-decode --quick
#
# The task count of the array is the shard count n, so the array must be 0-(n-1)
# (a throttle such as 0-7%2 is fine). To rerun some shards of an n-shard sweep,
# give n explicitly: SOFTDIFF_SHARDS=8 sbatch --array=3,5 docs/jobs/slurm.sh.
#
# Tasks run in the submission directory: ./softdiff and results-shards/i are
# found from it (the shipped data is embedded in the binary; $SOFTDIFF_DATA
# points at another data directory).
# Results do not depend on how the grid is split: the merged tables equal those
# of one unsharded run with the same flags.
#SBATCH --job-name=softdiff
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=logs/softdiff-%A_%a.out
set -euo pipefail
i=${SLURM_ARRAY_TASK_ID:?run with sbatch --array=0-N}
n=${SOFTDIFF_SHARDS:-${SLURM_ARRAY_TASK_COUNT:?run with sbatch --array=0-N}}
if [ -z "${SOFTDIFF_SHARDS:-}" ] && { [ "$SLURM_ARRAY_TASK_MIN" != 0 ] || [ "$SLURM_ARRAY_TASK_MAX" != $((n - 1)) ]; }; then
	echo "slurm.sh: array ${SLURM_ARRAY_TASK_MIN}-${SLURM_ARRAY_TASK_MAX} of $n tasks is not 0-$((n - 1)); set SOFTDIFF_SHARDS to the shard count" >&2
	exit 2
fi
exp=${1:-all}
shift || true
mkdir -p results-shards
exec ./softdiff run "$exp" "$@" --shard "$i/$n" --workers "${SLURM_CPUS_PER_TASK:-1}" \
	--out "results-shards/$i"
