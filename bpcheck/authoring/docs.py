"""Tables in the READMEs that are generated from the fixtures and the code, so they cannot drift.

``fixtures/README.md`` holds the coverage table (per document: worked examples,
printed numbers encoded, verdict counts); ``README.md`` the errata found in the
documents and the bug zoo (each bug of the catalogue against each check, from
:mod:`bpcheck.diagnose.zoo`).  ``bpcheck docs`` rewrites each between its marker
comments; a test fails when one is out of date, so a dropped claim is noticed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bpcheck.checking.check import check_fixture
from bpcheck.diagnose.zoo import zoo_table
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture

VERDICT_COLUMNS = ("match", "truncated", "mismatch")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *(line(r) for r in rows)])


def coverage_table(fixtures: list[Fixture]) -> str:
    by_document: dict[str, list[Fixture]] = defaultdict(list)
    for fixture in fixtures:
        by_document[fixture.source["document"]].append(fixture)
    rows = []
    totals: Counter[str] = Counter()
    for document in sorted(by_document):
        group = by_document[document]
        counts: Counter[str] = Counter()
        for fixture in group:
            counts["examples"] += 1
            for claim in fixture.claims:
                if claim.printed is not None:
                    counts["printed"] += 1
                    counts[claim.expect or ""] += 1
                if claim.relation is not None:
                    counts["relations"] += 1
                if claim.pinned is not None:
                    counts["pinned"] += 1
        totals.update(counts)
        rows.append([f"`{document}`", *_count_cells(counts)])
    rows.append(["**all**", *_count_cells(totals)])
    headers = ["document", "worked examples", "printed numbers", *VERDICT_COLUMNS]
    return markdown_table([*headers, "relations", "pinned values"], rows)


def _count_cells(counts: Counter[str]) -> list[str]:
    keys = ("examples", "printed", *VERDICT_COLUMNS, "relations", "pinned")
    return [str(counts[key]) for key in keys]


def errata_table(fixtures: list[Fixture], engine: Engine) -> str:
    """Every printed number expected to be ``truncated`` or ``mismatch``, with the true value."""
    rows = []
    for fixture in fixtures:
        flagged = [c for c in fixture.claims if c.expect in ("truncated", "mismatch")]
        if not flagged:
            continue
        results = {r.claim.id: r for r in check_fixture(fixture, {engine.name: engine}).claims}
        for claim in flagged:
            value = results[claim.id].reference
            rows.append(
                [
                    f"`{fixture.source['document']}`",
                    f"`{fixture.id}`",
                    claim.quantity,
                    str(claim.step),
                    claim.printed or "",
                    "-" if value is None else f"{value:.10g}",
                    claim.expect or "",
                    claim.diagnosis or "-",
                    claim.note.replace("|", "\\|").replace("\n", " "),
                ]
            )
    headers = ["document", "fixture", "quantity", "step", "printed", "true value", "verdict"]
    return markdown_table([*headers, "diagnosis", "why"], rows)


def replace_between(text: str, name: str, content: str) -> str:
    """Put ``content`` between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"expected the markers {start} and {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


@dataclass(frozen=True)
class Section:
    """A generated part of a document: where it goes, and how to make its text."""

    path: Path
    marker: str
    """Its text sits between ``<!-- marker:start -->`` and ``<!-- marker:end -->``."""
    content: Callable[[], str]


def generated_sections(root: Path, fixtures: list[Fixture], engine: Engine) -> list[Section]:
    """Every generated section of the project at ``root``, in the order they are written."""
    readme = root / "README.md"
    return [
        Section(root / "fixtures" / "README.md", "coverage", lambda: coverage_table(fixtures)),
        Section(readme, "errata", lambda: errata_table(fixtures, engine)),
        Section(readme, "zoo", lambda: zoo_table(fixtures)),
    ]


def updated_documents(
    root: Path, fixtures: list[Fixture], engine: Engine
) -> dict[Path, tuple[str, str]]:
    """For each generated document: (current text, text it should have)."""
    out: dict[Path, tuple[str, str]] = {}
    for section in generated_sections(root, fixtures, engine):
        if section.path not in out:
            text = section.path.read_text("utf-8")
            out[section.path] = (text, text)
        current, wanted = out[section.path]
        out[section.path] = (current, replace_between(wanted, section.marker, section.content()))
    return out
