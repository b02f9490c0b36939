#!/usr/bin/env python3
"""Tests of scripts/bench_history.py: a slowdown over the threshold on the same machine fails
`compare` naming the number; one inside it, or against another machine, does not.

  .venv/bin/python scripts/test_bench_history.py   (part of `make unit`)
"""
import json
import os
import subprocess
import sys
import tempfile

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_history.py")


def nets(folder, name, train, infer):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump({"threads": 2, "networks": [
            {"name": "CNN (report)", "precision": "fp32", "train_images_per_second": train,
             "inference_images_per_second": infer}],
            "loop": [{"augmentation": "no", "images_per_second": 1000.0}]}, f)
    return path


def run(history, *args):
    return subprocess.run([sys.executable, SCRIPT, "--history", history, *args],
                          capture_output=True, text=True)


def check(cond, what, proc=None):
    if not cond:
        detail = f"\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}" if proc else ""
        sys.exit(f"test_bench_history: FAILED: {what}{detail}")


def main():
    with tempfile.TemporaryDirectory() as d:
        history = os.path.join(d, "history.jsonl")
        p = run(history, "compare")
        check(p.returncode == 2 and "does not exist" in p.stderr, "no history is an error", p)

        check(run(history, "record", "nets", nets(d, "a.json", 1000.0, 5000.0)).returncode == 0,
              "record")
        p = run(history, "compare")
        check(p.returncode == 0 and "nothing to compare" in p.stdout, "one run: nothing to compare",
              p)

        # 5% slower: inside the threshold.
        run(history, "record", "nets", nets(d, "b.json", 950.0, 5000.0))
        p = run(history, "compare")
        check(p.returncode == 0 and "0.95x" in p.stdout, "5% slower passes", p)

        # 15% slower than the previous (not the first) run: flagged, named, exit 1.
        run(history, "record", "nets", nets(d, "c.json", 800.0, 5100.0))
        p = run(history, "compare")
        check(p.returncode == 1 and "CNN (report) [fp32] train images/s" in p.stderr
              and "inference" not in p.stderr, "15% slower fails, naming the number", p)

        # A line from another machine class is never the baseline.
        with open(history) as f:
            lines = [json.loads(x) for x in f]
        other = dict(lines[-1], machine=dict(lines[-1]["machine"], cpu="another CPU"),
                     numbers={k: v / 10 for k, v in lines[-1]["numbers"].items()})
        with open(history, "a") as f:
            f.write(json.dumps(other) + "\n")
        p = run(history, "compare")
        check(p.returncode == 0 and "nothing to compare" in p.stdout,
              "another machine is not compared with this one", p)

        # A damaged line is a clear error naming the line.
        with open(history, "a") as f:
            f.write("{not json\n")
        p = run(history, "compare")
        check(p.returncode == 2 and "history.jsonl:5" in p.stderr, "damaged line named", p)

        p = run(history, "record", "nets", os.path.join(d, "missing.json"))
        check(p.returncode == 2 and "make bench-nets" in p.stderr, "missing input named", p)
    print("test_bench_history: ok")


if __name__ == "__main__":
    main()
