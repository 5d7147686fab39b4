"""Tables in the READMEs that are generated from the fixtures, so they cannot drift.

``fixtures/README.md`` holds the coverage table (per document: worked examples,
printed numbers encoded, verdict counts); ``README.md`` the errata found in the
documents.  ``bpcheck docs`` rewrites both between their marker comments; a
test fails when either is out of date, so a dropped claim is noticed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from bpcheck.checking.check import check_fixture
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


def updated_documents(
    root: Path, fixtures: list[Fixture], engine: Engine
) -> dict[Path, tuple[str, str]]:
    """For each generated document: (current text, text it should have)."""
    wanted = {
        root / "fixtures" / "README.md": ("coverage", coverage_table(fixtures)),
        root / "README.md": ("errata", errata_table(fixtures, engine)),
    }
    out = {}
    for path, (marker, content) in wanted.items():
        text = path.read_text("utf-8")
        out[path] = (text, replace_between(text, marker, content))
    return out
