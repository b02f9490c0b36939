#!/usr/bin/env bash
# Installs what charlab needs, inside the project, skipping whatever is already there:
#   .venv/                      Python venv from requirements.txt (torch==2.13.0 = libtorch for tch)
#   .tools/bin/evcxr_jupyter    the Rust Jupyter kernel (cargo install --locked evcxr_jupyter)
#   .jupyter/kernels/rust/      the `rust` kernel spec, found through JUPYTER_PATH=.jupyter
#                               (CHARLAB_JUPYTER_DIR=DIR puts it in DIR/kernels/rust instead)
#   target/evcxr/               the kernel's build folders (one per running kernel, ctx for the
#                               first), charlab and its dependencies built once here (kernel) so
#                               that a notebook's first cell is quick
# Usage: scripts/setup.sh [venv|kernel|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
what=${1:-all}
EVCXR_VERSION=0.22.0

log() { printf '[setup] %s\n' "$*" >&2; }

# WeasyPrint (scripts/report_pdf.py, the report as PDF) loads Pango and HarfBuzz at run time. On
# Debian/Ubuntu: libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b (fonts-dejavu-core for the fonts
# report/print.css names). Installed with apt-get only when missing and running as root; anyone
# else gets a message: only the PDF (make report-pdf, the last step of make reproduce, and its
# test in make unit) needs them.
PANGO_DEBS="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core"
have_pango() {
  local libs
  libs=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null || true)
  grep -q 'libpango-1\.0\.so\.0' <<<"$libs" && grep -q 'libpangoft2-1\.0\.so\.0' <<<"$libs" \
    && grep -q 'libharfbuzz\.so\.0' <<<"$libs"
}
setup_pango() {
  have_pango && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Pango for WeasyPrint (report PDF): apt-get install $PANGO_DEBS"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        $PANGO_DEBS >/dev/null; } || log "apt-get failed: make report-pdf needs $PANGO_DEBS"
  else
    log "Pango/HarfBuzz not found: the report PDF (WeasyPrint: make report-pdf, make reproduce's" \
      "last step, its test in make unit) needs them; as root run apt-get install $PANGO_DEBS" \
      "(or your system's Pango package)"
  fi
}

setup_venv() {
  local stamp=.venv/.requirements.sha256
  local want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  local start=$SECONDS
  log "creating .venv and installing requirements.txt (torch is ~4 GB with its CUDA wheels; ~2 min)"
  command -v python3 >/dev/null || { log "python3 not found: install Python 3.9+ first"; exit 1; }
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  setup_pango
  echo "$want" > "$stamp"
  log "venv ready in $((SECONDS - start)) s"
}

torch_lib() {
  .venv/bin/python -c 'import torch, pathlib; print(pathlib.Path(torch.__file__).parent / "lib")'
}

setup_kernel() {
  setup_venv
  if [ ! -x .tools/bin/evcxr_jupyter ] || ! grep -q "evcxr_jupyter $EVCXR_VERSION" .tools/.crates.toml 2>/dev/null; then
    local start=$SECONDS
    log "building evcxr_jupyter $EVCXR_VERSION into .tools/ (~4 min on 2 cores, once)"
    # At opt-level 1 without debug info: 248 s here against 339 s for the default release
    # profile. The kernel's own work (parsing cells, driving cargo) is small; the notebooks'
    # code is compiled by rustc with the kernel build folder's own settings either way.
    cargo install --quiet --locked --root .tools \
      --config 'profile.release.opt-level=1' --config 'profile.release.debug=false' \
      "evcxr_jupyter@$EVCXR_VERSION"
    log "evcxr_jupyter ready in $((SECONDS - start)) s"
  fi
  local lib jdir=${CHARLAB_JUPYTER_DIR:-$root/.jupyter}
  local spec=$jdir/kernels/rust
  lib=$(torch_lib)
  mkdir -p "$spec" target/evcxr/ctx target/evcxr/.cargo
  # evcxr builds the notebooks' dependencies in its own crate (target/evcxr/ctx) with its dev
  # profile at opt-level 2: about 1,600 CPU seconds for charlab's dependency tree. Cargo reads
  # this file from the crate's parent folder: charlab itself and the crates whose code runs hot
  # in a notebook (hashing, PNG and gzip coding, glyph rasterising) stay at opt-level 2, the
  # rest (polars, tch's C++ shim, linfa, ...) build at opt-level 0. Measured here on the
  # first notebook (compile + run): 1,623 CPU s at opt-level 2, 651 CPU s with this file. The
  # notebooks' heavy work (fits, training) runs in charlab and libtorch, which keep their speed.
  {
    echo '# Written by scripts/setup.sh (kernel): profile of the evcxr kernel'"'"'s builds, see there.'
    printf '[profile.dev.package."*"]\nopt-level = 0\n'
    for hot in charlab sha2 png fdeflate miniz_oxide crc32fast flate2 ab_glyph_rasterizer; do
      printf '[profile.dev.package.%s]\nopt-level = 2\n' "$hot"
    done
  } > target/evcxr/.cargo/config.toml.tmp
  mv target/evcxr/.cargo/config.toml.tmp target/evcxr/.cargo/config.toml
  # evcxr_jupyter reinstalls its spec (dropping our env) whenever version.txt is missing or
  # stale, so install its resources first, then write kernel.json over its own.
  JUPYTER_PATH="$jdir" .tools/bin/evcxr_jupyter --install >/dev/null
  # The kernel compiles charlab (and tch's build script needs the venv's torch), and loads
  # libtorch at run time: evcxr's generated crate gets no rpath, hence LD_LIBRARY_PATH.
  .venv/bin/python - "$root" "$lib" "$spec/kernel.json" <<'PY'
import json, os, sys
root, lib, out = sys.argv[1:4]
env = {
    "LD_LIBRARY_PATH": lib + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else ""),
    "PATH": f"{root}/.venv/bin:" + os.environ.get("PATH", "/usr/bin:/bin"),
    "VIRTUAL_ENV": f"{root}/.venv",
    "LIBTORCH_USE_PYTORCH": "1",
}
# The launcher gives each running kernel its own build folder (EVCXR_TMPDIR), target/evcxr/ctx
# for the first: see scripts/evcxr_kernel.sh.
spec = {
    "argv": [f"{root}/scripts/evcxr_kernel.sh", "--control_file", "{connection_file}"],
    "display_name": "Rust (charlab)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": env,
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(spec, f, indent=2)
os.replace(tmp, out)
PY
  prebuild_kernel "$jdir"
}

# Builds what the notebooks' first cell (`:dep charlab = ...`) builds, in the kernel's first build
# folder (EVCXR_TMPDIR=target/evcxr/ctx; scripts/evcxr_kernel.sh), by running that cell in the
# kernel (a second kernel open at the same time starts from a copy of it): `make lab` and
# `make test` then find charlab and its dependencies built, and a notebook's first cell only
# checks and links (the README has the times, `make first-cell` measures them). The
# dependencies take about 650 CPU s once; after that only charlab is rebuilt, when its source
# changes. Skipped while nothing that build reads has changed. (evcxr's own `:cache` keeps
# registry crates in ~/.cache/evcxr, outside the project, and never charlab, a path crate; the
# fixed EVCXR_TMPDIR already keeps the whole build.)
prebuild_kernel() {
  local jdir=$1 stamp=target/evcxr/prebuilt.sha256 want
  want=$( { cat Cargo.toml Cargo.lock build.rs target/evcxr/.cargo/config.toml .tools/.crates.toml
            find src -type f -name '*.rs' | LC_ALL=C sort | xargs cat
            rustc -V; grep -h ':dep ' notebooks/*.ipynb | sort -u; } | sha256sum | cut -d' ' -f1)
  if [ -d target/evcxr/ctx/target ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  local start=$SECONDS
  log "building charlab in the notebook kernel (target/evcxr; the first time with its dependencies, several minutes on 2 cores)"
  JUPYTER_PATH="$jdir" JUPYTER_DATA_DIR="$jdir" .venv/bin/python scripts/kernel_first_cell.py --quiet \
    --json target/evcxr/prebuild-timings.json
  echo "$want" > "$stamp"
  log "kernel build ready in $((SECONDS - start)) s"
}

case "$what" in
  venv) setup_venv ;;
  kernel|all) setup_kernel ;;
  *) log "unknown target '$what' (venv|kernel|all)"; exit 2 ;;
esac
