#!/usr/bin/env python3
"""Tests of scripts/run_notebooks.py's verdict on executed notebooks.

    test_run_notebooks.py            outputs as evcxr records them, no kernel (`make unit`)
    test_run_notebooks.py --kernel   also runs the fixture notebooks in tests/fixtures/notebooks/
                                     through the runner with the real `rust` kernel (`make notebooks`)

The stderr texts below are what evcxr 0.22 wrote for charlab's notebooks: a failed `?` leaves
the cell's status "ok" and only prints the error's message on stderr.
"""
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import run_notebooks as rn  # noqa: E402

PROGRESS = [
    "logreg: 50 iterations, 6.7 s, objective 0.856907, max |gradient| 6.27e-3\n",
    "logreg: 550 iterations, 44.5 s, objective 0.229542, max |gradient| 1.28e-4\n",
    "pretraining cnn4 on EMNIST ../../shared/data/emnist-byclass-rest (report format)\n",
    "variant cnn4-pretrained-aug-weighted\n",
    "repeat cnn4-scratch-seed1 (seed 1)\n",
    "epoch 3/25: train loss 0.6017, val loss 0.4201, val accuracy 86.52%, 112 s\n",
]
JSON_ERROR = "report/results/04.2-cnn-tuning.json: JSON error: expected value at line 1 column 1\n"


def stream(name, text):
    return new_output("stream", name=name, text=text)


def notebook(*cells, figures=0):
    nb = new_notebook(cells=[new_markdown_cell("# t")] + list(cells))
    nb.metadata["charlab"] = {"expected_figures": figures}
    for n, c in enumerate(nb.cells):
        if c.cell_type == "code":
            c.execution_count = n
    return nb


def code(*outputs):
    c = new_code_cell("x")
    c.outputs = list(outputs)
    return c


class Verdict(unittest.TestCase):
    def test_clean_notebook_passes(self):
        nb = notebook(code(stream("stdout", "train 22634, validation 2500, test 5000\n")))
        self.assertEqual(rn.problems(nb), [])

    def test_progress_is_not_an_error(self):
        nb = notebook(code(*[stream("stderr", t) for t in PROGRESS], stream("stdout", "fit 44.9 s\n")))
        self.assertEqual(rn.problems(nb), [])

    def test_err_from_question_mark_fails_with_cell_and_message(self):
        nb = notebook(code(stream("stdout", "ok\n")), code(stream("stderr", JSON_ERROR)))
        found = rn.problems(nb)
        self.assertEqual(len(found), 1, found)
        self.assertIn("cell 2", found[0])
        self.assertIn("JSON error: expected value at line 1 column 1", found[0])

    def test_err_among_progress_is_found(self):
        nb = notebook(code(stream("stderr", PROGRESS[0]), stream("stderr", "libtorch: shape mismatch\n")))
        found = rn.problems(nb)
        self.assertEqual(len(found), 1, found)
        self.assertIn("cell 1", found[0])
        self.assertIn("libtorch: shape mismatch", found[0])
        self.assertNotIn("logreg", found[0])

    def test_near_miss_of_a_progress_line_is_an_error(self):
        nb = notebook(code(stream("stderr", "logreg: failed to converge\n")))
        self.assertEqual(len(rn.problems(nb)), 1)

    def test_error_output_fails(self):
        nb = notebook(code(new_output("error", ename="Error", evalue="cannot find value `data`", traceback=[])))
        found = rn.problems(nb)
        self.assertEqual(len(found), 1)
        self.assertIn("cell 1: Error: cannot find value `data`", found[0])

    def test_unexecuted_cell_and_missing_figure_fail(self):
        nb = notebook(code(), figures=1)
        nb.cells[1].execution_count = None
        found = rn.problems(nb)
        self.assertEqual(len(found), 2, found)

    def test_drop_progress_keeps_everything_else(self):
        nb = notebook(code(
            stream("stderr", PROGRESS[0]),
            stream("stdout", "fit 44.9 s\n"),
            stream("stderr", PROGRESS[1] + "something else\n"),
        ))
        self.assertEqual(rn.drop_progress(nb), 2)
        outs = nb.cells[1].outputs
        self.assertEqual([(o.name, o.text) for o in outs], [("stdout", "fit 44.9 s\n"), ("stderr", "something else\n")])


class WithKernel(unittest.TestCase):
    """The runner on real evcxr output (needs the `rust` kernel: `make kernel`)."""

    def run_runner(self, name):
        with tempfile.TemporaryDirectory() as out:
            p = subprocess.run(
                [sys.executable, str(HERE / "run_notebooks.py"), "--out", out,
                 str(ROOT / "tests/fixtures/notebooks" / name)],
                capture_output=True, text=True, timeout=900,
            )
            written = nbformat.read(Path(out) / name, as_version=4)
        return p, written

    def test_runner_rejects_a_cell_returning_err(self):
        p, _ = self.run_runner("returns-err.ipynb")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("returns-err.ipynb: FAILED", p.stdout)
        self.assertIn("returns-err.ipynb: cell 3 wrote to stderr", p.stdout)
        self.assertIn("JSON error: expected value at line 1 column 1", p.stdout)

    def test_runner_passes_progress_and_drops_it(self):
        p, written = self.run_runner("progress-only.ipynb")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        texts = [o.get("text", "") for c in written.cells for o in c.get("outputs", [])]
        self.assertEqual(texts, ["fitted\n"])


if __name__ == "__main__":
    kernel = "--kernel" in sys.argv
    argv = [a for a in sys.argv if a != "--kernel"]
    suite = unittest.TestLoader().loadTestsFromTestCase(Verdict)
    if kernel:
        suite.addTests(unittest.TestLoader().loadTestsFromTestCase(WithKernel))
    ok = unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)
