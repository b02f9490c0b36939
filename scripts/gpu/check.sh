#!/usr/bin/env bash
# make gpu-bundle-check: runs the bundle's device script on this CPU machine, against the
# torch 2.11 wheel the bundle was built with (and the venv's CUDA runtime libraries, as Python
# loads them: libtorch_cuda.so opens, finds no GPU, and the work runs on the CPU), with QUICK=1.
# Checks that every step ran and that gpu.json names each network; exits 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=target/gpu-bundle
[ -f "$B/out/charlab.xz" ] || { echo "gpu-bundle-check: no bundle; run make gpu-bundle" >&2; exit 1; }
# A Python whose `torch` is the 2.11 wheel: the venv's interpreter with the wheel first on the path.
py=$B/python-2.11
cat > "$py" <<SH
#!/usr/bin/env bash
PYTHONPATH=$PWD/$B/torch-2.11.0\${PYTHONPATH:+:\$PYTHONPATH} exec $PWD/.venv/bin/python "\$@"
SH
chmod +x "$py"
out=$B/check-out
rm -rf "$out"
start=$SECONDS
OUT=$PWD/$out TORCH_PYTHON=$PWD/$py QUICK=1 BUDGET_S=600 CHARLAB_THREADS=${CHARLAB_THREADS:-2} \
  "$B/out/device.sh"
fail() { echo "gpu-bundle-check: $*" >&2; exit 1; }
grep -q '"matmul_check": "ok"' "$out/device.json" || fail "device check failed ($out/device.json)"
# The venv's CUDA runtime (torch's nvidia wheels) is here, the GPU is not: libtorch_cuda opens,
# libtorch finds no device, and the work runs on the CPU.
grep -q 'loaded at start' "$out/device.json" || fail "libtorch_cuda.so was not opened ($out/device.json)"
grep -q '"cuda_available": false' "$out/device.json" || fail "expected no GPU here"
for n in cnn cnn4 efficientnet resnet18; do
  grep -q "\"name\": \"$n\"" "$out/gpu.json" || fail "gpu.json lacks $n"
done
grep -q '"04.2-cnn"' "$out/gpu.json" || fail "gpu.json lacks the full CNN run"
grep -q "torch 2.11.0" "$out/log.txt" || fail "the device script did not run against torch 2.11"
echo "gpu-bundle-check: ok in $((SECONDS - start)) s ($out/gpu.json)"
