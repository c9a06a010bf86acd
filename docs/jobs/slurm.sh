#!/usr/bin/env bash
# Slurm job array for a sharded softdiff sweep: task i of n runs the i-th of
# n disjoint parts of every experiment's grid; a dependent job merges them.
#
#   go build -o softdiff ./cmd/softdiff          # once, on the login node
#   sbatch --array=0-7 docs/jobs/slurm.sh        # n = 8 shards
#   sbatch --dependency=afterok:<array job id> --wrap \
#     "./softdiff merge --out results $(printf 'results-shards/%d ' $(seq 0 7))"
#
# Results do not depend on how the grid is split: the merged tables equal those
# of one unsharded run with the same flags.
#SBATCH --job-name=softdiff
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=logs/softdiff-%A_%a.out
set -euo pipefail
n=${SLURM_ARRAY_TASK_COUNT:?run with sbatch --array=0-N}
i=${SLURM_ARRAY_TASK_ID:?run with sbatch --array=0-N}
mkdir -p results-shards logs
exec ./softdiff run all --shard "$i/$n" --workers "${SLURM_CPUS_PER_TASK:-1}" \
	--out "results-shards/$i"
