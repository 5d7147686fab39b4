"""The report as Markdown: pipe tables by tabulate (through pandas), fixture text escaped.

Fixture text (titles, notes, ``where``) and engine names are data from outside:
they go through :func:`bpcheck.io.escape.markdown_text` (HTML as entities;
brackets, backticks, pipes and backslashes escaped; one line), so nothing in
them can open a tag, a link or an image, or break a table.

A code host shows a Markdown file as it is written, and scrolls a long line
sideways: no line is longer than :data:`LINE_LIMIT`.  Prose (notes, ``where``,
reasons) leaves the table for numbered notes below it, wrapped; a table still too
wide is split into parts, each repeating the first column.
"""

from __future__ import annotations

import re
import textwrap

import pandas as pd

from bpcheck.io.escape import markdown_text, markdown_wrapped
from bpcheck.report.cells import LONG_TEXT, file_stem, shown
from bpcheck.report.curves import Curve
from bpcheck.report.notes import (
    CURVES_NOTE,
    ERRATA_NOTE,
    FIXTURES_NOTE,
    GRADCHECK_NOTE,
    NO_CURVES,
    NO_GRADCHECK,
    NO_ULPS,
    SUMMARY_NOTE,
    ULPS_NOTE,
    intro,
)
from bpcheck.report.tables import NUMERIC_KINDS, FixtureSection, Report, Table

IMAGE_DIR = "img"
"""Where the loss curves' PNG files go, beside ``report.md``."""

LINE_LIMIT = 200
"""No line of the Markdown is longer (a single word longer than this aside)."""

NOTE_WIDTH = 100
"""Notes below a table, and other prose, are wrapped at this width."""

SHORT_TEXT = 40
"""A prose column whose texts are all this short stays in the table."""


def md_table(table: Table) -> str:
    """A pipe table via ``DataFrame.to_markdown`` (tabulate): numbers right-aligned as written.

    Prose columns become numbered notes below the table (a text repeated is one
    note); a table wider than :data:`LINE_LIMIT` is split by columns, each part
    starting with the first column, or with the row's number when the first column
    does not tell rows apart.
    """
    if table.frame.empty:
        return "*(none)*"
    cells = shown(table)
    notes: list[str] = []
    for column in table.frame.columns:
        if table.kind(column) not in NUMERIC_KINDS and _is_prose(column, cells[column]):
            cells[column] = [_note_number(text, notes) for text in cells[column]]
    cells = cells.map(markdown_text)
    cells.columns = [markdown_text(str(c)) for c in cells.columns]
    align = ["right" if table.kind(c) in NUMERIC_KINDS else "left" for c in table.frame.columns]
    groups = column_groups(cells, LINE_LIMIT)
    if len(groups) > 1 and not cells.iloc[:, 0].is_unique:
        cells.insert(0, "row", [str(n) for n in range(1, len(cells) + 1)])
        align.insert(0, "right")
        groups = column_groups(cells, LINE_LIMIT)
    parts = []
    for number, group in enumerate(groups):
        text: str = cells.iloc[:, group].to_markdown(
            index=False,
            tablefmt="pipe",
            disable_numparse=True,
            colalign=[align[i] for i in group],
        )
        parts.append(text if number == 0 else f"*Continued:*\n\n{text}")
    if notes:
        listed = [
            markdown_wrapped(n, NOTE_WIDTH, f"{i}. ", " " * len(f"{i}. "))
            for i, n in enumerate(notes, 1)
        ]
        parts.append("Notes, by their number in the table:\n\n" + "\n".join(listed))
    return "\n\n".join(parts)


def _is_prose(column: object, texts: pd.Series) -> bool:
    """Prose columns longer than :data:`SHORT_TEXT`, and any column too long for a table."""
    longest = max((len(text) for text in texts), default=0)
    return longest > (SHORT_TEXT if column in LONG_TEXT else LINE_LIMIT // 2)


def _note_number(text: str, notes: list[str]) -> str:
    """The note's number (1-based) in ``notes``, adding it if new; blank for no text."""
    if not text:
        return ""
    if text not in notes:
        notes.append(text)
    return str(notes.index(text) + 1)


def column_groups(cells: pd.DataFrame, limit: int) -> list[list[int]]:
    """Column indices per part, each part's lines at most ``limit`` (the first column in each).

    A pipe table's line is ``| a | b |``: each column takes its widest cell (or its
    header plus tabulate's two characters of padding) plus three, the line one more.
    """
    widths = [
        max([len(str(header)) + 2, *(len(str(v)) for v in cells.iloc[:, i])]) + 3
        for i, header in enumerate(cells.columns)
    ]
    groups: list[list[int]] = [[0]]
    used = 1 + widths[0]
    for index in range(1, len(widths)):
        if used + widths[index] > limit and len(groups[-1]) > 1:
            groups.append([0])
            used = 1 + widths[0]
        groups[-1].append(index)
        used += widths[index]
    return groups


def prose(text: str) -> str:
    """The report's own sentences (trusted Markdown), wrapped at :data:`NOTE_WIDTH`."""
    return textwrap.fill(text, NOTE_WIDTH, break_long_words=False, break_on_hyphens=False)


def item(label: str, text: str) -> str:
    """``- label: text``, the text from outside escaped and wrapped."""
    return markdown_wrapped(text, NOTE_WIDTH, f"- {label}: ", "  ")


def document_lines(source: dict[str, str]) -> list[str]:
    """The document by title, author and file name, and its URL as a link when it is one."""
    title = source.get("title") or source["document"]
    author = f" by {source['author']}" if source.get("author") else ""
    file = f" (file {source['document']})" if source.get("title") else ""
    lines = [item("Document", f"{title}{author}{file}")]
    url = source.get("url", "")
    if URL.fullmatch(url):
        lines.append(f"- URL: <{url}>")
    elif url:
        lines.append(item("URL", url))
    return lines


URL = re.compile(r"https?://[^\s<>]+")
"""A URL that can stand in an autolink (``<https://...>``) as it is."""


def md_fixture(section: FixtureSection, failures_only: bool) -> list[str]:
    lines = [f"### {markdown_text(section.id)}", ""]
    lines.append(item("Worked example", section.title))
    lines += document_lines(section.source)
    if section.where:
        lines.append(item("Where", section.where))
    lines.append(item("Fixture file", section.path))
    lines += [f"- Outcome: **{section.outcome}**", ""]
    if failures_only and section.claims.frame.empty:
        lines += [f"All {section.total} claim(s) reached their expected verdict.", ""]
    else:
        lines += [md_table(section.claims), ""]
    if section.disagreements is not None:
        lines += ["Engines disagree:", "", md_table(section.disagreements), ""]
    return lines


def md_curve(curve: Curve) -> list[str]:
    """A loss curve's image, and each printed loss with its verdict in words."""
    if not curve.png:
        return [markdown_wrapped(f"{curve.fixture}: no curve ({curve.note}).", NOTE_WIDTH), ""]
    name = f"{IMAGE_DIR}/loss-{file_stem(curve.fixture)}.png"
    lines = [f"![loss curve of {markdown_text(curve.fixture)}]({name})", ""]
    marks = [
        f"step {m.step}: {markdown_text(m.printed)} is {m.verdict} ({m.units:+.3g} units)"
        for m in curve.marks
    ]
    if marks:
        lines += [
            prose(f"Printed losses of {markdown_text(curve.fixture)}: " + "; ".join(marks) + "."),
            "",
        ]
    return lines


def markdown(report: Report) -> str:
    """The whole report as Markdown (images are linked from ``img/``)."""
    lines = ["# bpcheck report", "", prose(intro(report)), ""]
    lines += ["## Run", "", md_table(report.metadata), "", md_table(report.engines), ""]
    lines += ["## Summary: fixture by engine", "", prose(SUMMARY_NOTE), ""]
    lines += [md_table(report.matrix), ""]
    lines += ["## Verdicts per document", "", md_table(report.documents), ""]
    lines += ["## Float engines against the certified values", ""]
    if report.ulps is None:
        lines += [prose(NO_ULPS), ""]
    else:
        lines += [prose(ULPS_NOTE), "", md_table(report.ulps), ""]
    lines += ["## Errata found in the documents", "", prose(ERRATA_NOTE), ""]
    lines += [md_table(report.errata), ""]
    lines += ["## Gradient checks", ""]
    if report.gradcheck is None:
        lines += [prose(NO_GRADCHECK), ""]
    else:
        lines += [prose(GRADCHECK_NOTE), "", md_table(report.gradcheck[0]), ""]
    lines += ["## Loss curves", ""]
    if report.curves:
        lines += [prose(CURVES_NOTE), ""]
    for curve in report.curves:
        lines += md_curve(curve)
    if not report.curves:
        lines += [NO_CURVES, ""]
    lines += ["## Fixtures", "", prose(FIXTURES_NOTE), ""]
    for section in report.fixtures:
        lines += md_fixture(section, report.failures_only)
    return "\n".join(lines).rstrip() + "\n"
