#!/usr/bin/env python3
"""The report's scikit-learn baselines on a split written by the Rust tool (benchmark reference).

Called by `make bench-baselines`; by hand:
  .venv/bin/python scripts/bench_sklearn.py --data train.pkl --split split.json --out result.json
      [--model logreg|svm|all] [--subset N] [--threads T]

Fits on train+validation merged (raw 0/1 pixels as float64, no scaling) and evaluates on test:
LogisticRegression(C=1, max_iter=1000, lbfgs) and SVC(rbf, C=1, gamma="scale", tol=1e-3,
max_iter=1000, ovo). `--subset N` keeps the first N train+validation and first N//5 test
indices (quick checks). `--threads` caps the BLAS/OpenMP threads (set before numpy loads).
Writes {"tool", "version", "threads", "models": {...}} atomically to --out.
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--data", required=True, help="pickle of (X uint8 [n, 3136], y int [n, 1])")
ap.add_argument("--split", required=True, help="split JSON written by the Rust tool")
ap.add_argument("--out", required=True, help="result JSON to write")
ap.add_argument("--model", choices=["logreg", "svm", "all"], default="all")
ap.add_argument("--subset", type=int, default=None, help="first N train+val, N//5 test indices")
ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads")
args = ap.parse_args()
if args.threads is not None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

import json  # noqa: E402
import pickle  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

N_CLASSES = 36


def fail(msg):
    print(f"bench_sklearn: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load(data_path, split_path):
    """(X, y, split) checked: X [n, p] 0/1, y [n], split indices within [0, n)."""
    try:
        with open(data_path, "rb") as f:
            X, y = pickle.load(f)
        X, y = np.asarray(X), np.asarray(y).reshape(-1)
    except Exception as e:  # pickle can raise nearly anything on a bad file
        fail(f"cannot read the data pickle {data_path}: {e}")
    if X.ndim != 2 or len(X) != len(y) or len(X) == 0:
        fail(f"{data_path}: expected X [n, pixels] and y [n, 1], got {X.shape} and {y.shape}")
    try:
        with open(split_path) as f:
            split = json.load(f)
        idx = {k: np.asarray(split[k], dtype=np.int64) for k in ("train", "validation", "test")}
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        fail(f"cannot read the split {split_path} (needs train/validation/test lists): {e}")
    for k, v in idx.items():
        if v.ndim != 1 or len(v) == 0 or v.min() < 0 or v.max() >= len(X):
            fail(f"{split_path}: `{k}` must be a non-empty list of row indices < {len(X)}")
    return X, y.astype(np.int64), idx, split.get("data_hash")


def evaluate(name, model, X_fit, y_fit, X_test, y_test):
    """Fits and predicts with timings, metrics and any warnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        model.fit(X_fit, y_fit)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = model.predict(X_test)
        predict_s = time.perf_counter() - t0
    per_class = f1_score(y_test, pred, labels=range(N_CLASSES), average=None, zero_division=0)
    params = {k: v for k, v in model.get_params().items()
              if v is None or isinstance(v, (int, float, str))}
    res = {
        "params": params,
        "n_fit": len(y_fit),
        "n_test": len(y_test),
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "accuracy": accuracy_score(y_test, pred),
        "macro_f1": f1_score(y_test, pred, average="macro"),
        "per_class_f1": [float(v) for v in per_class],
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }
    if name == "logreg":
        res["n_iter"] = int(np.max(model.n_iter_))
        res["converged"] = res["n_iter"] < model.max_iter
    else:
        res["n_support_vectors"] = int(model.n_support_.sum())
        res["converged"] = not any("ConvergenceWarning" in w for w in res["warnings"])
    return res


def main():
    X, y, idx, data_hash = load(args.data, args.split)
    fit_idx = np.concatenate([idx["train"], idx["validation"]])
    test_idx = idx["test"]
    if args.subset is not None:
        if args.subset < 5:
            fail("--subset must be at least 5")
        fit_idx, test_idx = fit_idx[: args.subset], test_idx[: args.subset // 5]
    X_fit, y_fit = X[fit_idx].astype(np.float64), y[fit_idx]
    X_test, y_test = X[test_idx].astype(np.float64), y[test_idx]
    models = {
        "logreg": lambda: LogisticRegression(C=1.0, max_iter=1000, solver="lbfgs"),
        "svm": lambda: SVC(kernel="rbf", C=1.0, gamma="scale", tol=1e-3, max_iter=1000,
                           decision_function_shape="ovo"),
    }
    names = list(models) if args.model == "all" else [args.model]
    out = {"tool": "scikit-learn", "version": sklearn.__version__, "threads": args.threads,
           "data_hash": data_hash, "subset": args.subset, "models": {}}
    for name in names:
        print(f"[{name}] fitting on {len(y_fit)} images ...", file=sys.stderr, flush=True)
        r = evaluate(name, models[name](), X_fit, y_fit, X_test, y_test)
        out["models"][name] = r
        extra = (f"{r['n_iter']} iterations" if name == "logreg"
                 else f"{r['n_support_vectors']} support vectors")
        print(f"{name}: accuracy {100 * r['accuracy']:.2f}%, macro F1 {100 * r['macro_f1']:.2f}%, "
              f"fit {r['fit_seconds']:.1f} s, predict {r['predict_seconds']:.2f} s, {extra}, "
              f"converged {r['converged']}")
    tmp = f"{args.out}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.out)
    except OSError as e:
        fail(f"cannot write {args.out}: {e}")


if __name__ == "__main__":
    main()
