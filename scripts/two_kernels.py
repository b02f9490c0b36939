#!/usr/bin/env python3
"""Two notebooks at once: starts two `rust` kernels through Jupyter's own client (as
JupyterLab does when a teacher opens two notebooks), runs the first cell (`:dep charlab = ...`)
in both at the same time, then, again at the same time in both, cells that each define and
call a function of their own. Every kernel must answer its own cells: `k0: 1000` in kernel 0,
`k1: 1001` in kernel 1, with no error.

    two_kernels.py [--shared] [--rounds N] [--json FILE]

By default each kernel gets its own build folder (scripts/evcxr_kernel.sh). `--shared` puts both
in target/evcxr/ctx, as the kernel spec did before: evcxr rewrites that folder's crate for every
cell, so the kernels compile and load each other's cells; the script then reports what went wrong
(and exits 1, as in any failure). Prints each kernel's first-cell time (cold: a build folder
copied for the occasion; warm: a folder already there).
"""
import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 1800


def first_cell():
    nb = nbformat.read(ROOT / "notebooks" / "02-dataset.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


def run(kc, code, outputs):
    def hook(msg):
        t, c = msg["msg_type"], msg["content"]
        if t == "stream":
            outputs.append(c["text"])
        elif t == "execute_result":
            outputs.append(c["data"].get("text/plain", ""))
        elif t == "error":
            outputs.append(f"ERROR {c.get('ename')}: {c.get('evalue')}")

    reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=hook)
    return reply["content"]["status"]


def together(fns):
    threads = [threading.Thread(target=f) for f in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", action="store_true", help="both kernels in target/evcxr/ctx")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    env = dict(os.environ)
    if args.shared:
        env["CHARLAB_EVCXR_SLOT"] = "ctx"
    else:
        env.pop("CHARLAB_EVCXR_SLOT", None)
    dep = first_cell()
    kernels = []
    t0 = time.time()
    for i in range(2):
        km = KernelManager(kernel_name="rust")
        km.start_kernel(cwd=str(ROOT / "notebooks"), env=env)
        kc = km.client()
        kc.start_channels()
        kernels.append((km, kc))
    report = {"shared": args.shared, "kernels": [{} for _ in kernels], "failures": []}
    try:
        for i, (_, kc) in enumerate(kernels):
            try:
                kc.wait_for_ready(timeout=120)
                report["kernels"][i]["start_s"] = round(time.time() - t0, 1)
            except RuntimeError as e:
                report["failures"].append(f"kernel {i} did not start: {e}")
        if report["failures"]:
            raise StopIteration

        def first(i):
            out = []
            t = time.time()
            status = run(kernels[i][1], dep, out)
            report["kernels"][i]["first_cell_s"] = round(time.time() - t, 1)
            if status != "ok" or any(o.startswith("ERROR") for o in out):
                report["failures"].append(f"kernel {i}, first cell: {' '.join(out)[-400:]}")

        together([lambda i=i: first(i) for i in range(len(kernels))])
        for r in range(args.rounds):
            def cell(i, r=r):
                out = []
                code = f"fn own_{i}_{r}() -> u32 {{ {1000 + i} }}\nformat!(\"k{i}: {{}}\", own_{i}_{r}())"
                status = run(kernels[i][1], code, out)
                text = " ".join(out)
                if status != "ok" or f"k{i}: {1000 + i}" not in text:
                    report["failures"].append(f"kernel {i}, round {r}: got {text.strip()[-300:]!r}")

            together([lambda i=i: cell(i) for i in range(len(kernels))])
    except StopIteration:
        pass
    finally:
        for km, kc in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    mode = "one build folder shared" if args.shared else "a build folder each"
    for i, k in enumerate(report["kernels"]):
        print(f"[two-kernels] kernel {i} ({mode}): ready after {k.get('start_s')} s, "
              f"first cell {k.get('first_cell_s')} s")
    for f in report["failures"]:
        print(f"[two-kernels] FAILED: {f}", file=sys.stderr)
    if not report["failures"]:
        print(f"[two-kernels] both kernels answered their own {args.rounds} rounds of cells")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
