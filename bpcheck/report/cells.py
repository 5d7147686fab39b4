"""How a report's cells read in Markdown, HTML and CSV, and the names of the files they go in.

CSV and JSON keep the numbers themselves; only the tables people read round them.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from bpcheck.io.escape import csv_cell
from bpcheck.report.tables import INT, RELERR, UNITS, VALUE, Table

LONG_TEXT = frozenset({"note", "where", "reason", "title"})
"""Columns of prose: wrapped in HTML, unpadded in Markdown."""


def file_stem(name: str) -> str:
    """A table or fixture name made safe as a file name (fixture ids are slugs already)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"


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


def csv_frame(table: Table) -> pd.DataFrame:
    """The table as its CSV holds it: numbers as they are, text no spreadsheet runs as a formula.

    Titles, notes, ``where`` and engine names come from outside; a cell such as
    ``=HYPERLINK(...)`` gets a leading ``'`` (:func:`bpcheck.io.escape.csv_cell`).
    """
    out = table.frame.map(csv_cell)
    out.columns = [csv_cell(str(column)) for column in table.frame.columns]
    return out
