"""The report as one self-contained HTML page, from the Jinja2 templates in ``templates/``.

Fixture text (titles, notes, ``where``) is data from outside: the templates
autoescape every value, and the only classes a cell gets are the report's own
status words, so nothing from a fixture reaches a tag, an attribute name or the
script.  Python prepares what to show (:class:`HtmlTable`); the templates hold
the markup, the CSS and the sorting script.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bpcheck.report.cells import LONG_TEXT, file_stem, shown
from bpcheck.report.curves import Curve
from bpcheck.report.notes import (
    CURVES_NOTE,
    ERRATA_NOTE,
    FIXTURES_NOTE,
    GRADCHECK_NOTE,
    NO_CURVES,
    NO_ULPS,
    SUMMARY_NOTE,
    ULPS_NOTE,
    intro,
    plain,
)
from bpcheck.report.tables import NUMERIC_KINDS, STATUS, STATUSES, FixtureSection, Report, Table

SECTIONS = (
    ("run", "Run"),
    ("summary", "Summary"),
    ("documents", "Verdicts per document"),
    ("ulps", "ULPs"),
    ("errata", "Errata"),
    ("gradcheck", "Gradient checks"),
    ("curves", "Loss curves"),
    ("fixtures", "Fixtures"),
)


@cache
def environment() -> Environment:
    """Templates of this package, autoescaped (``.html``); CSS and script included as written."""
    return Environment(
        loader=PackageLoader("bpcheck.report"),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Cell:
    text: str
    classes: str


@dataclass(frozen=True)
class HtmlTable:
    """A table as the template shows it: an anchor, headers, and each cell's text and classes."""

    anchor: str
    headers: list[str]
    rows: list[list[Cell]]


def status_class(name: str) -> str:
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
        classes.append(status_class(text))
    if table.classes is not None and column in table.classes.columns:
        given = str(table.classes[column].iloc[row])
        classes.append(status_class(given.removeprefix("s-")))
    return " ".join(c for c in classes if c)


def html_table(table: Table) -> HtmlTable:
    """What the ``table`` macro shows; no rows for an empty table (shown as "(none)")."""
    cells = shown(table)
    rows = []
    if not table.frame.empty:
        for row in range(len(cells)):
            found = []
            for column in table.frame.columns:
                text = cells[column].iloc[row]
                found.append(Cell(text, cell_classes(table, row, column, text)))
            rows.append(found)
    headers = [str(column) for column in table.frame.columns]
    return HtmlTable(file_stem(table.name), headers, rows)


@dataclass(frozen=True)
class FixtureView:
    """One fixture's part of the page."""

    id: str
    anchor: str
    title: str
    document: str
    document_title: str
    author: str
    url: str | None
    """The document's address, only if it is an http(s) URL: it becomes a link."""
    where: str
    path: str
    outcome: str
    outcome_class: str
    total: int
    all_ok: bool
    """Only failures are shown, and there are none: a sentence instead of an empty table."""
    claims: HtmlTable
    disagreements: HtmlTable | None


def fixture_view(section: FixtureSection, failures_only: bool) -> FixtureView:
    disagreements = section.disagreements
    return FixtureView(
        id=section.id,
        anchor=file_stem(section.id),
        title=section.title,
        document=section.document,
        document_title=section.source.get("title", ""),
        author=section.source.get("author", ""),
        url=link_target(section.source.get("url", "")),
        where=section.where,
        path=section.path,
        outcome=section.outcome,
        outcome_class=status_class(section.outcome),
        total=section.total,
        all_ok=failures_only and section.claims.frame.empty,
        claims=html_table(section.claims),
        disagreements=None if disagreements is None else html_table(disagreements),
    )


def link_target(url: str) -> str | None:
    """``url`` if it is an http(s) URL a link may point to (never ``javascript:``), else None."""
    return url if URL.fullmatch(url) else None


URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class CurveView:
    fixture: str
    png: str
    """The PNG in base64, for a data URI; empty when there is no curve."""
    note: str
    marks: list[str]
    """Each printed loss and its verdict, in words."""
    verdicts: list[str]
    """The verdict of each mark (for its colour)."""


def curve_view(curve: Curve) -> CurveView:
    return CurveView(
        curve.fixture,
        base64.b64encode(curve.png).decode("ascii"),
        curve.note,
        [f"step {m.step}: {m.printed} is {m.verdict} ({m.units:+.3g} units)" for m in curve.marks],
        [status_class(m.verdict) for m in curve.marks],
    )


def page(report: Report) -> str:
    """The whole report as one HTML file: CSS and script inline, images as data URIs."""
    template = environment().get_template("report.html")
    return template.render(
        intro=intro(report),
        sections=SECTIONS,
        metadata=html_table(report.metadata),
        engines=html_table(report.engines),
        summary_note=SUMMARY_NOTE,
        matrix=html_table(report.matrix),
        documents=html_table(report.documents),
        ulps_note=plain(ULPS_NOTE),
        no_ulps=plain(NO_ULPS),
        ulps=None if report.ulps is None else html_table(report.ulps),
        errata_note=plain(ERRATA_NOTE),
        errata=html_table(report.errata),
        gradcheck_note=plain(GRADCHECK_NOTE),
        gradcheck=None if report.gradcheck is None else html_table(report.gradcheck[0]),
        curves_note=plain(CURVES_NOTE),
        curves=[curve_view(c) for c in report.curves],
        no_curves=NO_CURVES,
        fixtures_note=plain(FIXTURES_NOTE),
        fixtures=[fixture_view(s, report.failures_only) for s in report.fixtures],
    )
