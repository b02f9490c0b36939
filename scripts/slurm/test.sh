#!/usr/bin/env bash
# `make test-slurm`: sections 6.2 and 6.1 (quick schedules) through a real Slurm. Installs
# Debian's slurm-wlm and munge when missing, starts a single-node cluster on this machine
# (local-cluster.sh), submits each section's plan as job arrays with submit.sh, waits for the
# collect jobs, and checks that the results files equal the single-machine runs' (timings
# aside); stops the daemons however it ends. Bounded: CHARLAB_SLURM_TIMEOUT seconds [600].
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$PWD/scripts/slurm
bin=${CHARLAB_BIN:-$PWD/target/release/charlab}
limit=${CHARLAB_SLURM_TIMEOUT:-600}
start=$SECONDS

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "[slurm] installing slurm-wlm and munge (Debian packages)"
    if ! { [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1; }; then
        echo "[slurm] SKIPPED: slurm-wlm and munge are not installed and cannot be (apt-get as root failed)"
        exit 0
    fi
fi
[ -x "$bin" ] || { echo "error: $bin missing: run make build" >&2; exit 1; }
export CHARLAB_BIN=$bin CHARLAB_THREADS=1
unset CHARLAB_DATA CHARLAB_CORPUS CHARLAB_QUICK
work=$(mktemp -d "${TMPDIR:-/tmp}/charlab-slurm.XXXXXX")
cleanup() {
    "$here/local-cluster.sh" stop "$work/cluster" || true
    if [ "${keep:-0}" = 1 ]; then echo "[slurm] left $work for a look"; else rm -rf "$work"; fi
}
trap cleanup EXIT
keep=1

for section in cv levers; do
    CHARLAB_ROOT=$work/single "$bin" "$section" --quick >"$work/single-$section.log" 2>&1 ||
        { cat "$work/single-$section.log"; exit 1; }
done
eval "$("$here/local-cluster.sh" start "$work/cluster")"
echo "[slurm] cluster up ($(sinfo -h -o '%N, %c CPUs, %T'))"

declare -A collect
for section in cv levers; do
    collect[$section]=$(CHARLAB_ROOT=$work/slurm CHARLAB_SLURM_LOGS=$work/logs \
        CHARLAB_MAX_RUNNING=2 "$here/submit.sh" "$section" --quick)
done
echo "[slurm] submitted: collect jobs ${collect[cv]} (6.2) and ${collect[levers]} (6.1)"

while squeue -h -o '%i %T %r' | grep -q .; do
    if squeue -h -o '%r' | grep -q DependencyNeverSatisfied; then
        echo "error: a unit failed (its dependants can never start):" >&2
        squeue >&2
        tail -n 5 "$work"/logs/* >&2
        exit 1
    fi
    if [ $((SECONDS - start)) -gt "$limit" ]; then
        echo "error: the Slurm jobs did not finish in $limit s:" >&2
        squeue >&2
        exit 1
    fi
    sleep 1
done
units=$(ls "$work"/logs | grep -vc collect)
echo "[slurm] all jobs left the queue: $units unit tasks, 2 collect jobs"

status=0
for pair in cv:06.2-cv levers:06.1-levers; do
    section=${pair%%:*}
    file=${pair#*:}
    log=$work/logs/$section-collect-${collect[$section]}.out
    if [ ! -f "$work/slurm/report/results/$file.json" ]; then
        echo "error: $section's collect job wrote no results file; its log:" >&2
        cat "$log" >&2 || true
        status=1
        continue
    fi
    python3 - "$work/single/report/results/$file.json" "$work/slurm/report/results/$file.json" <<'PY' || status=1
import json, sys
def untimed(v):
    if isinstance(v, dict):
        return {k: untimed(x) for k, x in v.items()
                if not (k.endswith("seconds") or k.endswith("per_second") or k == "phases")}
    if isinstance(v, list):
        return [untimed(x) for x in v]
    return v
a, b = (untimed(json.load(open(p))) for p in sys.argv[1:])
if a != b:
    print(f"error: {sys.argv[2]} differs from the single-machine run's {sys.argv[1]}", file=sys.stderr)
    sys.exit(1)
PY
    [ $status = 0 ] && echo "[slurm] $file.json from Slurm equals the single-machine run's"
done
if [ $status = 0 ]; then keep=0; fi
echo "[slurm] $((SECONDS - start)) s"
[ $status = 0 ] && echo "[slurm] passed" || echo "[slurm] FAILED"
exit $status
