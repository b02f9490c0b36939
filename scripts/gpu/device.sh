#!/usr/bin/env bash
# The GPU device script: runs from the bundle folder (scripts/gpu/bundle.sh made it) on the lent
# machine, in one call well inside its 10 minutes, and leaves everything in $OUT:
#   nvidia-smi.txt, device.json       the card, the driver, what charlab's libtorch sees
#   nets-1epoch.json                  one epoch of the CNN, the 4-block CNN, EfficientNet-b0 and
#                                     ResNet-18 on the stand-in (charlab bench-nets): images/s
#   torch-cnn.json, torch-efficientnet.json   the same CNN and EfficientNet-b0 epoch in PyTorch
#                                     on the same GPU (bench_torch_cnn.py --device cuda)
#   full/04.2-cnn.json, full/04.3-efficientnet.json   the report's CNN for its 25 epochs, then
#                                     EfficientNet-b0 if the time left allows (predicted from
#                                     its one-epoch time); each run folder's history and config
#   gpu.json                          the summary (gpu_json.py): report/results/gpu.json
#   log.txt                           everything printed
# Environment: OUT (default ./out-local), TORCH_PYTHON (default /opt/torch/.venv/bin/python3),
# BUDGET_S (seconds the script may take, default 540), QUICK=1 (the CPU check of make
# gpu-bundle-check: small data, 2 and 1 epochs, CPU allowed).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/out-local}
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
BUDGET_S=${BUDGET_S:-540}
QUICK=${QUICK:-0}
mkdir -p "$OUT/full"
exec > >(tee -a "$OUT/log.txt") 2>&1
start=$SECONDS
say() { printf '[device %4d s] %s\n' $((SECONDS - start)) "$*"; }
left() { echo $((BUDGET_S - (SECONDS - start))); }

[ -x "$PY" ] || PY=$(command -v python3)
# Every folder a torch import loads shared libraries from: torch/lib and the CUDA runtime's
# (nvidia/*/lib, which the wheel's libtorch_cpu needs and finds only through Python's preload).
lib=$("$PY" -c 'import os, torch
dirs = [os.path.join(os.path.dirname(torch.__file__), "lib")]
for line in open("/proc/self/maps"):
    p = line.split()[-1]
    d = os.path.dirname(p)
    if "/nvidia/" in p and ".so" in os.path.basename(p) and d not in dirs:
        dirs.append(d)
print(":".join(dirs))') || { say "no torch in $PY: set TORCH_PYTHON to a Python with torch 2.11"; exit 1; }
tv=$("$PY" -c 'import torch; print(torch.__version__)')
say "torch $tv; libraries from ${lib//:/ }"
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
  "$here/charlab.xz" "$work/charlab" && chmod +x "$work/charlab"
data_args=()
if [ -f "$here/train.pkl.gz" ]; then
  "$PY" -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "$here/train.pkl.gz" "$work/train.pkl"
  data_args=(--data "$work/train.pkl")
fi
need=$(cat "$here/glibc-required.txt" 2>/dev/null || echo 0)
have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  say "this machine's glibc $have is older than the $need the binary was linked against:" \
    "build the bundle on a system with glibc <= $have"; exit 1
fi
export CHARLAB_ROOT=$work/root
mkdir -p "$CHARLAB_ROOT"
C=$work/charlab

command -v nvidia-smi >/dev/null && nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader > "$OUT/gpu-name.txt" 2>&1
say "device check"
"$C" device | tee "$OUT/device.json" || { say "charlab device failed"; exit 1; }
on_gpu=$(grep -q '"cuda_available": true' "$OUT/device.json" && echo 1 || echo 0)
if [ "$on_gpu" = 0 ] && [ "$QUICK" != 1 ]; then
  say "libtorch sees no GPU: see device.json (cuda_library) for why"; exit 1
fi
tdev=$([ "$on_gpu" = 1 ] && echo cuda || echo cpu)

if [ "$QUICK" = 1 ]; then
  bench=(--quick --epochs 1); train_cnn=(--quick); train_eff=(--quick); torch_sub=(--subset 500)
  data_args=()
else
  bench=(--epochs 1); train_cnn=(); train_eff=(); torch_sub=()
fi

say "one epoch of each network (charlab bench-nets)"
"$C" bench-nets "${data_args[@]}" "${bench[@]}" --out "$OUT/nets-1epoch.json"

if [ -f "$work/train.pkl" ]; then
  "$C" split --data "$work/train.pkl" --seed 0 --out "$work/split.json" >/dev/null
  for m in cnn efficientnet; do
    say "PyTorch: one $m epoch on $tdev"
    "$PY" "$here/bench_torch_cnn.py" --data "$work/train.pkl" --split "$work/split.json" \
      --model "$m" --epochs 1 --device "$tdev" "${torch_sub[@]}" --out "$OUT/torch-$m.json" \
      || say "PyTorch $m failed (timm missing?)"
  done
fi

# The full runs, each only when its predicted time fits in what is left (plus a margin).
epoch_s() {  # seconds of one epoch of network $1 from nets-1epoch.json
  "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
r = [n for n in d["networks"] if n["name"] == sys.argv[2]]
print(int(sum(h["seconds"] for h in r[0]["history"]) + 1) if r else 10**6)' "$OUT/nets-1epoch.json" "$1"
}
full() {  # $1 model name for bench, $2 train subcommand, $3 results name, rest: args
  local name=$1 sub=$2 res=$3; shift 3
  local epochs=25 need
  [ "$QUICK" = 1 ] && epochs=2
  need=$(( $(epoch_s "$name") * epochs + 30 ))
  if [ "$need" -gt "$(left)" ]; then
    say "skipping the full $sub run: needs about $need s, $(left) s left"; return
  fi
  say "full $sub run (about $need s)"
  "$C" train "$sub" "${data_args[@]}" "$@" || { say "full $sub run failed"; return; }
  # A quick run writes under target/quick/ of the root: find the files wherever they are.
  local f d
  f=$(find "$CHARLAB_ROOT" -path '*results*' -name "$res.json" | head -1)
  [ -n "$f" ] && cp "$f" "$OUT/full/"
  d=$(find "$CHARLAB_ROOT" -path '*models*' -type d -name "$res" | head -1)
  if [ -n "$d" ]; then
    mkdir -p "$OUT/full/$res"
    cp "$d"/config.json "$d"/history.jsonl "$OUT/full/$res/" 2>/dev/null
  fi
}
full cnn cnn 04.2-cnn "${train_cnn[@]}"
full efficientnet efficientnet 04.3-efficientnet "${train_eff[@]}"

"$PY" "$here/gpu_json.py" "$OUT" && say "wrote $OUT/gpu.json"
say "done"
