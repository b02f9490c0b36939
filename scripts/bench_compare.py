#!/usr/bin/env python3
"""Prints the benchmark tables of `make bench-baselines` (charlab against scikit-learn) and
`make bench-neural` (charlab's CNN against the same CNN in PyTorch).

  .venv/bin/python scripts/bench_compare.py baselines target/bench
  .venv/bin/python scripts/bench_compare.py neural target/bench

neural reads torch-cnn.json (scripts/bench_torch_cnn.py), optionally torch-cnn-tuned.json (the
same with --channels-last and charlab's allocator settings), and root/report/results/04.2-cnn.json
(`charlab train cnn` with CHARLAB_ROOT=<folder>/root) and writes neural.md.

Reads, from the folder given: sklearn.json (scripts/bench_sklearn.py), root/report/results/
04.1-baselines.json (`charlab baselines` run with CHARLAB_ROOT=<folder>/root), optionally
root-linfa/report/results/04.1-baselines.json (the linfa-logistic solver, capped) and
svm-solvers.json (`charlab bench-svm-solvers`). Writes baselines.md beside them.
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"bench_compare: cannot read {path}: {e}; run `make bench-baselines` first")


def baselines(folder):
    sk = load(os.path.join(folder, "sklearn.json"))
    ours = load(os.path.join(folder, "root", "report", "results", "04.1-baselines.json"))
    rows = []
    lines = [
        f"charlab ({ours['threads']} threads) against scikit-learn {sk['version']} "
        f"({sk['threads']} threads), same split (seed {ours['config']['split_seed']}), "
        f"data {ours['data_hash'][:16]}",
        "",
        "| model | tool | accuracy % | macro F1 % | fit s | predict s | fit+predict s | charlab / scikit-learn |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pairs = [("logreg", "logreg"), ("svm", "svm")]
    for sk_name, our_name in pairs:
        s = sk["models"].get(sk_name)
        o = next((m for m in ours["models"] if m["name"] == our_name), None)
        if s is None or o is None:
            continue
        s_total = s["fit_seconds"] + s["predict_seconds"]
        o_total = o["fit_seconds"] + o["predict_seconds"]
        extra = ""
        if sk_name == "logreg":
            extra = f" ({s['n_iter']} iterations{'' if s['converged'] else ', not converged'})"
            rep = o["fit_report"]
            oextra = f" ({rep['iterations']} iterations, {rep['status']})"
        else:
            rep = o["fit_report"]
            oextra = f" ({rep['converged_pairs']}/{rep['pairs']} pairs converged)"
            extra = f" ({len(s['warnings'])} warnings)"
        lines.append(
            f"| {sk_name} | scikit-learn{extra} | {100 * s['accuracy']:.2f} | {100 * s['macro_f1']:.2f} | "
            f"{s['fit_seconds']:.1f} | {s['predict_seconds']:.2f} | {s_total:.1f} | |"
        )
        lines.append(
            f"| {sk_name} | charlab{oextra} | {100 * o['accuracy']:.2f} | {100 * o['macro_f1']:.2f} | "
            f"{o['fit_seconds']:.1f} | {o['predict_seconds']:.2f} | {o_total:.1f} | "
            f"fit {o['fit_seconds'] / s['fit_seconds']:.3f}x, fit+predict {o_total / s_total:.3f}x, "
            f"accuracy {100 * (o['accuracy'] - s['accuracy']):+.2f} points |"
        )
    conv = next((m for m in ours["models"] if m["name"] == "svm-converged"), None)
    if conv:
        lines.append(
            f"| svm, no iteration cap | charlab | {100 * conv['accuracy']:.2f} | {100 * conv['macro_f1']:.2f} | "
            f"{conv['fit_seconds']:.1f} | {conv['predict_seconds']:.2f} | "
            f"{conv['fit_seconds'] + conv['predict_seconds']:.1f} | |"
        )
    linfa_lr = os.path.join(folder, "root-linfa", "report", "results", "04.1-baselines.json")
    ours_lr = next((m for m in ours["models"] if m["name"] == "logreg"), None)
    if os.path.exists(linfa_lr) and ours_lr:
        lf = next((m for m in load(linfa_lr)["models"] if m["name"] == "logreg"), None)
        if lf:
            lines += [
                "",
                "Logistic-regression solvers, same problem and threads (linfa-logistic capped, "
                "it is too slow to run to convergence in a benchmark):",
                "",
                "| solver | iterations | status | objective | accuracy % | fit s | s per iteration |",
                "|---|---|---|---|---|---|---|",
            ]
            for name, m in [("charlab sparse L-BFGS", ours_lr), ("linfa-logistic (chunks of 50)", lf)]:
                r = m["fit_report"]
                lines.append(
                    f"| {name} | {r['iterations']} | {r['status']} | {r['objective']:.6f} | "
                    f"{100 * m['accuracy']:.2f} | {m['fit_seconds']:.1f} | "
                    f"{m['fit_seconds'] / max(r['iterations'], 1):.3f} |"
                )
    solvers = os.path.join(folder, "svm-solvers.json")
    if os.path.exists(solvers):
        t = load(solvers)
        lines += [
            "",
            "SVM binary solvers, one pair at a time, one thread (no iteration cap, tol 1e-3):",
            "",
            "| pair | images | linfa-svm s | popcount + SMO s | speed-up | max decision difference |",
            "|---|---|---|---|---|---|",
        ]
        for p in t["pairs"]:
            lines.append(
                f"| {p['pair']} | {p['n']} | {p['linfa_seconds']:.2f} | {p['popcount_seconds']:.3f} | "
                f"{p['linfa_seconds'] / max(p['popcount_seconds'], 1e-9):.0f}x | {p['max_decision_difference']:.1e} |"
            )
        lines.append("")
        lines.append(
            f"linfa-svm on all {t['all_pairs']} pairs, one thread, estimated from these pairs "
            f"(time grows with n^2): {t['linfa_all_pairs_estimate_seconds']:.0f} s"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(folder, "baselines.md")
    with open(out + ".tmp", "w") as f:
        f.write(text)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}")


def neural(folder):
    pt = load(os.path.join(folder, "torch-cnn.json"))
    tuned_path = os.path.join(folder, "torch-cnn-tuned.json")
    tuned = load(tuned_path) if os.path.exists(tuned_path) else None
    ours = load(os.path.join(folder, "root", "report", "results", "04.2-cnn.json"))
    torch_runs = [pt] + ([tuned] if tuned else [])

    def row(name, theirs, mine, fmt, compare):
        cells = [fmt(theirs(r)) for r in torch_runs] + [fmt(mine)]
        cells += [compare(mine, theirs(r)) for r in torch_runs]
        return [name] + cells

    ratio = lambda a, b: f"{a / b:.2f}x"
    points = lambda a, b: f"{100 * (a - b):+.2f} points"
    whole = lambda v: f"{v:.0f}"
    pct = lambda v: f"{100 * v:.2f}"
    rows = [
        row("train images/s (epochs incl. validation)",
            lambda r: r["train_images_per_second_incl_validation"],
            ours["train_images_per_second"], whole, ratio),
        row("inference images/s (test)", lambda r: r["inference_images_per_second"],
            ours["inference_images_per_second"], whole, ratio),
        row("peak memory MB", lambda r: r["peak_rss_mb"], ours["peak_memory_mb"], whole, ratio),
        row("test accuracy %", lambda r: r["test_accuracy"], ours["test_accuracy"], pct, points),
        row("test macro F1 %", lambda r: r["test_macro_f1"], ours["test_macro_f1"], pct, points),
    ]
    heads = ["measure", "PyTorch"] + (["PyTorch, charlab's settings"] if tuned else []) + [
        "charlab", "charlab / PyTorch"] + (["charlab / PyTorch, same settings"] if tuned else [])
    layout = "channels-last" if ours.get("channels_last") else "NCHW"
    lines = [
        f"The report's CNN, {pt['epochs']} epochs, batch 128, Adam 1e-3: PyTorch {pt['torch_version']} "
        f"({pt['threads']} threads, DataLoader) against charlab ({ours['threads']} threads, "
        f"{layout} weights), same split. PyTorch is scored with its last epoch, charlab with its "
        "best-validation-loss epoch."
        + (" \"PyTorch, charlab's settings\": channels-last weights and MALLOC_MMAP_MAX_=0 "
           "MALLOC_TRIM_THRESHOLD_=2147483647 (what `charlab::keep_freed_memory` sets)." if tuned else ""),
        "",
        "| " + " | ".join(heads) + " |",
        "|" + "---|" * len(heads),
    ] + ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(folder, "neural.md")
    with open(out + ".tmp", "w") as f:
        f.write(text)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("baselines", "neural"):
        sys.exit(__doc__)
    {"baselines": baselines, "neural": neural}[sys.argv[1]](sys.argv[2])
