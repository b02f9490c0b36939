#!/usr/bin/env python3
"""Test of scripts/report_pdf.py (make unit): lays out the committed report/report.html into a
temporary folder and checks the PDF with pypdf against the HTML it came from:

- every page is A4, and the page count is within PAGES (12 pages when this was written);
- every page's footer says "page N of M";
- every figure's caption is in the text, and the figure is drawn on the caption's page (see
  figure_drawn for how);
- every table caption ("Table N: ...") is in the text, and Table 1's header and its rows, the
  four models among them, are there cell by cell in reading order;
- the committed report/report.pdf passes the same checks (it is not stale against the HTML).

Text is compared with all whitespace removed: line breaks, justification and the SVG renderer's
glyph-by-glyph placement (which pypdf returns without spaces) change the spacing, not the
characters. Prints one verdict line; exits 1 on any failure, 2 when a tool is missing.
"""

import re
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "report" / "report.html"
# 12 pages when written (10 figures, 4 tables); a report that lost its figures or whose
# figures blew up to a page each would fall outside.
PAGES = range(8, 31)
A4 = (595.28, 841.89)  # points
TABLE1_MODELS = ["Logistic regression", "RBF SVM", "CNN", "EfficientNet-b0"]
SHAPES = {"rect", "path", "line", "polyline", "polygon", "circle", "ellipse"}
PAINT_OPS = {b"f", b"F", b"f*", b"S", b"s", b"B", b"B*", b"b", b"b*"}


def squash(text):
    return re.sub(r"\s+", "", text)


class Report(HTMLParser):
    """The report's figures and tables, from the HTML's markup: a figure is
    <figure ...><svg>...</svg></figure> (or an <img>) followed by its caption <p><em>...</em></p>;
    a table is <table> after its caption paragraph <p>Table N: ...</p>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.figures = []  # dicts: src, caption, texts (SVG <text> strings), shapes, imgs
        self.tables = []  # dicts: caption, rows (lists of cell strings; the header row first)
        self.stack = []
        self.figure = None
        self.last_closed = None  # the last top-level block closed: ("figure", f) or ("p", text)
        self.p = None  # text of the <p> being read, with whether it was only an <em>
        self.svg_text = None
        self.table = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.stack.append(tag)
        if tag == "figure":
            self.figure = {"src": attrs.get("data-src", "?"), "caption": None, "texts": [],
                           "shapes": 0, "imgs": 0}
        elif self.figure is not None:
            if tag == "text":
                self.svg_text = []
            elif tag in SHAPES and not (attrs.get("fill") == "none" and attrs.get("stroke", "none") == "none"):
                self.figure["shapes"] += 1
            elif tag == "img":
                self.figure["imgs"] += 1
                self.figure["src"] = attrs.get("src", self.figure["src"])
        elif tag == "p" and len(self.stack) <= 3:  # html > body > p
            self.p = {"text": [], "em_only": True}
        elif tag == "table":
            caption = self.last_closed[1] if self.last_closed and self.last_closed[0] == "p" else ""
            self.table = {"caption": caption, "rows": []}
        elif tag == "tr" and self.table is not None:
            self.table["rows"].append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
        if tag == "figure" and self.figure is not None:
            self.figures.append(self.figure)
            self.last_closed = ("figure", self.figure)
            self.figure = None
        elif tag == "text" and self.svg_text is not None:
            text = " ".join("".join(self.svg_text).split())
            if text:
                self.figure["texts"].append(text)
            self.svg_text = None
        elif tag == "p" and self.p is not None:
            text = " ".join("".join(self.p["text"]).split())
            if self.last_closed and self.last_closed[0] == "figure" and self.p["em_only"]:
                self.last_closed[1]["caption"] = text
            self.last_closed = ("p", text)
            self.p = None
        elif tag in ("td", "th") and self.cell is not None:
            self.table["rows"][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table" and self.table is not None:
            self.tables.append(self.table)
            self.last_closed = ("table", self.table)
            self.table = None

    def handle_data(self, data):
        if self.svg_text is not None:
            self.svg_text.append(data)
        elif self.cell is not None:
            self.cell.append(data)
        elif self.p is not None:
            self.p["text"].append(data)
            if data.strip() and self.stack[-1] != "em":
                self.p["em_only"] = False


def drawn(reader, page):
    """(paint operators, image XObjects drawn) on a page, the Form XObjects it draws included.

    How a figure is checked to be drawn: WeasyPrint draws an inline SVG as vector operations in
    the page's content and in Form XObjects (one per <text> with an opacity, here); the XObject
    resources are shared by all pages, so listing a page's /XObject dictionary says nothing
    about that page. What does is walking the page's content stream: every painting operator
    (fill, stroke, both) counted, every `Do` followed into its form. Every SVG shape that paints
    (fill or stroke not none) costs at least one painting operator, so a page must paint at
    least as often as the SVGs captioned on it have shapes (text, table rules and the like only
    add). Together with the SVG's own <text> strings found in that page's text, this says the
    figure was drawn whole, on its caption's page, without depending on how WeasyPrint groups
    its output. A raster figure (<img>) counts as drawn when an /Image XObject is painted."""
    from pypdf.generic import ContentStream

    def walk(stream, resources, depth):
        paints = images = 0
        xobjects = resources.get("/XObject") if resources else None
        xobjects = xobjects.get_object() if xobjects else {}
        for operands, op in ContentStream(stream, reader).operations:
            if op in PAINT_OPS:
                paints += 1
            elif op == b"Do" and operands[0] in xobjects:
                x = xobjects[operands[0]].get_object()
                if x.get("/Subtype") == "/Image":
                    images += 1
                elif x.get("/Subtype") == "/Form" and depth < 8:
                    res = x.get("/Resources")
                    p, i = walk(x, res.get_object() if res is not None else resources, depth + 1)
                    paints += p
                    images += i
        return paints, images

    res = page.get("/Resources")
    return walk(page.get_contents(), res.get_object() if res is not None else {}, 0)


def check(path, report):
    """The problems of the PDF at path against the HTML's report, and its page count."""
    from pypdf import PdfReader

    errors = []
    reader = PdfReader(path)
    pages = reader.pages
    n = len(pages)
    texts = [squash(p.extract_text()) for p in pages]

    if n not in PAGES:
        errors.append(f"{n} pages, expected {PAGES.start} to {PAGES.stop - 1}")
    for i, page in enumerate(pages, 1):
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        if abs(w - A4[0]) > 1 or abs(h - A4[1]) > 1:
            errors.append(f"page {i} is {w:.1f} x {h:.1f} pt, not A4")
        if squash(f"page {i} of {n}") not in texts[i - 1]:
            errors.append(f"page {i} has no 'page {i} of {n}'")

    # Figures: caption in the text; the SVG's strings and its shapes on the caption's page.
    if not report.figures:
        errors.append("no <figure> in the HTML")
    expected = {}  # page index -> (shapes, images) the figures captioned there need
    for f in report.figures:
        if not f["caption"]:
            errors.append(f"figure {f['src']} has no caption paragraph after it in the HTML")
            continue
        on = [i for i, t in enumerate(texts) if squash(f["caption"]) in t]
        if not on:
            errors.append(f"caption of {f['src']} not in the PDF: {f['caption']!r}")
            continue
        i = on[0]
        missing = [t for t in f["texts"] if squash(t) not in texts[i]]
        if missing:
            errors.append(f"figure {f['src']}: {len(missing)} of its {len(f['texts'])} texts "
                          f"not on its caption's page {i + 1}, e.g. {missing[0]!r}")
        if not f["texts"] and not f["shapes"] and not f["imgs"]:
            errors.append(f"figure {f['src']} has neither an SVG drawing nor an <img>")
        s, m = expected.get(i, (0, 0))
        expected[i] = (s + f["shapes"], m + f["imgs"])
    for i, (shapes, imgs) in sorted(expected.items()):
        paints, images = drawn(reader, pages[i])
        if paints < shapes:
            errors.append(f"page {i + 1} paints {paints} times, its figures have {shapes} shapes")
        if images < imgs:
            errors.append(f"page {i + 1} draws {images} images, its figures have {imgs}")

    # Tables: every caption; Table 1's header and rows, cell by cell.
    for t in report.tables:
        if t["caption"] and squash(t["caption"]) not in "".join(texts):
            errors.append(f"table caption not in the PDF: {t['caption'][:60]!r}")
    table1 = [t for t in report.tables if t["caption"].startswith("Table 1:")]
    if not table1:
        errors.append("no table captioned 'Table 1:' in the HTML")
    else:
        rows = table1[0]["rows"]
        names = [r[0] for r in rows[1:] if r]
        for model in TABLE1_MODELS:
            if model not in names:
                errors.append(f"Table 1 of the HTML has no row {model!r} (rows: {names})")
        page = [i for i, t in enumerate(texts) if squash(table1[0]["caption"]) in t]
        text = texts[page[0]] if page else ""
        for row in rows:
            if squash("".join(row)) not in text:
                errors.append(f"Table 1's row {row[0]!r} not on its caption's page in reading order")
    return errors, n


def main():
    try:
        import pypdf  # noqa: F401
    except ImportError:
        print("test_report_pdf: FAIL: pypdf is not installed: run `make venv`")
        return 2
    if not HTML.is_file():
        print(f"test_report_pdf: FAIL: {HTML} not found: run `charlab report` first")
        return 2
    report = Report()
    report.feed(HTML.read_text(encoding="utf-8"))

    with tempfile.TemporaryDirectory(prefix="report-pdf-") as tmp:
        out = Path(tmp) / "report.pdf"
        start = time.monotonic()
        run = subprocess.run([sys.executable, str(ROOT / "scripts" / "report_pdf.py"),
                              "--html", str(HTML), "--out", str(out)],
                             capture_output=True, text=True)
        seconds = time.monotonic() - start
        if run.returncode != 0 or not out.is_file():
            print(f"test_report_pdf: FAIL: report_pdf.py exited {run.returncode}: "
                  f"{(run.stderr or run.stdout).strip()[-500:]}")
            return 1
        size = out.stat().st_size
        errors, n = check(out, report)
        leftovers = [p.name for p in Path(tmp).iterdir() if p.name != "report.pdf"]
        if leftovers:
            errors.append(f"temporary files left next to the PDF: {leftovers}")

    # The committed PDF must say what the committed HTML says (the same checks), so a report
    # regenerated without its PDF fails here rather than shipping a stale PDF.
    committed = HTML.with_suffix(".pdf")
    if not committed.is_file():
        errors.append(f"{committed.relative_to(ROOT)} is missing: run `make report-pdf`")
    else:
        stale, _ = check(committed, report)
        errors += [f"committed {committed.relative_to(ROOT)} is stale (run `make report-pdf`): {e}"
                   for e in stale]

    if errors:
        print(f"test_report_pdf: FAIL ({len(errors)} problems, {n} pages):")
        for e in errors:
            print(f"  - {e}")
        return 1
    print(f"test_report_pdf: ok: {n} pages A4 (allowed {PAGES.start}-{PAGES.stop - 1}), page "
          f"numbers, {len(report.figures)} figures drawn with their captions, "
          f"{len(report.tables)} table captions, Table 1's header and rows; "
          f"committed PDF current; {size / 1e6:.2f} MB, built in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
