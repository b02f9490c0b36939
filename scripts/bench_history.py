#!/usr/bin/env python3
"""Keeps the benchmarks' numbers with their commit and machine, and flags a slowdown.

  .venv/bin/python scripts/bench_history.py record nets target/bench/nets.json
  .venv/bin/python scripts/bench_history.py record neural target/bench
  .venv/bin/python scripts/bench_history.py record baselines target/bench
  .venv/bin/python scripts/bench_history.py compare [--threshold 0.10]

`record` reads a benchmark's output (`make bench-nets` writes nets.json; `make bench-neural`
and `make bench-baselines` leave their JSON files in target/bench/), takes its speeds (all
"higher is better": images/s, or 1/seconds for fits), and appends one line to the history
(target/bench/history.jsonl, or --history FILE): the time, the commit (and whether the work
tree had changes), the machine (CPU model, cores, memory, threads used) and the numbers.

`compare` takes, for each benchmark, the latest line and the previous line *of the same
benchmark on the same machine and thread count*, prints every number side by side, and exits 1
when one of them is more than --threshold (10%) slower, naming it. Speeds are only compared
within one machine: the history of another machine class is never the baseline. The Makefile's
bench targets call `record` after each run; `make bench-check` calls `compare`.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

HISTORY = os.path.join("target", "bench", "history.jsonl")


def fail(msg):
    print(f"bench_history: error: {msg}", file=sys.stderr)
    sys.exit(2)


def load(path, hint):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}; {hint}")


def machine(threads):
    """What identifies a machine class: CPU model, logical cores, memory (GiB), threads."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = round(int(line.split()[1]) / 2**20)
                    break
    except (OSError, ValueError):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": mem, "threads": threads}


def commit():
    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    return {"commit": git("rev-parse", "--short=12", "HEAD") or "unknown",
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def metrics_nets(path):
    """nets.json of examples/throughput.rs: images/s per network and precision."""
    d = load(path, "run `make bench-nets` first")
    out = {}
    for r in d.get("networks", []):
        tag = f"{r['name']} [{r.get('precision', 'fp32')}]"
        out[f"{tag} train images/s"] = r["train_images_per_second"]
        out[f"{tag} inference images/s"] = r["inference_images_per_second"]
    for r in d.get("loop", []):
        out[f"training loop, augmentation {r['augmentation']}, images/s"] = r["images_per_second"]
    return d.get("threads"), out


def metrics_neural(folder):
    """`make bench-neural`: the CNN in PyTorch (plain, tuned) and in charlab."""
    out, threads = {}, None
    for name, label in (("torch-cnn.json", "PyTorch"), ("torch-cnn-tuned.json", "PyTorch tuned")):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            d = load(p, "run `make bench-neural` first")
            threads = d.get("threads", threads)
            out[f"{label} CNN train images/s"] = d["train_images_per_second_incl_validation"]
            out[f"{label} CNN inference images/s"] = d["inference_images_per_second"]
    ours = load(os.path.join(folder, "root", "report", "results", "04.2-cnn.json"),
                "run `make bench-neural` first")
    out["charlab CNN train images/s"] = ours["train_images_per_second"]
    out["charlab CNN inference images/s"] = ours["inference_images_per_second"]
    return threads, out


def metrics_baselines(folder):
    """`make bench-baselines`: fits per second (1 / seconds) of each model, both tools."""
    out, threads = {}, None
    sk = os.path.join(folder, "sklearn.json")
    if os.path.exists(sk):
        d = load(sk, "run `make bench-baselines` first")
        threads = d.get("threads")
        for name, m in d.get("models", {}).items():
            out[f"scikit-learn {name} fits/s"] = 1.0 / max(m["fit_seconds"], 1e-9)
    ours = load(os.path.join(folder, "root", "report", "results", "04.1-baselines.json"),
                "run `make bench-baselines` first")
    threads = ours.get("threads", threads)
    for m in ours["models"]:
        out[f"charlab {m['name']} fits/s"] = 1.0 / max(m["fit_seconds"], 1e-9)
    return threads, out


READERS = {"nets": metrics_nets, "neural": metrics_neural, "baselines": metrics_baselines}


def record(args):
    threads, numbers = READERS[args.bench](args.path)
    if not numbers:
        fail(f"{args.path} holds no {args.bench} numbers")
    line = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "bench": args.bench, **commit(), "machine": machine(threads), "numbers": numbers}
    os.makedirs(os.path.dirname(args.history) or ".", exist_ok=True)
    with open(args.history, "a") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")
    print(f"bench_history: recorded {len(numbers)} {args.bench} numbers of {line['commit']}"
          f"{' (changed work tree)' if line['dirty'] else ''} in {args.history}")


def read_history(path):
    if not os.path.exists(path):
        fail(f"{path} does not exist; run a benchmark (make bench-nets) twice to compare")
    lines = []
    with open(path) as f:
        for n, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                d = json.loads(text)
                d["bench"], d["machine"], d["numbers"]
            except (ValueError, KeyError, TypeError) as e:
                fail(f"{path}:{n} is not a history line ({e}); delete that line or the file")
            lines.append(d)
    return lines


def compare(args):
    lines = read_history(args.history)
    slower, compared = [], 0
    for bench in sorted({d["bench"] for d in lines}):
        mine = [d for d in lines if d["bench"] == bench]
        latest = mine[-1]
        same = [d for d in mine[:-1] if d["machine"] == latest["machine"]]
        m = latest["machine"]
        where = f"{m['cpu']}, {m['cores']} cores, {m['threads']} threads"
        if not same:
            print(f"{bench}: one run on this machine ({where}); nothing to compare yet\n")
            continue
        prev = same[-1]
        compared += 1
        print(f"{bench} on {where}: {prev['commit']} ({prev['time']}) -> "
              f"{latest['commit']}{' (changed work tree)' if latest['dirty'] else ''} "
              f"({latest['time']})\n")
        print("| number | previous | latest | latest / previous | |")
        print("|---|---|---|---|---|")
        for name, new in latest["numbers"].items():
            old = prev["numbers"].get(name)
            if old is None or old <= 0:
                print(f"| {name} | - | {new:.4g} | new | |")
                continue
            ratio = new / old
            flag = ""
            if ratio < 1.0 - args.threshold:
                flag = f"SLOWER by {100 * (1 - ratio):.0f}%"
                slower.append(f"{bench}: {name} {old:.4g} -> {new:.4g}")
            print(f"| {name} | {old:.4g} | {new:.4g} | {ratio:.2f}x | {flag} |")
        print()
    if slower:
        print(f"bench_history: {len(slower)} numbers more than {100 * args.threshold:.0f}% "
              "slower than the previous run on this machine:", file=sys.stderr)
        for s in slower:
            print(f"  {s}", file=sys.stderr)
        sys.exit(1)
    print(f"bench_history: {compared} benchmarks compared, none more than "
          f"{100 * args.threshold:.0f}% slower")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", default=HISTORY, help=f"history file (default {HISTORY})")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="append a benchmark's numbers to the history")
    r.add_argument("bench", choices=sorted(READERS))
    r.add_argument("path", help="nets.json, or the folder of bench-neural / bench-baselines")
    c = sub.add_parser("compare", help="latest against previous, same machine; exit 1 if slower")
    c.add_argument("--threshold", type=float, default=0.10, help="flag slowdowns above (0.10)")
    args = ap.parse_args()
    if args.cmd == "compare" and not 0.0 < args.threshold < 1.0:
        fail("--threshold must be between 0 and 1")
    (record if args.cmd == "record" else compare)(args)


if __name__ == "__main__":
    main()
