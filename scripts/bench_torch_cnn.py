#!/usr/bin/env python3
"""Trains the crate's CNN in plain PyTorch on a split written by the Rust tool (benchmark).

Called by `make bench-neural`; by hand:
  .venv/bin/python scripts/bench_torch_cnn.py --data train.pkl --split split.json --out result.json
      [--epochs 2] [--threads T] [--seed 0] [--subset N] [--channels-last] [--autocast bf16]
      [--model cnn|efficientnet] [--device cpu|cuda]

Same network and training as src/models/cnn.rs and src/training.rs: three blocks of conv 3x3
(same padding) -> max-pool 2 -> ReLU with 32/64/128 filters, dropout 0.25, flatten (128*7*7),
linear 256, ReLU, dropout 0.5, linear 36; Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), batch 128,
cross-entropy, pixels normalised by the scalar mean/std of the training images. The data path is
the idiomatic one (TensorDataset + DataLoader, shuffle=True, num_workers=0), since the benchmark
compares against the typical Python pipeline. `--subset N` keeps the first N training indices.
`--channels-last` stores the model's weights channels-last (charlab's default layout);
`make bench-neural` runs it a second time that way, with glibc's allocator set as charlab sets
it (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_), to show what those two settings are worth.
`--autocast bf16` runs the forward passes and the loss under `torch.autocast("cpu",
dtype=torch.bfloat16)` (fp32 weights, optimiser and loss value), as charlab's `--precision
bf16` does. `--model efficientnet` trains timm's efficientnet_b0 (1 input channel, 36 classes,
random initial weights) instead of the CNN, at batch 128 with the same optimiser. `--device
cuda` trains on the GPU (the GPU bundle's device script: scripts/gpu/device.sh).
Writes the per-epoch history, test accuracy / macro F1, throughputs and peak RSS to --out.
"""
import argparse
import json
import os
import pickle
import resource
import sys
import time

import numpy as np
import torch
try:
    from sklearn.metrics import f1_score
except ImportError:  # the GPU machine's Python has torch, torchvision and timm only
    f1_score = None
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def fail(msg):
    print(f"bench_torch_cnn: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load(data_path, split_path):
    """(X [n, 56, 56] uint8 0/1, y [n] int64, split indices) checked."""
    try:
        with open(data_path, "rb") as f:
            X, y = pickle.load(f)
        X, y = np.asarray(X), np.asarray(y).reshape(-1).astype(np.int64)
        X = X.reshape(len(X), 56, 56)
    except Exception as e:  # pickle can raise nearly anything on a bad file
        fail(f"cannot read the data pickle {data_path} (needs X [n, 3136], y [n, 1]): {e}")
    if len(X) != len(y) or len(X) == 0 or X.max() > 1 or y.min() < 0 or y.max() >= 36:
        fail(f"{data_path}: expected 0/1 pixels, labels in 0..35 and as many labels as images")
    try:
        with open(split_path) as f:
            split = json.load(f)
        idx = {k: np.asarray(split[k], dtype=np.int64) for k in ("train", "validation", "test")}
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        fail(f"cannot read the split {split_path} (needs train/validation/test lists): {e}")
    for k, v in idx.items():
        if v.ndim != 1 or len(v) == 0 or v.min() < 0 or v.max() >= len(X):
            fail(f"{split_path}: `{k}` must be a non-empty list of row indices < {len(X)}")
    return X, y, idx


def make_cnn():
    layers, c = [], 1
    for filters in (32, 64, 128):
        layers += [nn.Conv2d(c, filters, 3, padding=1), nn.MaxPool2d(2), nn.ReLU()]
        c = filters
    return nn.Sequential(*layers, nn.Dropout(0.25), nn.Flatten(), nn.Linear(128 * 7 * 7, 256),
                         nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 36))


def macro_f1(truth, pred):
    """scikit-learn's f1_score(average="macro"): over the classes in truth or predictions."""
    if f1_score is not None:
        return float(f1_score(truth, pred, average="macro"))
    scores = []
    for c in np.union1d(truth, pred):
        tp = np.sum((truth == c) & (pred == c))
        fp, fn = np.sum((truth != c) & (pred == c)), np.sum((truth == c) & (pred != c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def evaluate(model, loader, bf16=False, device="cpu"):
    """Mean cross-entropy, accuracy and predictions (eval mode, no grad)."""
    model.eval()
    loss_sum, preds, labels = 0.0, [], []
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb).float()
            loss_sum += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            preds.append(logits.argmax(1))
            labels.append(yb)
    preds, labels = torch.cat(preds).cpu(), torch.cat(labels).cpu()
    return loss_sum / len(labels), (preds == labels).float().mean().item(), preds, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="pickle of (X uint8 [n, 3136], y int [n, 1])")
    ap.add_argument("--split", required=True, help="split JSON written by the Rust tool")
    ap.add_argument("--out", required=True, help="result JSON to write")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--subset", type=int, default=None, help="first N training indices only")
    ap.add_argument("--channels-last", action="store_true",
                    help="model weights and batches in torch.channels_last")
    ap.add_argument("--autocast", choices=["off", "bf16"], default="off",
                    help="bf16 autocast for the forward passes and the loss (CPU)")
    ap.add_argument("--model", choices=["cnn", "efficientnet"], default="cnn")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = ap.parse_args()
    if args.epochs < 1 or (args.subset is not None and args.subset < 1):
        fail("--epochs and --subset must be at least 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    X, y, idx = load(args.data, args.split)
    train_idx = idx["train"][: args.subset] if args.subset else idx["train"]
    # Pixels are 0/1: population std = sqrt(m - m^2), as the crate's Normalizer computes it.
    mean = float(X[train_idx].mean(dtype=np.float64))
    std = float(np.sqrt(mean - mean * mean))

    def dataset(ix):
        x = (torch.from_numpy(X[ix]).float().unsqueeze(1) - mean) / std
        return TensorDataset(x, torch.from_numpy(y[ix]))

    train_ds, val_ds, test_ds = dataset(train_idx), dataset(idx["validation"]), dataset(idx["test"])
    gen = torch.Generator().manual_seed(args.seed)
    train_dl = DataLoader(train_ds, batch_size=128, shuffle=True, num_workers=0, generator=gen)
    val_dl = DataLoader(val_ds, batch_size=1024, shuffle=False, num_workers=0)
    test_dl = DataLoader(test_ds, batch_size=1024, shuffle=False, num_workers=0)

    if args.model == "cnn":
        model = make_cnn()
    else:
        import timm
        model = timm.create_model("efficientnet_b0", pretrained=False, in_chans=1, num_classes=36)
    bf16 = args.autocast == "bf16"
    if args.device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: torch sees no GPU")
    model = model.to(args.device)
    if args.channels_last:
        # Channels-last weights make the convolutions (and the pooling after them) NHWC; a
        # one-channel batch is the same array in either layout, so the batches stay as they are.
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    history, train_s, total_s = [], 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        loss_sum = 0.0
        for xb, yb in train_dl:
            opt.zero_grad()
            xb, yb = xb.to(args.device), yb.to(args.device)
            with torch.autocast(args.device, dtype=torch.bfloat16, enabled=bf16):
                loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)
        t_train = time.perf_counter() - t0
        val_loss, val_acc, _, _ = evaluate(model, val_dl, bf16, args.device)
        seconds = time.perf_counter() - t0
        train_s, total_s = train_s + t_train, total_s + seconds
        history.append({"epoch": epoch, "train_loss": loss_sum / len(train_ds),
                        "val_loss": val_loss, "val_accuracy": val_acc, "seconds": seconds,
                        "train_seconds": t_train})
        print(f"epoch {epoch}/{args.epochs}: train loss {history[-1]['train_loss']:.4f}, "
              f"val loss {val_loss:.4f}, val accuracy {100 * val_acc:.2f}%, {seconds:.1f} s "
              f"({t_train:.1f} s training)", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    _, test_acc, preds, labels = evaluate(model, test_dl, bf16, args.device)
    infer_s = time.perf_counter() - t0
    out = {
        "tool": "pytorch", "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "channels_last": args.channels_last, "autocast": args.autocast, "model": args.model,
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
        "epochs": args.epochs, "seed": args.seed, "subset": args.subset,
        "n_train": len(train_ds), "n_validation": len(val_ds), "n_test": len(test_ds),
        "normalizer": {"mean": mean, "std": std}, "history": history,
        "test_accuracy": test_acc,
        "test_macro_f1": macro_f1(labels.numpy(), preds.numpy()),
        "train_images_per_second": len(train_ds) * args.epochs / train_s,
        "train_images_per_second_incl_validation": len(train_ds) * args.epochs / total_s,
        "inference_images_per_second": len(test_ds) / infer_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_gpu_mb": (torch.cuda.max_memory_allocated() / 2**20
                        if args.device == "cuda" else 0.0),
    }
    tmp = f"{args.out}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.out)
    except OSError as e:
        fail(f"cannot write {args.out}: {e}")
    print(f"pytorch {args.model} (autocast {args.autocast}): test accuracy {100 * test_acc:.2f}%, macro F1 "
          f"{100 * out['test_macro_f1']:.2f}%, train {out['train_images_per_second']:.0f} img/s, "
          f"inference {out['inference_images_per_second']:.0f} img/s, "
          f"peak RSS {out['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
