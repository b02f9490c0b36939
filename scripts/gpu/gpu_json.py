#!/usr/bin/env python3
"""Summarises a device run's folder (scripts/gpu/device.sh's $OUT) as gpu.json, the file the
repository keeps as report/results/gpu.json:

  python3 gpu_json.py OUT

device name, driver and memory (nvidia-smi), what charlab's libtorch saw (device.json), per
network charlab's train and inference images/s of one epoch (nets-1epoch.json) beside
PyTorch's for the CNN and EfficientNet-b0 (torch-*.json), and the full runs' test accuracy,
macro F1, epochs and time (full/*.json). Missing pieces are left out and listed under
"missing"; nothing is invented.
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gpu_json.py OUT")
    out = sys.argv[1]
    missing = []
    gpu = {}
    try:
        with open(os.path.join(out, "gpu-name.txt")) as f:
            name, driver, memory = [x.strip() for x in f.readline().split(",")][:3]
            gpu = {"name": name, "driver": driver, "memory": memory}
    except (OSError, ValueError):
        missing.append("gpu-name.txt (nvidia-smi)")
    device = load(os.path.join(out, "device.json"))
    if device is None:
        missing.append("device.json")
    nets = load(os.path.join(out, "nets-1epoch.json"))
    networks = []
    if nets is None:
        missing.append("nets-1epoch.json")
    else:
        torch_of = {"cnn": "torch-cnn.json", "efficientnet": "torch-efficientnet.json"}
        for n in nets["networks"]:
            row = {k: n[k] for k in ("name", "label", "parameters", "epochs",
                                     "train_images_per_second", "inference_images_per_second",
                                     "test_accuracy", "test_macro_f1")}
            t = load(os.path.join(out, torch_of[n["name"]])) if n["name"] in torch_of else None
            if t is not None:
                row["pytorch"] = {
                    "train_images_per_second": t["train_images_per_second_incl_validation"],
                    "inference_images_per_second": t["inference_images_per_second"],
                    "test_accuracy": t["test_accuracy"], "model": t.get("model"),
                    "torch_version": t.get("torch_version")}
                row["train_ratio"] = row["train_images_per_second"] / max(
                    row["pytorch"]["train_images_per_second"], 1e-9)
                row["inference_ratio"] = row["inference_images_per_second"] / max(
                    row["pytorch"]["inference_images_per_second"], 1e-9)
            elif n["name"] in torch_of:
                missing.append(torch_of[n["name"]])
            networks.append(row)
    full = {}
    for res in ("04.2-cnn", "04.3-efficientnet"):
        r = load(os.path.join(out, "full", f"{res}.json"))
        if r is None:
            missing.append(f"full/{res}.json")
            continue
        full[res] = {"test_accuracy": r["test_accuracy"], "test_macro_f1": r["test_macro_f1"],
                     "epochs": len(r["history"]), "best_epoch": r["best_epoch"],
                     "train_seconds": r["train_seconds"],
                     "train_images_per_second": r["train_images_per_second"],
                     "inference_images_per_second": r["inference_images_per_second"],
                     "device": r.get("device"), "data_hash": r.get("data_hash")}
    summary = {"gpu": gpu, "charlab_device": device, "data_hash": (nets or {}).get("data_hash"),
               "split_sizes": (nets or {}).get("split_sizes"), "networks": networks,
               "full_runs": full, "missing": missing}
    with open(os.path.join(out, "gpu.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(f"gpu.json: {len(networks)} networks, {len(full)} full runs"
          + (f"; missing: {', '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
