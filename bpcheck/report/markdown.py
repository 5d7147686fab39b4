"""The report as Markdown: pipe tables by tabulate (through pandas), fixture text escaped.

Fixture text (titles, notes, ``where``) and engine names are data from outside:
they go through :func:`bpcheck.io.escape.markdown_text` (HTML as entities;
brackets, backticks, pipes and backslashes escaped; one line), so nothing in
them can open a tag, a link or an image, or break a table.
"""

from __future__ import annotations

import re

from bpcheck.io.escape import markdown_text
from bpcheck.report.cells import LONG_TEXT, file_stem, shown
from bpcheck.report.notes import (
    ERRATA_NOTE,
    FIXTURES_NOTE,
    NO_CURVES,
    NO_GRADCHECK,
    SUMMARY_NOTE,
    intro,
)
from bpcheck.report.tables import NUMERIC_KINDS, FixtureSection, Report, Table

IMAGE_DIR = "img"
"""Where the loss curves' PNG files go, beside ``report.md``."""


def md_table(table: Table) -> str:
    """A pipe table via ``DataFrame.to_markdown`` (tabulate): numbers right-aligned as written."""
    if table.frame.empty:
        return "*(none)*"
    cells = shown(table)
    cells = cells.map(markdown_text)
    cells.columns = [markdown_text(str(c)) for c in cells.columns]
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
    lines = [f"### {markdown_text(section.id)}", ""]
    where = f", {markdown_text(section.where)}" if section.where else ""
    lines.append(f"*{markdown_text(section.title)}*  ")
    lines.append(f"Document {markdown_text(section.document)}{where}  ")
    lines.append(f"Fixture file {markdown_text(section.path)}; outcome **{section.outcome}**.")
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
            lines += [f"![loss curve of {markdown_text(curve.fixture)}]({name})", ""]
        else:
            lines += [
                f"{markdown_text(curve.fixture)}: no curve ({markdown_text(curve.note)}).",
                "",
            ]
    if not report.curves:
        lines += [NO_CURVES, ""]
    lines += ["## Fixtures", "", FIXTURES_NOTE, ""]
    for section in report.fixtures:
        lines += md_fixture(section, report.failures_only)
    return "\n".join(lines).rstrip() + "\n"
