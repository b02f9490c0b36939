#!/usr/bin/env python3
"""Writes report/report.pdf from report/report.html with WeasyPrint (make report-pdf).

The PDF is the committed HTML report laid out for print: report/print.css (A4, page numbers,
serif text, figures and tables kept whole and with their captions) is added after the HTML's own
<style>, so the PDF always shows exactly what report.html says; `charlab report` (or
`make reproduce`) writes the HTML, this script only lays it out. The PDF is written to a
temporary file in the output's folder and renamed over the old one, so a reader never sees
a half-written file.

Usage: scripts/report_pdf.py [--html report/report.html] [--out report/report.pdf] [--css report/print.css]
       scripts/report_pdf.py --stale   (make reproduce: every report.html charlab writes, the
                                        committed one, target/quick's and target/runs/*'s, whose
                                        PDF beside it is missing or older than it or the style)
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fail(msg):
    print(f"report_pdf: {msg}", file=sys.stderr)
    sys.exit(1)


def with_print_css(html, css):
    """The HTML with the print stylesheet as the last <style> of its head (author origin, so it
    overrides report.html's screen rules at equal specificity; a stylesheet passed to WeasyPrint
    as `stylesheets=` would be a user sheet, which loses to the HTML's own)."""
    style = f"<style>\n/* {css.name}, added by scripts/report_pdf.py */\n{css.read_text()}\n</style>\n"
    i = html.lower().find("</head>")
    if i < 0:
        return style + html
    return html[:i] + style + html[i:]


def build(html_path, out_path, css_path):
    """Writes out_path; returns (pages, seconds)."""
    html_path, out_path, css_path = Path(html_path), Path(out_path), Path(css_path)
    if not html_path.is_file():
        fail(f"{html_path} not found: run `charlab report` first (or `make reproduce`)")
    if not css_path.is_file():
        fail(f"{css_path} not found")
    # The same HTML gives the same bytes: fontTools stamps the embedded font subsets with
    # SOURCE_DATE_EPOCH when set, else with the current time (WeasyPrint writes no date).
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    try:
        import weasyprint
    except ImportError:
        fail("weasyprint is not installed in this Python: run `make venv` (requirements.txt pins it)")
    except OSError as e:  # Pango/HarfBuzz missing: weasyprint loads them when imported
        fail(f"weasyprint cannot load its system libraries ({e}): install Pango, e.g. "
             "`apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b` (scripts/setup.sh)")

    start = time.monotonic()
    html = with_print_css(html_path.read_text(encoding="utf-8"), css_path)
    # base_url: the figures' relative paths (../figures/...) resolve from the HTML's folder.
    doc = weasyprint.HTML(string=html, base_url=str(html_path.resolve().parent) + os.sep).render()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            doc.write_pdf(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise
    return len(doc.pages), time.monotonic() - start


def stale(css):
    """(html, pdf) of every report charlab writes (paths::out_root()/report/report.html: the
    project's, a quick run's, a run's on other data) whose PDF is missing or out of date."""
    found = [ROOT / "report" / "report.html", ROOT / "target" / "quick" / "report" / "report.html"]
    found += sorted((ROOT / "target" / "runs").glob("*/report/report.html"))
    inputs = [css, Path(__file__).resolve()]
    out = []
    for html in found:
        pdf = html.with_suffix(".pdf")
        if html.is_file() and (not pdf.is_file() or pdf.stat().st_mtime < max(
                p.stat().st_mtime for p in [html, *inputs])):
            out.append((html, pdf))
    return out


def show(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", default=ROOT / "report" / "report.html", type=Path)
    ap.add_argument("--out", default=ROOT / "report" / "report.pdf", type=Path)
    ap.add_argument("--css", default=ROOT / "report" / "print.css", type=Path)
    ap.add_argument("--stale", action="store_true",
                    help="lay out every report whose PDF is missing or older (make reproduce)")
    args = ap.parse_args()
    jobs = stale(args.css) if args.stale else [(args.html, args.out)]
    if args.stale and not jobs:
        print("[report-pdf] every report's PDF is up to date")
    for html, out in jobs:
        pages, seconds = build(html, out, args.css)
        size = out.stat().st_size
        print(f"[report-pdf] wrote {show(out)} ({pages} pages, {size / 1e6:.2f} MB) "
              f"from {show(html)} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
