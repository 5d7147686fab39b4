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
from bpcheck.report.cells import csv_frame, file_stem
from bpcheck.report.folder import (
    CSV_DIR,
    HTML_NAME,
    INDEX_NAME,
    JSON_NAME,
    MARKDOWN_NAME,
    replace_report,
)
from bpcheck.report.index import index
from bpcheck.report.markdown import IMAGE_DIR, markdown
from bpcheck.report.page import page
from bpcheck.report.tables import Report, Table

# --- CSV and JSON ---------------------------------------------------------------------------


def csv_text(table: Table) -> str:
    """One table as CSV at full precision (``%.17g``), so values survive the round trip; text
    that a spreadsheet would run as a formula is marked as text (:func:`csv_frame`)."""
    frame = csv_frame(table)
    text: str = frame.to_csv(index=False, float_format="%.17g", lineterminator="\n")
    return text


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


def rendered(report: Report, formats: list[str]) -> dict[str, bytes]:
    """Every file of the chosen formats, by its name in the report folder (``csv/x.csv``)."""
    files: dict[str, bytes] = {}
    if "md" in formats:
        for curve in report.curves:
            if curve.png:
                files[f"{IMAGE_DIR}/loss-{file_stem(curve.fixture)}.png"] = curve.png
        files[MARKDOWN_NAME] = markdown(report).encode("utf-8")
        files[INDEX_NAME] = index(report, formats).encode("utf-8")
    if "html" in formats:
        files[HTML_NAME] = page(report).encode("utf-8")
    if "csv" in formats:
        for table in report.tables():
            files[f"{CSV_DIR}/{file_stem(table.name)}.csv"] = csv_text(table).encode("utf-8")
    if "json" in formats:
        text = json.dumps(json_document(report), indent=1, ensure_ascii=False, allow_nan=False)
        files[JSON_NAME] = (text + "\n").encode("utf-8")
    return files


def write(report: Report, out: Path, formats: list[str]) -> list[Path]:
    """Write the chosen formats under ``out``, each file atomically; return the files written.

    Files an earlier report wrote there (by its manifest) and this one does not,
    in the formats written now, are deleted, so a regenerated folder holds exactly
    the current report; nothing else is (see :mod:`bpcheck.report.folder`).
    """
    return replace_report(out, rendered(report, formats), formats)
