#!/usr/bin/env python3
"""Time a notebook's first cells in the project's `rust` kernel, through Jupyter's protocol.

    kernel_first_cell.py [--notebook NB] [--cells N] [--json FILE] [--quiet]

Starts the kernel in the notebook's folder (as JupyterLab and scripts/run_notebooks.py do), runs
the notebook's first N code cells (default 2: the `:dep charlab = ...` cell, which builds
charlab and its dependencies inside the kernel, and the `use` cell), and prints the seconds from
asking for the kernel to its first answer and for each cell. Fails (exit 1) on any error
output. scripts/setup.sh runs it once (`--quiet`) so that the kernel's build folder
(target/evcxr, EVCXR_TMPDIR in the kernel spec) is ready before the first notebook opens.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 3600


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "02-dataset.ipynb")
    ap.add_argument("--cells", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the timings here")
    ap.add_argument("--quiet", action="store_true", help="print only failures")
    args = ap.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"][: args.cells]

    t0 = time.time()
    km = KernelManager(kernel_name="rust")
    km.start_kernel(cwd=str(args.notebook.parent.resolve()))
    kc = km.client()
    kc.start_channels()
    failures = []
    timings = {"notebook": args.notebook.name, "cells": []}
    try:
        kc.wait_for_ready(timeout=120)
        timings["kernel_start_s"] = round(time.time() - t0, 1)
        for i, code in enumerate(cells):
            outputs = []

            def hook(msg, outputs=outputs):
                t = msg["msg_type"]
                c = msg["content"]
                if t == "stream":
                    outputs.append(f"{c['name']}: {c['text'].strip()}")
                elif t == "error":
                    outputs.append(f"error: {c.get('ename')}: {c.get('evalue')}")
                    failures.append(f"cell {i} ({code.splitlines()[0]}): {c.get('evalue')}")

            start = time.time()
            reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=hook)
            secs = time.time() - start
            if reply["content"]["status"] != "ok" and not failures:
                failures.append(f"cell {i}: status {reply['content']['status']}")
            timings["cells"].append({"code": code.splitlines()[0], "seconds": round(secs, 1)})
            if not args.quiet:
                print(f"[first-cell] cell {i} `{code.splitlines()[0]}`: {secs:.1f} s", flush=True)
                for o in outputs:
                    print(f"    {o[:300]}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    timings["total_s"] = round(time.time() - t0, 1)
    timings["first_cell_s"] = round(timings["kernel_start_s"] + timings["cells"][0]["seconds"], 1) if timings["cells"] else None
    if not args.quiet:
        print(f"[first-cell] kernel start {timings['kernel_start_s']} s; "
              f"kernel start + first cell {timings['first_cell_s']} s; all {timings['total_s']} s")
    if args.json:
        args.json.write_text(json.dumps(timings, indent=2) + "\n")
    for f in failures:
        print(f"[first-cell] FAILED: {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
