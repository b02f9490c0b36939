#!/usr/bin/env bash
# The `rust` kernel's launcher (kernel.json's argv): starts evcxr_jupyter in a build folder that
# no other running kernel uses. evcxr keeps one crate and one cargo target per build folder
# (EVCXR_TMPDIR) and rewrites that crate's source for every cell, so two kernels sharing one
# folder compile each other's cells (evcxr issues #302 and #231; scripts/two_kernels.py shows
# it). Folders: target/evcxr/ctx (the one scripts/setup.sh pre-builds), then ctx-2, ctx-3, ...;
# each is held by an flock on target/evcxr/<folder>.lock for the kernel's whole life (the lock
# goes with the process, however it ends). A folder used for the first time, or older than the
# pre-built one, starts as a copy of target/evcxr/ctx (about 1.5 GB, seconds), so that its
# first cell only checks and links as in the first folder.
#   CHARLAB_EVCXR_SLOT=NAME  use target/evcxr/NAME whatever other kernels do (the old
#                            behaviour, for scripts/two_kernels.py --shared)
#   CHARLAB_EVCXR_SLOTS=N    at most N folders [8]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=$root/target/evcxr
evcxr=$root/.tools/bin/evcxr_jupyter
stamp=$base/prebuilt.sha256
mkdir -p "$base"

start_in() {
    export EVCXR_TMPDIR=$base/$1
    echo "[charlab kernel] build folder target/evcxr/$1" >&2
    exec "$evcxr" "${@:2}"
}

if [ -n "${CHARLAB_EVCXR_SLOT:-}" ]; then
    start_in "$CHARLAB_EVCXR_SLOT" "$@"
fi
max=${CHARLAB_EVCXR_SLOTS:-8}
for i in $(seq 1 "$max"); do
    slot=ctx
    [ "$i" = 1 ] || slot=ctx-$i
    exec 9>"$base/$slot.lock"
    if flock -n 9; then
        if [ "$slot" != ctx ] && [ -d "$base/ctx/target" ] &&
            ! cmp -s "$stamp" "$base/$slot/prebuilt.sha256"; then
            echo "[charlab kernel] target/evcxr/$slot: copying the pre-built target/evcxr/ctx" >&2
            rm -rf "$base/$slot.tmp" "$base/$slot"
            cp -a --reflink=auto "$base/ctx" "$base/$slot.tmp"
            cp "$stamp" "$base/$slot.tmp/prebuilt.sha256" 2>/dev/null || true
            mv "$base/$slot.tmp" "$base/$slot"
        fi
        # fd 9 stays open in evcxr_jupyter: the folder is ours until the kernel exits.
        start_in "$slot" "$@"
    fi
    exec 9>&-
done
echo "[charlab kernel] error: $max kernels are running, each in its own build folder under" \
    "target/evcxr; shut one down, or allow more with CHARLAB_EVCXR_SLOTS" >&2
exit 1
