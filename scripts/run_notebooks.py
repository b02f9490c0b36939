#!/usr/bin/env python3
"""Execute charlab's notebooks headlessly in the evcxr `rust` kernel.

    run_notebooks.py --out DIR  NB...   write executed copies to DIR (CI; sources untouched);
                                        the notebooks' figures and results go to DIR/root
                                        (CHARLAB_ROOT), not into the project's figures/ and report/
    run_notebooks.py --in-place NB...   overwrite the notebooks with fresh outputs (commit); figures
                                        and results go to the project as usual

Fails (exit 1) when a cell raises, when any output is an error, when a cell's text output
contains evcxr's compile-error marker, or when a notebook expected to show a figure shows none.
Prints the time spent on each notebook.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT = int(os.environ.get("CHARLAB_CELL_TIMEOUT", "1800"))


def problems(nb):
    out = []
    images = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            out.append(f"cell {i} was not executed")
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = o.get("text", "")
                if "error[E" in text:
                    out.append(f"cell {i}: stderr: {text.strip()[:500]}")
            data = o.get("data", {})
            if "image/png" in data or "image/svg+xml" in data:
                images += 1
    expect = nb.metadata.get("charlab", {}).get("expected_figures", 0)
    if images < expect:
        out.append(f"shows {images} figure(s), expected at least {expect}")
    return out


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", type=Path)
    g.add_argument("--in-place", action="store_true")
    ap.add_argument("notebooks", nargs="+", type=Path)
    args = ap.parse_args()
    failed = 0
    total = time.time()
    if args.out:
        root = (args.out / "root").resolve()
        root.mkdir(parents=True, exist_ok=True)
        os.environ["CHARLAB_ROOT"] = str(root)  # inherited by the kernel
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        start = time.time()
        client = NotebookClient(
            nb,
            kernel_name="rust",
            timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": str(path.parent.resolve())}},
            allow_errors=False,
        )
        err = None
        try:
            client.execute()
        except CellExecutionError as e:
            err = str(e).strip().splitlines()[-1][:300] if str(e).strip() else repr(e)
        except Exception as e:  # kernel died, timeout, ...
            err = f"{type(e).__name__}: {e}"
        secs = time.time() - start
        found = problems(nb)
        if err:
            found.insert(0, err)
        dest = path if args.in_place else args.out / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        os.replace(tmp, dest)
        status = "ok" if not found else "FAILED"
        print(f"[notebooks] {path.name}: {status} in {secs:.0f} s -> {dest}", flush=True)
        for p in found:
            print(f"    {p}", flush=True)
        failed += bool(found)
    n = len(args.notebooks)
    print(f"[notebooks] {n} notebooks in {time.time() - total:.0f} s")
    print(f"notebooks: {n - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
