#!/usr/bin/env bash
# Submits a section of charlab to Slurm: writes its plan, submits one job array per stage
# (each stage after the previous one succeeded, `--dependency=afterok`), then the collect job,
# and prints the job ids. Run it from the project root on a node that sees the same file
# system as the compute nodes (the run folders, the data and the binary).
#
#   scripts/slurm/submit.sh SECTION [OPTIONS...]
#     SECTION   cv (section 6.2) or levers (section 6.1)
#     OPTIONS   charlab's options for the section, e.g. --data /shared/train.pkl, --quick
#   Environment:
#     CHARLAB_BIN      the charlab binary [target/release/charlab]
#     CHARLAB_AFTER    a job id the first stage waits for (e.g. section 6.1's collect job, when
#                      section 6.2's pretrained model needs 6.1's pretraining run)
#     CHARLAB_MAX_RUNNING  array tasks of one stage running at once [8]
#     SBATCH_OPTIONS   more sbatch options for every job (partition, account, time, memory)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -lt 1 ] || { [ "$1" != cv ] && [ "$1" != levers ]; }; then
    echo "usage: scripts/slurm/submit.sh cv|levers [charlab options...]" >&2
    exit 2
fi
section=$1
shift
export CHARLAB_BIN=${CHARLAB_BIN:-$PWD/target/release/charlab}
if [ ! -x "$CHARLAB_BIN" ]; then
    echo "error: $CHARLAB_BIN is not an executable charlab: build it (make build) or set CHARLAB_BIN" >&2
    exit 1
fi
here=scripts/slurm
logs=${CHARLAB_SLURM_LOGS:-data/slurm-logs}
mkdir -p "$logs"
plan=$("$CHARLAB_BIN" "$section" plan "$@")
echo "$plan" >&2
# shellcheck disable=SC2086
common=(--parsable --export=ALL --chdir="$PWD" ${SBATCH_OPTIONS:-})
dep=${CHARLAB_AFTER:-}
while read -r _ stage range; do
    [ -n "$range" ] || continue
    job=$(sbatch "${common[@]}" ${dep:+--dependency=afterok:$dep} \
        --array="$range%${CHARLAB_MAX_RUNNING:-8}" --output="$logs/$section-%A_%a.out" \
        "$here/unit.sbatch" "$section" "$@")
    echo "stage ${stage%:} (units $range): job $job" >&2
    dep=$job
done < <(echo "$plan" | grep '^stage ')
job=$(sbatch "${common[@]}" ${dep:+--dependency=afterok:$dep} --output="$logs/$section-collect-%j.out" \
    "$here/collect.sbatch" "$section" "$@")
echo "collect: job $job" >&2
echo "$job"
