#!/usr/bin/env python3
"""Tests of scripts/notebook_text.py (`make unit`), on copies of a committed notebook and its
text form in a temporary folder: check fails naming a notebook whose cell changed, a missing text
form and a text form without a notebook, and passes again once restored; sync never writes the
notebook, leaves a hand-edited text form alone, and `jupytext --sync` carries that edit into the
notebook keeping its outputs and metadata.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPT = HERE / "notebook_text.py"
NAME = "04.2-cnn"


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd
    )


class NotebookText(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="notebook-text-"))
        self.dir = self.tmp / "notebooks"
        (self.dir / "text").mkdir(parents=True)
        shutil.copy(ROOT / "notebooks" / "jupytext.toml", self.dir)
        self.nb = self.dir / f"{NAME}.ipynb"
        self.text = self.dir / "text" / f"{NAME}.rs"
        shutil.copy(ROOT / "notebooks" / f"{NAME}.ipynb", self.nb)
        shutil.copy(ROOT / "notebooks" / "text" / f"{NAME}.rs", self.text)
        self.nb_bytes = self.nb.read_bytes()
        self.text_bytes = self.text.read_bytes()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def check(self):
        return run("check", "--notebooks", str(self.dir), cwd=self.tmp)

    def assert_passes(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("Traceback", r.stderr)

    def assert_fails_naming(self, r, *names):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        for name in names:
            self.assertIn(name, r.stderr)

    def edit_cell(self, n=4):
        """Changes the source of cell n (a code cell) of the copied notebook."""
        nb = nbformat.read(self.nb, as_version=4)
        self.assertEqual(nb.cells[n].cell_type, "code")
        nb.cells[n].source += "\nprintln!(\"one more line\");"
        nbformat.write(nb, self.nb)

    def test_committed_pair_passes(self):
        self.assert_passes(self.check())

    def test_changed_cell_fails_naming_the_notebook_then_passes_restored(self):
        self.edit_cell()
        r = self.check()
        self.assert_fails_naming(r, f"notebooks/{NAME}.ipynb", f"notebooks/text/{NAME}.rs", "cell 4 (code)")
        self.nb.write_bytes(self.nb_bytes)
        self.assert_passes(self.check())

    def test_sync_rewrites_the_text_form_and_never_the_notebook(self):
        self.edit_cell()
        edited = self.nb.read_bytes()
        r = run("sync", "--notebooks", str(self.dir), cwd=self.tmp)
        self.assert_passes(r)
        self.assertIn(f"wrote notebooks/text/{NAME}.rs", r.stdout)
        self.assertEqual(self.nb.read_bytes(), edited)
        self.assertIn('println!("one more line");', self.text.read_text())
        self.assert_passes(self.check())

    def test_missing_text_form_and_text_form_without_notebook_fail(self):
        self.text.rename(self.dir / "text" / "99-gone.rs")
        self.assert_fails_naming(self.check(), f"{NAME}.rs is missing", "99-gone.rs has no notebook")
        r = run("sync", "--notebooks", str(self.dir), cwd=self.tmp)
        self.assert_fails_naming(r, "99-gone.rs has no notebook")
        self.assertEqual(self.text.read_bytes(), self.text_bytes)
        (self.dir / "text" / "99-gone.rs").unlink()
        self.assert_passes(self.check())

    def test_text_edit_is_left_alone_and_jupytext_sync_carries_it_over(self):
        source = self.text.read_text()
        old = 'println!("train {tr}, validation {va}, test {te} images");'
        self.assertIn(old, source)
        new_source = source.replace(old, old.replace("images", "images (edited)"))
        time.sleep(0.01)
        self.text.write_text(new_source)
        os.utime(self.text, (time.time() + 5, time.time() + 5))
        self.assert_fails_naming(self.check(), f"{NAME}.ipynb")
        r = run("sync", "--notebooks", str(self.dir), cwd=self.tmp)
        self.assert_fails_naming(r, "was changed after", "jupytext --sync")
        self.assertEqual(self.text.read_text(), new_source)
        before = nbformat.read(self.nb, as_version=4)
        j = subprocess.run(
            [sys.executable, "-m", "jupytext", "--sync", str(self.nb)], capture_output=True, text=True
        )
        self.assertEqual(j.returncode, 0, j.stderr)
        after = nbformat.read(self.nb, as_version=4)
        self.assertEqual(after.metadata, before.metadata)
        changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells)) if a != b]
        self.assertEqual(len(after.cells), len(before.cells))
        self.assertEqual(len(changed), 1)
        a, b = before.cells[changed[0]], after.cells[changed[0]]
        self.assertIn("(edited)", b.source)
        self.assertEqual({k: v for k, v in a.items() if k != "source"}, {k: v for k, v in b.items() if k != "source"})
        self.assert_passes(self.check())

    def test_force_overwrites_a_text_edit(self):
        self.text.write_text(self.text.read_text() + "\n// %%\nlet x = 1;\n")
        os.utime(self.text, (time.time() + 5, time.time() + 5))
        r = run("sync", "--force", "--notebooks", str(self.dir), cwd=self.tmp)
        self.assert_passes(r)
        self.assertEqual(self.text.read_bytes(), self.text_bytes)
        self.assertEqual(self.nb.read_bytes(), self.nb_bytes)

    def test_missing_config_fails_without_traceback(self):
        (self.dir / "jupytext.toml").unlink()
        self.assert_fails_naming(self.check(), "jupytext.toml is missing")


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(NotebookText)
    ok = unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)
