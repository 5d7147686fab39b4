"""Tables in the documentation generated from the fixtures and the code, so they cannot drift.

``fixtures/README.md`` holds the coverage table (per document, named by title,
author and URL: worked examples, printed numbers, those encoded and those bpcheck
cannot compute, verdict counts);
``docs/errata.md`` the errata found in the documents and ``docs/diagnose.md`` the
bug zoo (each bug of the catalogue against each check, from
:mod:`bpcheck.diagnose.zoo`).  ``bpcheck sync`` rewrites each between its marker
comments (:mod:`bpcheck.authoring.sync`); a test fails when one is out of date, so a
dropped claim is noticed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bpcheck.checking.check import check_fixture
from bpcheck.io.escape import markdown_code, markdown_text, markdown_wrapped
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture

VERDICT_COLUMNS = ("match", "truncated", "mismatch")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *(line(r) for r in rows)])


def document_link(source: dict[str, str], label: str | None = None) -> str:
    """The document as a reader finds it: its title linked to its URL (or its file name).

    With ``label`` the link is a reference (``[title][label]``), defined by
    :func:`link_definition`, so a table row stays short whatever the URL's length.
    """
    title = markdown_text(source.get("title") or source["document"])
    url = source.get("url")
    if not url:
        return f"{title} (no URL known)"
    return f"[{title}][{label}]" if label else f"[{title}]({_destination(url)})"


def link_definition(label: str, url: str) -> str:
    return f"[{label}]: {_destination(url)}"


def _destination(url: str) -> str:
    """A URL as a link destination: in angle brackets, which it cannot close."""
    return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"


def by_document(fixtures: list[Fixture]) -> dict[str, list[Fixture]]:
    """The fixtures grouped by ``source.document``, documents in file-name order."""
    groups: dict[str, list[Fixture]] = defaultdict(list)
    for fixture in fixtures:
        groups[fixture.source["document"]].append(fixture)
    return {document: groups[document] for document in sorted(groups)}


def document_source(group: list[Fixture]) -> dict[str, str]:
    """The document's title, author and URL, from the first of its fixtures that gives each."""
    found: dict[str, str] = {"document": group[0].source["document"]}
    for key in ("title", "author", "url"):
        given = [f.source[key] for f in group if f.source.get(key)]
        if given:
            found[key] = given[0]
    return found


def coverage_table(fixtures: list[Fixture]) -> str:
    """Per document (title, author, file, URL): worked examples, printed numbers, verdicts.

    ``printed numbers`` counts every claim with a printed string, those bpcheck
    cannot compute included; ``encoded`` those it computes (printed minus
    ``unsupported``); the verdict columns the encoded ones' expected verdicts.
    """
    rows, links = [], []
    totals: Counter[str] = Counter()
    for number, (document, group) in enumerate(by_document(fixtures).items(), start=1):
        counts: Counter[str] = Counter()
        for fixture in group:
            counts["examples"] += 1
            counts.update(_claim_counts(fixture))
        totals.update(counts)
        source = document_source(group)
        label = f"document-{number}"
        if source.get("url"):
            links.append(link_definition(label, source["url"]))
        author = markdown_text(source.get("author", "-"))
        rows.append([document_link(source, label), author, markdown_code(document)])
        rows[-1] += _count_cells(counts)
    rows.append(["**all**", "", "", *_count_cells(totals)])
    headers = ["document", "author", "file", "worked examples", "printed numbers", "encoded"]
    headers += ["unsupported", *VERDICT_COLUMNS, "relations", "pinned values"]
    table = markdown_table(headers, rows)
    return "\n\n".join([table, "\n".join(links)]) if links else table


def _claim_counts(fixture: Fixture) -> Counter[str]:
    counts: Counter[str] = Counter()
    for claim in fixture.all_claims():
        if claim.printed is not None:
            counts["printed"] += 1
            if claim.unsupported is not None:
                counts["unsupported"] += 1
            else:
                counts["encoded"] += 1
                counts[claim.expect or ""] += 1
        if claim.relation is not None:
            counts["relations"] += 1
        if claim.pinned is not None:
            counts["pinned"] += 1
    return counts


def _count_cells(counts: Counter[str]) -> list[str]:
    keys = (
        "examples",
        "printed",
        "encoded",
        "unsupported",
        *VERDICT_COLUMNS,
        "relations",
        "pinned",
    )
    return [str(counts[key]) for key in keys]


OPEN = "open"
"""The diagnosis of an erratum whose cause nobody has accepted yet: open, not a failure."""

NOTE_WIDTH = 100
"""Notes below a table are wrapped at this width, so no line of the page scrolls sideways."""


def errata_table(fixtures: list[Fixture], engine: Engine) -> str:
    """Every printed number expected to be ``truncated`` or ``mismatch``, with the true value,
    its accepted diagnosis (:data:`OPEN` when there is none) and the evidence for it (the
    other printed numbers it reproduces and contradicts, ``weak`` when none; for an open one,
    the best explanation diagnose offers), from :mod:`bpcheck.diagnose.errata`.

    One table per document, under its title, author and URL; why each number
    differs is a numbered note below the table (a note repeated is given once),
    so the table stays narrow enough to read on a code host.
    """
    from bpcheck.diagnose.errata import errata_evidence  # runs the diagnosis: only here

    evidence = errata_evidence(fixtures)
    parts = []
    for document, group in by_document(fixtures).items():
        rows, notes = [], []
        for fixture in group:
            flagged = [c for c in fixture.claims if c.expect in ("truncated", "mismatch")]
            if not flagged:
                continue
            results = {r.claim.id: r for r in check_fixture(fixture, {engine.name: engine}).claims}
            for claim in flagged:
                value = results[claim.id].reference
                note = " ".join(claim.note.split())
                found = evidence.get((fixture.id, claim.id))
                cited = (
                    [note]
                    if not found or not found.detail
                    else [note, f"Diagnose: {found.detail}."]
                )
                for text in cited:
                    if text not in notes:
                        notes.append(text)
                rows.append(
                    [
                        markdown_code(fixture.id),
                        markdown_text(claim.quantity),
                        str(claim.step),
                        claim.printed or "",
                        "-" if value is None else f"{value:.10g}",
                        claim.expect or "",
                        markdown_text(claim.diagnosis or OPEN),
                        markdown_text(found.text if found else "-"),
                        ", ".join(str(notes.index(text) + 1) for text in cited),
                    ]
                )
        if not rows:
            continue
        source = document_source(group)
        author = markdown_text(source.get("author", "author not known"))
        headers = ["fixture", "quantity", "step", "printed", "true value", "verdict", "diagnosis"]
        headers.append("evidence")
        parts += [
            f"### {document_link(source)}",
            "",
            f"{author}; file {markdown_code(document)}.",
            "",
            markdown_table([*headers, "why"], rows),
            "",
            *(numbered(i, note) for i, note in enumerate(notes, start=1)),
            "",
        ]
    return "\n".join(parts).rstrip()


def numbered(number: int, text: str) -> str:
    """``text`` as item ``number`` of an ordered list, wrapped at :data:`NOTE_WIDTH`."""
    head = f"{number}. "
    return markdown_wrapped(text, NOTE_WIDTH, head, " " * len(head))


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
    from bpcheck.diagnose.zoo import zoo_table  # the zoo's gradient checks need NumPy: only here

    docs = root / "docs"
    return [
        Section(root / "fixtures" / "README.md", "coverage", lambda: coverage_table(fixtures)),
        Section(docs / "errata.md", "errata", lambda: errata_table(fixtures, engine)),
        Section(docs / "diagnose.md", "zoo", lambda: zoo_table(fixtures)),
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
