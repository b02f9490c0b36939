#!/usr/bin/env python3
"""Execute charlab's notebooks headlessly in the evcxr `rust` kernel.

    run_notebooks.py --out DIR  NB...   write executed copies to DIR (CI; sources untouched);
                                        the notebooks' figures and results go to DIR/root
                                        (CHARLAB_ROOT), not into the project's figures/ and report/
    run_notebooks.py --in-place NB...   overwrite the notebooks with fresh outputs (commit); figures
                                        and results go to the project as usual

Fails (exit 1) when a cell raises, when any output is an error, when a cell writes anything to
stderr that is not one of charlab's progress messages (PROGRESS below), or when a notebook
expected to show a figure shows none; each failure is printed with the notebook, the cell's
index (0-based, as nbformat counts, markdown cells included) and the message. The stderr rule
catches evcxr's way of reporting a failed `?`: a cell whose code returns `Err` is not an error
for the kernel (status "ok", no error output); evcxr only prints the error's message on stderr,
sometimes after the cell's reply, so the runner waits briefly after each cell for such late
output (SETTLE_S).

Progress messages are dropped from the outputs written (executed copies and --in-place), so a
committed notebook shows results, not the log of how long each step took.
Prints the time spent on each notebook.
"""
import argparse
import os
import queue
import re
import sys
import time
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT = int(os.environ.get("CHARLAB_CELL_TIMEOUT", "1800"))
# evcxr_jupyter forwards the kernel's stdout and stderr from a thread of its own, tagged with the
# execute request current when a line is forwarded: a line a cell printed last (the message of a
# failed `?`) can come after the cell's reply. nbclient drops such a late line, or files it under
# the next cell. After each cell the runner waits this long for late lines (longer after the
# last one) and files those tagged with the cell under it.
SETTLE_S = 0.2
FINAL_SETTLE_S = 3.0


# charlab's progress messages on stderr (anything else on stderr is an error): the library's
# (src/sections/baselines.rs fit_logreg, src/training.rs per epoch, src/sections/neural.rs
# load_init, src/sections/levers/mod.rs) and the progress callback of notebook 06.1's
# levers::run.
PROGRESS = [
    re.compile(p)
    for p in (
        r"^logreg: \d+ iterations, [\d.]+ s, objective \S+, max \|gradient\| \S+",
        r"^epoch \d+/\d+: train loss \S+, val loss \S+, val accuracy \S+%, \d+ s$",
        r"^weights .+: \d+ tensors loaded, \d+ left as initialised \(the classifier\), \d+ unused$",
        r"^\S+: its pretrained weights changed; fine-tuning again$",
        r"^pretraining \S+ on .+$",
        r"^variant \S+$",
        r"^repeat \S+ \(seed \d+\)$",
        r"^\S+: its run folder is not here; its results from \S+$",
    )
]


def is_progress(line):
    return any(p.match(line) for p in PROGRESS)


def stderr_problems(text):
    """The lines of a stderr stream that are not progress messages (blank lines ignored)."""
    return [l for l in text.splitlines() if l.strip() and not is_progress(l)]


def problems(nb):
    """Everything wrong with an executed notebook, one message per problem."""
    out = []
    images = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            out.append(f"cell {i} was not executed")
        stderr = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                stderr += stderr_problems(o.get("text", ""))
            data = o.get("data", {})
            if "image/png" in data or "image/svg+xml" in data:
                images += 1
        if stderr:
            text = "\n".join(stderr)
            out.append(f"cell {i} wrote to stderr (the message of a `?` that returned Err): {text[:800]}")
    expect = nb.metadata.get("charlab", {}).get("expected_figures", 0)
    if images < expect:
        out.append(f"shows {images} figure(s), expected at least {expect}")
    return out


def drop_progress(nb):
    """Removes progress messages from stderr outputs (and outputs left empty); returns how many."""
    dropped = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                lines = o.get("text", "").splitlines(keepends=True)
                rest = [l for l in lines if not is_progress(l.rstrip("\n"))]
                dropped += len(lines) - len(rest)
                if not "".join(rest).strip():
                    continue
                o["text"] = "".join(rest)
            kept.append(o)
        cell["outputs"] = kept
    return dropped


def late_output_collector(client, nb):
    """An nbclient on_cell_executed hook that files late stream output under its cell."""
    cells = {}
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    last = code[-1] if code else -1

    async def collect(cell, cell_index, execute_reply):
        cells[execute_reply["parent_header"].get("msg_id")] = cell
        settle = FINAL_SETTLE_S if cell_index == last else SETTLE_S
        while True:
            try:
                msg = await ensure_async(client.kc.iopub_channel.get_msg(timeout=settle))
            except queue.Empty:
                return
            owner = cells.get(msg["parent_header"].get("msg_id"))
            if owner is not None and msg["msg_type"] == "stream":
                owner.outputs.append(nbformat.v4.output_from_msg(msg))

    return collect


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
        client.on_cell_executed = late_output_collector(client, nb)
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
        drop_progress(nb)
        dest = path if args.in_place else args.out / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        os.replace(tmp, dest)
        status = "ok" if not found else "FAILED"
        print(f"[notebooks] {path.name}: {status} in {secs:.0f} s -> {dest}", flush=True)
        for p in found:
            print(f"    {path.name}: {p}", flush=True)
        failed += bool(found)
    n = len(args.notebooks)
    print(f"[notebooks] {n} notebooks in {time.time() - total:.0f} s")
    print(f"notebooks: {n - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
