"""Writing a report: Markdown, one self-contained HTML file, CSV per table, JSON.

Fixture text (titles, notes, ``where``) is data from outside: every piece of it
is escaped in HTML and Markdown, and nothing of it reaches a tag, an attribute
name or the script.  Output is a pure function of the report's tables, so the
committed reports change only when the results do.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from bpcheck import __version__
from bpcheck.report.tables import (
    INT,
    NUMERIC_KINDS,
    RELERR,
    STATUS,
    STATUSES,
    UNITS,
    VALUE,
    FixtureSection,
    Report,
    Table,
)

MARKDOWN_NAME, HTML_NAME, JSON_NAME = "report.md", "report.html", "report.json"
CSV_DIR, IMAGE_DIR = "csv", "img"
GENERATED = (  # the names of files we write: left-overs of an earlier report are removed
    (CSV_DIR, ("metadata", "engines", "summary", "documents", "errata", "gradcheck")),
    (CSV_DIR, ("gradcheck-rows", "fixture-*", "disagreements-*", "loss-*")),
    (IMAGE_DIR, ("loss-*",)),
)
LONG_TEXT = frozenset({"note", "where", "reason", "title"})


def file_stem(name: str) -> str:
    """A table or fixture name made safe as a file name (fixture ids are slugs already)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"


# --- cells as people read them --------------------------------------------------------------


def cell_text(value: Any, kind: str) -> str:
    """A cell for Markdown and HTML: numbers rounded for reading, missing ones blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if kind == INT:
        return str(int(value))
    if kind == VALUE:
        return f"{value:.12g}"
    if kind == UNITS:
        return f"{value:+.2f}"
    if kind == RELERR:
        return f"{value:.2e}"
    return str(value)


def shown(table: Table) -> pd.DataFrame:
    """The table as strings, each column formatted by its kind."""
    out = pd.DataFrame(index=table.frame.index)
    for column in table.frame.columns:
        kind = table.kind(column)
        out[column] = [cell_text(v, kind) for v in table.frame[column]]
    return out


# --- Markdown -------------------------------------------------------------------------------


def md_escape(text: str) -> str:
    """Fixture text in a Markdown table: no HTML, no pipes, one line."""
    text = html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split())


def md_table(table: Table) -> str:
    """A pipe table via ``DataFrame.to_markdown`` (tabulate): numbers right-aligned as written."""
    if table.frame.empty:
        return "*(none)*"
    cells = shown(table)
    cells = cells.map(md_escape)
    cells.columns = [md_escape(str(c)) for c in cells.columns]
    align = ["right" if table.kind(c) in NUMERIC_KINDS else "left" for c in table.frame.columns]
    text: str = cells.to_markdown(
        index=False, tablefmt="pipe", disable_numparse=True, colalign=align
    )
    long = [i for i, column in enumerate(table.frame.columns) if column in LONG_TEXT]
    return "\n".join(unpad(line, long) for line in text.splitlines()) if long else text


UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def unpad(line: str, columns: list[int]) -> str:
    """Drop tabulate's padding from long text columns (notes): it would only bloat the file."""
    cells = UNESCAPED_PIPE.split(line)
    rule = set(line) <= set("|:- ")
    for index in columns:
        cells[index + 1] = ":---" if rule else f" {cells[index + 1].strip()} "
    return "|".join(cells)


def md_fixture(section: FixtureSection, failures_only: bool) -> list[str]:
    lines = [f"### {md_escape(section.id)}", ""]
    where = f", {md_escape(section.where)}" if section.where else ""
    lines.append(f"*{md_escape(section.title)}*  ")
    lines.append(f"Document {md_escape(section.document)}{where}  ")
    lines.append(f"Fixture file {md_escape(section.path)}; outcome **{section.outcome}**.")
    lines.append("")
    if failures_only and section.claims.frame.empty:
        lines += [f"All {section.total} claim(s) reached their expected verdict.", ""]
    else:
        lines += [md_table(section.claims), ""]
    if section.disagreements is not None:
        lines += ["Engines disagree:", "", md_table(section.disagreements), ""]
    return lines


def markdown(report: Report) -> str:
    """The whole report as Markdown (images are linked from ``img/``)."""
    lines = ["# bpcheck report", "", intro(report), ""]
    lines += ["## Run", "", md_table(report.metadata), "", md_table(report.engines), ""]
    lines += ["## Summary: fixture by engine", "", SUMMARY_NOTE, ""]
    lines += [md_table(report.matrix), ""]
    lines += ["## Verdicts per document", "", md_table(report.documents), ""]
    lines += ["## Errata found in the documents", "", ERRATA_NOTE, ""]
    lines += [md_table(report.errata), ""]
    lines += ["## Gradient checks", ""]
    if report.gradcheck is None:
        lines += [NO_GRADCHECK, ""]
    else:
        lines += [md_table(report.gradcheck[0]), ""]
    lines += ["## Loss curves", ""]
    for curve in report.curves:
        if curve.png:
            name = f"{IMAGE_DIR}/loss-{file_stem(curve.fixture)}.png"
            lines += [f"![loss curve of {md_escape(curve.fixture)}]({name})", ""]
        else:
            lines += [f"{md_escape(curve.fixture)}: no curve ({md_escape(curve.note)}).", ""]
    if not report.curves:
        lines += [NO_CURVES, ""]
    lines += ["## Fixtures", "", FIXTURES_NOTE, ""]
    for section in report.fixtures:
        lines += md_fixture(section, report.failures_only)
    return "\n".join(lines).rstrip() + "\n"


SUMMARY_NOTE = (
    "Claims per outcome for each fixture and engine: ok (the verdict expected), failed, "
    "errored (the engine raised), skipped (the engine cannot do the problem)."
)
ERRATA_NOTE = (
    "Every printed number whose expected or computed verdict is `truncated` or `mismatch`; "
    "the true value is the reference engine's, *units off* is true value minus printed in "
    "units of the printed last place."
)
FIXTURES_NOTE = (
    "One table per fixture: each engine's value, the reference (the first engine with a value), "
    "*units off* (reference minus printed, in units of the printed last place), the verdict "
    "found and the verdict expected."
)
NO_GRADCHECK = (
    "No gradient-check results given (`--gradcheck FILE`, from `bpcheck gradcheck --json`)."
)
NO_CURVES = "No fixture trains more than one step."


def intro(report: Report) -> str:
    fixtures = len(report.fixtures)
    claims = sum(section.total for section in report.fixtures)
    engines = ", ".join(str(e) for e in report.engines.frame["engine"])
    only = (
        " Claim tables show only the claims that did not reach their expected verdict."
        if (report.failures_only)
        else ""
    )
    return f"{fixtures} fixture(s), {claims} claim(s), engines: {engines or 'none'}.{only}"


# --- HTML -----------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 1.5em 3em;
color:#1f2328;background:#fff}
h1{margin:.6em 0 .2em}h2{margin-top:1.6em;border-bottom:1px solid #d0d7de}h3{margin-top:1.4em}
nav a{margin-right:1em}.meta{color:#59636e}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 7px;vertical-align:top;text-align:left;
white-space:nowrap}
th{background:#f6f8fa;cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr:nth-child(even) td{background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
td.long{white-space:normal;min-width:24em;max-width:48em}
td.s-match,td.s-ok,td.s-holds,td.s-pinned,td.s-pass{background:#dafbe1!important;color:#116329}
td.s-truncated{background:#fff8c5!important;color:#7d4e00}
td.s-mismatch,td.s-failed,td.s-fails,td.s-moved,td.s-fail{background:#ffebe9!important;
color:#a40e26}
td.s-errored{background:#fbefff!important;color:#6e40c9}td.s-skipped{background:#eaeef2!important;
color:#59636e}
img{max-width:100%;border:1px solid #d0d7de;margin:.3em 0}
"""

SCRIPT = """
(function () {
  function key(cell) {
    var text = cell.textContent.trim();
    var number = Number(text);
    return text !== "" && !isNaN(number) ? [0, number] : [1, text.toLowerCase()];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) { return a[0] - b[0]; }
    return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () {
      var table = th.closest("table");
      var body = table.tBodies[0];
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      th.parentNode.querySelectorAll("th").forEach(function (h) {
        h.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (r, s) {
        var order = compare(key(r.cells[index]), key(s.cells[index]));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _status_class(name: str) -> str:
    """``s-<status>`` for a known status word, else nothing: data never names a class."""
    return f"s-{name}" if name in STATUSES else ""


def cell_classes(table: Table, row: int, column: str, text: str) -> str:
    kind = table.kind(column)
    classes = []
    if kind in NUMERIC_KINDS:
        classes.append("num")
    if column in LONG_TEXT:
        classes.append("long")
    if kind == STATUS:
        classes.append(_status_class(text))
    if table.classes is not None and column in table.classes.columns:
        given = str(table.classes[column].iloc[row])
        classes.append(_status_class(given.removeprefix("s-")))
    return " ".join(c for c in classes if c)


def html_table(table: Table) -> str:
    """A sortable table: every header and cell escaped, statuses coloured by class."""
    if table.frame.empty:
        return "<p><em>(none)</em></p>"
    cells = shown(table)
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in table.frame.columns)
    rows = []
    for row in range(len(cells)):
        tds = []
        for column in table.frame.columns:
            text = cells[column].iloc[row]
            classes = cell_classes(table, row, column, text)
            attr = f' class="{classes}"' if classes else ""
            tds.append(f"<td{attr}>{esc(text)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    body = "\n".join(rows)
    anchor = esc(file_stem(table.name))
    return (
        f'<table class="sortable" id="t-{anchor}">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def html_fixture(section: FixtureSection, failures_only: bool) -> list[str]:
    anchor = esc(file_stem(section.id))
    where = f", {esc(section.where)}" if section.where else ""
    parts = [
        f'<h3 id="f-{anchor}">{esc(section.id)}</h3>',
        f"<p><em>{esc(section.title)}</em><br>Document {esc(section.document)}{where}<br>"
        f'Fixture file {esc(section.path)}; outcome <span class="{_status_class(section.outcome)}">'
        f"<strong>{esc(section.outcome)}</strong></span>.</p>",
    ]
    if failures_only and section.claims.frame.empty:
        parts.append(f"<p>All {section.total} claim(s) reached their expected verdict.</p>")
    else:
        parts.append(html_table(section.claims))
    if section.disagreements is not None:
        parts += ["<p>Engines disagree:</p>", html_table(section.disagreements)]
    return parts


def html_curves(report: Report) -> list[str]:
    parts = []
    for curve in report.curves:
        if curve.png:
            data = base64.b64encode(curve.png).decode("ascii")
            alt = esc(f"loss curve of {curve.fixture}")
            parts.append(f'<p><img alt="{alt}" src="data:image/png;base64,{data}"></p>')
        else:
            parts.append(f"<p>{esc(curve.fixture)}: no curve ({esc(curve.note)}).</p>")
    return parts or [f"<p>{esc(NO_CURVES)}</p>"]


SECTIONS = (
    ("run", "Run"),
    ("summary", "Summary"),
    ("documents", "Verdicts per document"),
    ("errata", "Errata"),
    ("gradcheck", "Gradient checks"),
    ("curves", "Loss curves"),
    ("fixtures", "Fixtures"),
)


def page(report: Report) -> str:
    """The whole report as one HTML file: CSS and script inline, images as data URIs."""
    nav = " ".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS)
    gradcheck = (
        [f"<p>{NO_GRADCHECK_HTML}</p>"]
        if report.gradcheck is None
        else [html_table(report.gradcheck[0])]
    )
    body = [
        "<h1>bpcheck report</h1>",
        f'<p class="meta">{esc(intro(report))}</p>',
        f"<nav>{nav}</nav>",
        '<h2 id="run">Run</h2>',
        html_table(report.metadata),
        html_table(report.engines),
        '<h2 id="summary">Summary: fixture by engine</h2>',
        f"<p>{esc(SUMMARY_NOTE)} Click a column header to sort.</p>",
        html_table(report.matrix),
        '<h2 id="documents">Verdicts per document</h2>',
        html_table(report.documents),
        '<h2 id="errata">Errata found in the documents</h2>',
        f"<p>{esc(ERRATA_NOTE.replace('`', '').replace('*', ''))}</p>",
        html_table(report.errata),
        '<h2 id="gradcheck">Gradient checks</h2>',
        *gradcheck,
        '<h2 id="curves">Loss curves</h2>',
        *html_curves(report),
        '<h2 id="fixtures">Fixtures</h2>',
        f"<p>{esc(FIXTURES_NOTE.replace('*', ''))}</p>",
    ]
    for section in report.fixtures:
        body += html_fixture(section, report.failures_only)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>bpcheck report</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


NO_GRADCHECK_HTML = (
    "No gradient-check results given (<code>--gradcheck FILE</code>, from "
    "<code>bpcheck gradcheck --json</code>)."
)


# --- CSV and JSON ---------------------------------------------------------------------------


def write_csv(table: Table, folder: Path) -> Path:
    """One table as CSV at full precision (``%.17g``), so values survive the round trip."""
    path = folder / f"{file_stem(table.name)}.csv"
    table.frame.to_csv(path, index=False, float_format="%.17g", lineterminator="\n")
    return path


def json_value(value: Any) -> Any:
    """A cell as JSON: NaN as null, infinities as strings (JSON has neither)."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    if hasattr(value, "item"):  # a NumPy scalar
        return json_value(value.item())
    return value


def json_document(report: Report) -> dict[str, Any]:
    """Every table as records, keyed by the same names as the CSV files."""
    tables = {}
    for table in report.tables():
        records = table.frame.to_dict(orient="records")
        rows = [{str(k): json_value(v) for k, v in record.items()} for record in records]
        tables[table.name] = {"title": table.title, "rows": rows}
    metadata = dict(zip(report.metadata.frame["item"], report.metadata.frame["value"], strict=True))
    return {"bpcheck": __version__, "metadata": metadata, "tables": tables}


# --- writing files --------------------------------------------------------------------------


def write(report: Report, out: Path, formats: list[str]) -> list[Path]:
    """Write the chosen formats under ``out``; return the files written.

    Files of ours left from an earlier report (a fixture since removed) are
    deleted, so a regenerated folder holds exactly the current report.
    """
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "md" in formats:
        written += write_images(report, out / IMAGE_DIR)
        written.append(out / MARKDOWN_NAME)
        written[-1].write_text(markdown(report), "utf-8")
    if "html" in formats:
        written.append(out / HTML_NAME)
        written[-1].write_text(page(report), "utf-8")
    if "csv" in formats:
        (out / CSV_DIR).mkdir(exist_ok=True)
        written += [write_csv(table, out / CSV_DIR) for table in report.tables()]
    if "json" in formats:
        written.append(out / JSON_NAME)
        text = json.dumps(json_document(report), indent=1, ensure_ascii=False, allow_nan=False)
        written[-1].write_text(text + "\n", "utf-8")
    remove_stale(out, written, formats)
    return written


def write_images(report: Report, folder: Path) -> list[Path]:
    written = []
    for curve in report.curves:
        if curve.png:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"loss-{file_stem(curve.fixture)}.png"
            path.write_bytes(curve.png)
            written.append(path)
    return written


def remove_stale(out: Path, written: list[Path], formats: list[str]) -> None:
    """Delete files named like ours (:data:`GENERATED`) that were not written this time."""
    keep = {p.resolve() for p in written}
    wanted = {CSV_DIR: ("csv", ".csv"), IMAGE_DIR: ("md", ".png")}
    for folder, stems in GENERATED:
        fmt, suffix = wanted[folder]
        if fmt not in formats:
            continue
        for stem in stems:
            for path in sorted((out / folder).glob(stem + suffix)):
                if path.resolve() not in keep:
                    path.unlink()
