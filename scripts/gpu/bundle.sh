#!/usr/bin/env bash
# make gpu-bundle: builds, on this CPU machine, the folder that runs charlab on the lent GPU
# machine (one H200, CUDA 13 driver, /opt/torch/.venv with torch 2.11.0+cu130, no Rust, no
# registry, at most 64 MiB travelling with a command, the work tree included):
#
#   target/gpu-bundle/out/
#     charlab.xz        charlab built against libtorch 2.11 (tch 0.24, the torch==2.11.0 wheel
#                       installed --no-deps into target/gpu-bundle/torch-2.11.0), release without
#                       debug info, stripped, xz-compressed; `cuda-dlopen`: it links libtorch's
#                       CPU libraries and opens libtorch_cuda.so from LD_LIBRARY_PATH at start
#     train.pkl.gz      the stand-in (../shared), when it is here; else the run uses the embedded
#                       default data
#     device.sh         the device script (scripts/gpu/device.sh), gpu_json.py, bench_torch_cnn.py
#     bundle.json       what was built: commit, versions, sizes, seconds
#
# The default build (tch 0.26, libtorch 2.13) is untouched: the bundle builds a copy of the
# tracked sources with tch pinned to 0.24 in target/gpu-bundle/src and its own target folder.
# Usage: scripts/gpu/bundle.sh        (then scripts/gpu/device.sh runs it; see docs/gpu.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
B=$root/target/gpu-bundle
TORCH_VERSION=2.11.0
TCH_VERSION=0.24.0
log() { printf '[gpu-bundle] %s\n' "$*" >&2; }
start=$SECONDS
mkdir -p "$B"

# 1. libtorch 2.11: the PyPI wheel's torch/ folder (include/, lib/), without its CUDA packages.
torch_dir=$B/torch-$TORCH_VERSION
if [ ! -f "$torch_dir/torch/lib/libtorch_cpu.so" ]; then
  [ -x .venv/bin/python ] || scripts/setup.sh venv
  log "installing the torch==$TORCH_VERSION wheel (--no-deps) into ${torch_dir#$root/}"
  rm -rf "$torch_dir"
  .venv/bin/python -m pip install --quiet --no-deps --target "$torch_dir" "torch==$TORCH_VERSION"
fi
t_wheel=$((SECONDS - start))

# 2. The tracked sources (as they are in the work tree), tch and torch-sys pinned to 0.24.
src=$B/src
rm -rf "$src"
mkdir -p "$src"
git ls-files -z -- Cargo.toml Cargo.lock build.rs src examples | xargs -0 cp --parents -t "$src"
sed -i -e "s/^tch = \"0.26\"/tch = \"=$TCH_VERSION\"/" \
  -e "s/^torch-sys = \"0.26\"/torch-sys = \"=$TCH_VERSION\"/" "$src/Cargo.toml"
grep -q "^tch = \"=$TCH_VERSION\"" "$src/Cargo.toml" || { log "Cargo.toml: cannot pin tch"; exit 1; }

# 3. Build: libtorch from the wheel (not the venv's 2.13), no debug info, stripped.
log "building charlab against libtorch $TORCH_VERSION (tch $TCH_VERSION)"
t0=$SECONDS
(cd "$src" && env -u LIBTORCH_USE_PYTORCH LIBTORCH="$torch_dir/torch" \
  CARGO_TARGET_DIR="$B/target" cargo build --quiet --release --features cuda-dlopen --bin charlab \
  --config 'profile.release.debug=false' --config 'profile.release.strip=true')
t_build=$((SECONDS - t0))

# 4. The folder that travels.
out=$B/out
rm -rf "$out"
mkdir -p "$out"
xz -T2 -6 -c "$B/target/release/charlab" > "$out/charlab.xz"
standin=../shared/data/alphamoon-standin/train.pkl
if [ -f "$standin" ]; then gzip -6 -c "$standin" > "$out/train.pkl.gz"; fi
cp scripts/gpu/device.sh scripts/gpu/gpu_json.py scripts/bench_torch_cnn.py "$out/"
# The newest glibc symbol version the binary needs: the device's glibc must be at least that.
glibc=$(objdump -T "$B/target/release/charlab" | grep -oE 'GLIBC_[0-9.]+' | sort -Vu | tail -1)
echo "${glibc#GLIBC_}" > "$out/glibc-required.txt"
bytes=$(du -cb "$out"/* | tail -1 | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
cat > "$out/bundle.json" <<JSON
{"commit": "$(git rev-parse --short=12 HEAD)", "dirty": $( [ -n "$(git status --porcelain --untracked-files=no)" ] && echo true || echo false ),
 "torch": "$TORCH_VERSION", "tch": "$TCH_VERSION", "binary_bytes": $(stat -c %s "$B/target/release/charlab"),
 "bundle_bytes": $bytes, "work_tree_bytes": $tree, "wheel_seconds": $t_wheel, "build_seconds": $t_build,
 "glibc_required": "${glibc#GLIBC_}", "total_seconds": $((SECONDS - start)), "standin": $( [ -f "$out/train.pkl.gz" ] && echo true || echo false )}
JSON
limit=$((64 * 1024 * 1024))
log "bundle ${out#$root/}: $((bytes / 1024 / 1024)) MiB, with the work tree $(((bytes + tree) / 1024 / 1024)) MiB of 64; build ${t_build} s, in all $((SECONDS - start)) s"
if [ $((bytes + tree)) -ge $limit ]; then
  log "the bundle and the work tree exceed 64 MiB: they would not travel"; exit 1
fi
