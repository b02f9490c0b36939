#!/usr/bin/env bash
# Fuzzes every reader of outside bytes with cargo-fuzz (libFuzzer + AddressSanitizer):
#   pickle      train.pkl: data::pickle::read_xy, then data::load_pickle
#   emnist_idx  EMNIST IDX files raw and gzip, mapping files, whole folders (data::emnist)
#   run_files   run-folder and results JSON read back (history.jsonl, normalizer.json,
#               ensemble.json, results files) and the code that reads their values
#   checkpoint  safetensors weights: Tensor::read_safetensors, load_pretrained, and a run
#               folder's best.safetensors through inference::Predictor::load
# Usage: scripts/fuzz.sh [target...]   (default: all four), each for FUZZ_S seconds (default 60).
#
# Installs cargo-fuzz into .tools/ on first use. libFuzzer needs nightly-only rustc flags
# (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them, for this
# build only: fuzz/ is its own workspace with its own target/ folder, so `make test` and
# `make reproduce` never see it. The committed seeds (fuzz/seeds/<target>/) are copied into the
# working corpus (fuzz/corpus/<target>/, ignored, growing from run to run). A crash's input is
# written to fuzz/artifacts/<target>/ (ignored) and the script fails after the last target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CARGO_FUZZ_VERSION=0.13.2
FUZZ_S=${FUZZ_S:-60}
ALL=(pickle emnist_idx run_files checkpoint)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

log() { printf '[fuzz] %s\n' "$*" >&2; }

cargo_fuzz=$root/.tools/bin/cargo-fuzz
if [ ! -x "$cargo_fuzz" ] || ! grep -q "cargo-fuzz $CARGO_FUZZ_VERSION" .tools/.crates.toml 2>/dev/null; then
  start=$SECONDS
  log "building cargo-fuzz $CARGO_FUZZ_VERSION into .tools/ (~3 min on 2 cores, once)"
  cargo install --quiet --locked --root .tools "cargo-fuzz@$CARGO_FUZZ_VERSION"
  log "cargo-fuzz ready in $((SECONDS - start)) s"
fi

export RUSTC_BOOTSTRAP=1
# libtorch from the project's venv (`make venv`), as the Makefile sets it up for every target.
export VIRTUAL_ENV=$root/.venv PATH=$root/.venv/bin:$PATH LIBTORCH_USE_PYTORCH=1
# The targets write each input to files in scratch folders under TMPDIR: in memory (/dev/shm)
# where there is one, since rewriting a file on ext4 flushes it to disk on close (emnist_idx
# ran 25 times slower on disk); removed at the end.
mkdir -p fuzz/target/logs
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPDIR=$(mktemp -d /dev/shm/charlab-fuzz.XXXXXX)
else
  mkdir -p fuzz/target && TMPDIR=$(mktemp -d "$root/fuzz/target/tmp.XXXXXX")
fi
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

start=$SECONDS
# Release with debug assertions (overflow checks on) and AddressSanitizer: cargo-fuzz's defaults.
# The binaries find libtorch through the rpath that fuzz/build.rs embeds.
"$cargo_fuzz" build --fuzz-dir fuzz
log "build: $((SECONDS - start)) s"
bin_dir=fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release

failed=()
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  artifacts=fuzz/artifacts/$t
  out=fuzz/target/logs/$t.log
  mkdir -p "$corpus" "$artifacts"
  cp fuzz/seeds/"$t"/* "$corpus"/
  start=$SECONDS
  rc=0
  # -timeout: an input taking longer than 30 s is a finding (a hang); -rss_limit_mb (2 GB, the
  # default) also catches a header that makes a reader allocate far more than the input holds.
  "$bin_dir/$t" "$corpus" -artifact_prefix="$artifacts/" -max_total_time="$FUZZ_S" \
    -timeout=30 -print_final_stats=1 >"$out" 2>&1 || rc=$?
  secs=$((SECONDS - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  inputs=$(sed -n 's/.*Test unit written to //p' "$out" | grep -E '/(crash|leak|oom|timeout)-' || true)
  crashes=$(grep -c . <<<"$inputs" || true)
  printf '[make] fuzz %-10s %10s executions in %4d s, corpus %5d inputs, %d crashes\n' \
    "$t" "${execs:-?}" "$secs" "$size" "$crashes"
  if [ "$crashes" -gt 0 ] || [ "$rc" -ne 0 ]; then
    failed+=("$t")
    grep -E '^(==[0-9]+==ERROR|SUMMARY|thread .* panicked)' "$out" | head -5 >&2 || true
    if [ "$crashes" -gt 0 ]; then
      log "input: $inputs"
      log "replay: $bin_dir/$t <input>; minimise: RUSTC_BOOTSTRAP=1 .tools/bin/cargo-fuzz tmin $t <input>"
    else
      log "$t exited with status $rc without a crash input:"
      tail -20 "$out" >&2
    fi
    log "full log: $out"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  log "findings in: ${failed[*]}"
  exit 1
fi
