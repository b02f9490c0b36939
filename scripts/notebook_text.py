#!/usr/bin/env python3
"""Each notebook's text form: notebooks/text/<name>.rs, jupytext's percent format, without outputs.

    notebook_text.py sync [--force]   write every notebook's text form from its .ipynb
                                      (`make notebooks-text`)
    notebook_text.py check            exit 1 naming each notebook whose text form is missing or
                                      differs, and each text form without a notebook (`make unit`)
    --notebooks DIR                   another notebooks folder (the test's copies); default: this
                                      repository's notebooks/

The pairing and its filters are in notebooks/jupytext.toml, which `jupytext --sync` and
JupyterLab's jupytext extension read too, so the three write the same text.

The .ipynb is the source of truth: `sync` writes the text forms from the notebooks and never
writes a notebook. A text form that differs from its notebook and is newer than it (edited by
hand) is left alone and named: carry the edit into the notebook with
`.venv/bin/jupytext --sync notebooks/<name>.ipynb` (jupytext takes the cells of whichever file is
newer and keeps the notebook's outputs and metadata), or drop it with `sync --force`.
`sync` also fails, like `check`, on a text form without a notebook and on a notebook whose cells
would not come back unchanged from its text form; after a `sync` that succeeds, `check` passes.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
from jupytext.config import JupytextConfigurationError, load_jupytext_configuration_file
from jupytext.formats import long_form_multiple_formats
from jupytext.paired_paths import InconsistentPath, paired_paths

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "jupytext.toml"
TAG = "[notebook-text]"


class Failure(Exception):
    """An expected failure: its message is printed, without a traceback."""


def shown(path):
    """The path as the messages show it: relative to the current folder when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def load_config(nb_dir):
    path = nb_dir / CONFIG
    if not path.is_file():
        raise Failure(f"{shown(path)} is missing: it says where the notebooks' text forms go")
    try:
        config = load_jupytext_configuration_file(str(path))
    except (JupytextConfigurationError, ValueError, OSError) as err:
        raise Failure(f"{shown(path)}: {err}")
    return config


def text_format(config, nb_path):
    """The text form's path and jupytext format for the notebook nb_path."""
    formats = config.default_formats(str(nb_path))
    try:
        pairs = paired_paths(str(nb_path), "ipynb", formats) if formats else []
    except InconsistentPath as err:
        raise Failure(f"{CONFIG}: {err}")
    texts = [(Path(p), fmt) for p, fmt in pairs if fmt["extension"] != ".ipynb"]
    if len(texts) != 1:
        raise Failure(
            f"{CONFIG} should pair each notebook with one text form (like "
            f"formats = \"ipynb,text//rs:percent\"), not {formats!r}"
        )
    return texts[0]


def text_folder(config, nb_dir):
    """The folder of the text forms and their extension (notebooks/text/, .rs)."""
    probe = nb_dir / "probe.ipynb"
    path, fmt = text_format(config, probe)
    return path.parent, fmt["extension"]


def cells(nb):
    return [(c.cell_type, c.source) for c in nb.cells]


def first_difference(want, got):
    """Which cells differ between two lists of (type, source), in words."""
    diff = [i for i, (a, b) in enumerate(zip(want, got)) if a != b]
    words = []
    if diff:
        more = f" and {len(diff) - 1} more" if len(diff) > 1 else ""
        i = diff[0]
        words.append(f"cell {i} ({want[i][0]}){more}")
    if len(want) != len(got):
        words.append(f"{len(got)} cells in the text form, {len(want)} in the notebook")
    return ", ".join(words) or "formatting only"


class Pair:
    """A notebook and what its text form should be."""

    def __init__(self, nb_path, config):
        self.nb_path = nb_path
        self.config = config
        self.text_path, self.fmt = text_format(config, nb_path)
        try:
            self.nb = jupytext.read(str(nb_path), config=config)
        except Exception as err:  # a broken .ipynb: say which, without a traceback
            raise Failure(f"{shown(nb_path)}: cannot be read as a notebook: {err}")
        self.want = jupytext.writes(self.nb, fmt=self.fmt, config=config)
        if not self.want.endswith("\n"):
            self.want += "\n"

    def round_trip_problem(self):
        """None, or why the notebook's cells would not come back unchanged from the text form."""
        back = jupytext.reads(self.want, fmt=self.fmt, config=self.config)
        if cells(back) != cells(self.nb):
            return (
                f"{shown(self.nb_path)}: its cells do not come back unchanged from the text form "
                f"({first_difference(cells(self.nb), cells(back))}); a jupytext limit, see "
                f"https://jupytext.readthedocs.io/en/latest/formats-scripts.html"
            )
        return None

    def current(self):
        """The text form on disk, or None."""
        try:
            return self.text_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def text_is_newer(self):
        return self.text_path.stat().st_mtime > self.nb_path.stat().st_mtime

    def difference(self, have):
        """Which cells of the text form on disk differ from the notebook's, in words."""
        try:
            got = cells(jupytext.reads(have, fmt=self.fmt, config=self.config))
        except Exception as err:
            return f"the text form cannot be read: {err}"
        return first_difference(cells(self.nb), got)


def notebooks(nb_dir):
    found = sorted(nb_dir.glob("*.ipynb"))
    if not found:
        raise Failure(f"no notebooks in {shown(nb_dir)}")
    return found


def orphans(config, nb_dir, pairs):
    folder, ext = text_folder(config, nb_dir)
    paired = {p.text_path.resolve() for p in pairs}
    return [t for t in sorted(folder.glob(f"*{ext}")) if t.resolve() not in paired]


def orphan_message(text):
    return (
        f"{shown(text)} has no notebook: delete it (git rm) if its notebook was removed or "
        f"renamed, then `make notebooks-text`"
    )


def sync_hint(pair):
    return (
        f"if the notebook was edited, `make notebooks-text`; if the text form was, carry it into "
        f"the notebook with `.venv/bin/jupytext --sync {shown(pair.nb_path)}`"
    )


def read_pairs(nb_dir, config, problems):
    pairs = []
    for nb_path in notebooks(nb_dir):
        try:
            pairs.append(Pair(nb_path, config))
        except Failure as err:
            problems.append(str(err))
    return pairs


def current_pairs(nb_dir, problems):
    """The notebooks of nb_dir with their text forms as they are now (None: missing), those
    that survive jupytext's round trip; a problem is recorded for each that does not, and for
    each text form without a notebook."""
    config = load_config(nb_dir)
    pairs = read_pairs(nb_dir, config, problems)
    out = []
    for pair in pairs:
        problem = pair.round_trip_problem()
        if problem:
            problems.append(problem)
        else:
            out.append((pair, pair.current()))
    problems += [orphan_message(t) for t in orphans(config, nb_dir, pairs)]
    return pairs, out


def sync(nb_dir, force):
    problems, written, unchanged = [], [], 0
    _, current = current_pairs(nb_dir, problems)
    for pair, have in current:
        if have == pair.want:
            unchanged += 1
            continue
        if have is not None and not force and pair.text_is_newer():
            problems.append(
                f"{shown(pair.text_path)} was changed after {shown(pair.nb_path)} and differs from "
                f"it ({pair.difference(have)}); left alone: carry the edit into the notebook with "
                f"`.venv/bin/jupytext --sync {shown(pair.nb_path)}`, or drop it with "
                f"`scripts/notebook_text.py sync --force`"
            )
            continue
        pair.text_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = pair.text_path.with_name(pair.text_path.name + ".tmp")
        tmp.write_text(pair.want, encoding="utf-8")
        tmp.replace(pair.text_path)
        written.append(pair)
    for pair in written:
        print(f"{TAG} wrote {shown(pair.text_path)} from {shown(pair.nb_path)}")
    print(f"{TAG} {len(written)} written, {unchanged} unchanged", end="")
    return problems


def check(nb_dir):
    problems = []
    pairs, current = current_pairs(nb_dir, problems)
    for pair, have in current:
        if have is None:
            problems.append(
                f"{shown(pair.nb_path)}: its text form {shown(pair.text_path)} is missing "
                f"(`make notebooks-text` writes it)"
            )
        elif have != pair.want:
            problems.append(
                f"{shown(pair.nb_path)}: its text form {shown(pair.text_path)} differs from it "
                f"({pair.difference(have)}): {sync_hint(pair)}"
            )
    print(f"{TAG} {len(pairs)} notebooks checked against their text forms", end="")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="The notebooks' text forms (notebooks/text/*.rs): write them, or check them."
    )
    parser.add_argument("mode", choices=["sync", "check"])
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", metavar="DIR")
    parser.add_argument(
        "--force", action="store_true", help="sync: overwrite text forms edited after their notebook"
    )
    args = parser.parse_args(argv)
    if args.force and args.mode != "sync":
        parser.error("--force is for sync")
    start = time.perf_counter()
    try:
        problems = sync(args.notebooks, args.force) if args.mode == "sync" else check(args.notebooks)
    except Failure as err:
        print(f"{TAG} {err}", file=sys.stderr)
        return 1
    print(f" ({time.perf_counter() - start:.2f} s)")
    for p in problems:
        print(f"{TAG} {p}", file=sys.stderr)
    if problems:
        print(f"{TAG} {args.mode}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
