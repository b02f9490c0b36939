#!/usr/bin/env python3
"""Tests of scripts/gpu/gpu_json.py: a device run's folder becomes gpu.json with the ratios
to PyTorch, and whatever the run did not leave is listed as missing, not invented.

  .venv/bin/python scripts/gpu/test_gpu_json.py   (part of `make unit`)
"""
import json
import os
import subprocess
import sys
import tempfile

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu_json.py")


def write(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(value if isinstance(value, str) else json.dumps(value))


def net(name, train):
    return {"name": name, "label": name.upper(), "parameters": 10, "epochs": 1,
            "train_images_per_second": train, "inference_images_per_second": 2 * train,
            "test_accuracy": 0.5, "test_macro_f1": 0.4, "history": [{"seconds": 1.0}]}


def main():
    with tempfile.TemporaryDirectory() as out:
        write(os.path.join(out, "gpu-name.txt"), "NVIDIA H200, 580.1, 143771 MiB\n")
        write(os.path.join(out, "device.json"), {"device": "cuda:0", "cuda_available": True})
        write(os.path.join(out, "nets-1epoch.json"), {
            "data_hash": "abc", "split_sizes": [3, 1, 1],
            "networks": [net("cnn", 3000.0), net("resnet18", 100.0)]})
        write(os.path.join(out, "torch-cnn.json"), {
            "train_images_per_second_incl_validation": 1500.0,
            "inference_images_per_second": 3000.0, "test_accuracy": 0.5, "model": "cnn"})
        p = subprocess.run([sys.executable, SCRIPT, out], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"test_gpu_json: FAILED: exit {p.returncode}\n{p.stderr}")
        with open(os.path.join(out, "gpu.json")) as f:
            g = json.load(f)
        cnn = next(n for n in g["networks"] if n["name"] == "cnn")
        checks = [
            (g["gpu"]["name"] == "NVIDIA H200", "GPU name from nvidia-smi"),
            (abs(cnn["train_ratio"] - 2.0) < 1e-12, "train ratio to PyTorch"),
            (abs(cnn["inference_ratio"] - 2.0) < 1e-12, "inference ratio to PyTorch"),
            ("pytorch" not in g["networks"][1], "no PyTorch row invented for ResNet-18"),
            ("full/04.2-cnn.json" in g["missing"], "the missing full run is listed"),
            (g["full_runs"] == {}, "no full run invented"),
        ]
        for ok, what in checks:
            if not ok:
                sys.exit(f"test_gpu_json: FAILED: {what}\n{json.dumps(g, indent=1)}")
    print("test_gpu_json: ok")


if __name__ == "__main__":
    main()
