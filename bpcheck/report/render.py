"""Writing a report: Markdown, one self-contained HTML file, CSV per table, JSON.

Output is a pure function of the report's tables, so the committed reports
change only when the results do.  How each format reads is in
:mod:`bpcheck.report.markdown` and :mod:`bpcheck.report.page`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bpcheck import __version__
from bpcheck.report.cells import file_stem
from bpcheck.report.markdown import IMAGE_DIR, markdown
from bpcheck.report.page import page
from bpcheck.report.tables import Report, Table

MARKDOWN_NAME, HTML_NAME, JSON_NAME = "report.md", "report.html", "report.json"
CSV_DIR = "csv"
GENERATED = (  # the names of files we write: left-overs of an earlier report are removed
    (CSV_DIR, ("metadata", "engines", "summary", "documents", "errata", "gradcheck")),
    (CSV_DIR, ("gradcheck-rows", "fixture-*", "disagreements-*", "loss-*")),
    (IMAGE_DIR, ("loss-*",)),
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
