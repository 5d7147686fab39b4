"""The report folder's ``README.md``: what each file holds, the outcome at a glance, links in.

A code host shows a folder's README when the folder is opened, so this is what a
person sees first: which file to read (``report.md`` here, ``report.html`` in a
browser), how the fixtures came out, and a link to each part of the report.  Like
the rest of the report it holds nothing that changes between days or machines.
"""

from __future__ import annotations

import re
from collections import Counter

from bpcheck.io.escape import markdown_text
from bpcheck.report.cells import file_stem
from bpcheck.report.folder import CSV_DIR, HTML_NAME, JSON_NAME, MARKDOWN_NAME
from bpcheck.report.markdown import IMAGE_DIR, prose
from bpcheck.report.notes import intro
from bpcheck.report.tables import ERRATA_VERDICTS, Report

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
"""A fixture id a code host turns into the same heading anchor."""

SECTIONS = (
    ("Run", "run"),
    ("Summary: fixture by engine", "summary-fixture-by-engine"),
    ("Verdicts per document", "verdicts-per-document"),
    ("Errata found in the documents", "errata-found-in-the-documents"),
    ("Gradient checks", "gradient-checks"),
    ("Loss curves", "loss-curves"),
    ("Fixtures", "fixtures"),
)
"""The headings of ``report.md`` and the anchors a code host gives them."""


def files_table(report: Report, formats: list[str]) -> list[str]:
    rows = [f"| [{MARKDOWN_NAME}]({MARKDOWN_NAME}) | the report, to read here |"]
    if report.curves and any(curve.png for curve in report.curves):
        rows.append(f"| [{IMAGE_DIR}/]({IMAGE_DIR}/) | the loss curves shown in {MARKDOWN_NAME} |")
    if "html" in formats:
        rows.append(
            f"| [{HTML_NAME}]({HTML_NAME}) | the same report as one self-contained page: sortable "
            "tables, verdicts in colour; download it and open it in a browser |"
        )
    if "csv" in formats:
        rows.append(
            f"| [{CSV_DIR}/]({CSV_DIR}/) | one CSV file per table, numbers at full precision |"
        )
    if "json" in formats:
        rows.append(f"| [{JSON_NAME}]({JSON_NAME}) | every table as JSON records |")
    return ["| file | what it holds |", "| --- | --- |", *rows]


def glance(report: Report) -> list[str]:
    """The outcome in a few lines: fixtures not ok, printed numbers by verdict, gradients."""
    not_ok = [s.id for s in report.fixtures if s.outcome != "ok"]
    ok = len(report.fixtures) - len(not_ok)
    lines = [f"- Fixtures: {ok} ok, {len(not_ok)} not ok" + _named(not_ok) + "."]
    documents = report.documents.frame
    verdicts = [v for v in ("match", *ERRATA_VERDICTS) if v in documents.columns]
    if not documents.empty and verdicts:
        counts = ", ".join(f"{int(documents[v].sum())} {v}" for v in verdicts)
        lines.append(f"- Printed numbers: {counts} (see the errata).")
    if report.gradcheck is not None:
        outcomes = Counter(str(o) for o in report.gradcheck[0].frame["outcome"])
        counts = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
        lines.append(f"- Gradient checks: {counts or 'none'}.")
    else:
        lines.append("- Gradient checks: not part of this report.")
    return lines


def _named(ids: list[str]) -> str:
    return f" ({', '.join(markdown_text(i) for i in ids)})" if ids else ""


def contents(report: Report, formats: list[str]) -> list[str]:
    """A link to each section of ``report.md`` and to each fixture's table (and CSV)."""
    lines = [f"- [{title}]({MARKDOWN_NAME}#{anchor})" for title, anchor in SECTIONS]
    for section in report.fixtures:
        name = markdown_text(section.id)
        link = f"[{name}]({MARKDOWN_NAME}#{section.id})" if SLUG.fullmatch(section.id) else name
        line = f"  - {link}: {section.outcome}, {section.total} claim(s)"
        if "csv" in formats:
            line += f" ([CSV]({CSV_DIR}/{file_stem(section.claims.name)}.csv))"
        lines.append(line)
    return lines


def index(report: Report, formats: list[str]) -> str:
    """The folder's ``README.md``."""
    lines = ["# bpcheck report", "", prose(intro(report)), ""]
    lines += [*files_table(report, formats), ""]
    lines += ["## At a glance", "", *glance(report), ""]
    lines += ["## Contents of the report", "", *contents(report, formats), ""]
    lines += [
        "## Made by",
        "",
        prose(
            "`bpcheck report` (see its `--help`); running the same command again regenerates "
            "this folder, and deletes only the files an earlier report wrote here (listed in "
            "`.bpcheck-report-manifest`)."
        ),
    ]
    return "\n".join(lines) + "\n"
