"""Results as text tables for people, and as the typed ``run --json`` contract for machines."""

from __future__ import annotations

from tabulate import SEPARATING_LINE, DataRow, Line, TableFormat, tabulate

from bpcheck import __version__
from bpcheck.checking.check import ClaimResult, Disagreement, FixtureResult
from bpcheck.checking.run_result import (
    ClaimRecord,
    DisagreementRecord,
    EngineInfo,
    FixtureRecord,
    OperandRecord,
    RelationRecord,
    RunRecord,
    RunResult,
)
from bpcheck.io.escape import terminal_text
from bpcheck.model.engine import Engine

TEXT_TABLE = TableFormat(
    lineabove=None,
    linebelowheader=Line("", "-", "  ", ""),
    linebetweenrows=None,
    linebelow=None,
    headerrow=DataRow("", "  ", ""),
    datarow=DataRow("", "  ", ""),
    padding=0,
    with_header_hide=None,
)
"""Columns two spaces apart and a dashed rule under the headers, nothing else.

The headers go in as the first row with the rule as a ``SEPARATING_LINE`` after
them: given as ``headers=``, tabulate would pad every column to its header plus two."""


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned table: number columns right-aligned, text columns left-aligned.

    Cells are shown exactly as given (no number parsing, which would round them),
    except control characters (ESC would drive the terminal: fixture ids, engine
    names and messages come from outside), shown as ``\\x1b``-style escapes; a
    column counts as numbers when every cell is a number or a placeholder (``-``, empty).
    """
    headers = [terminal_text(header) for header in headers]
    rows = [[terminal_text(cell) for cell in row] for row in rows]
    align = ["right" if _numbers([row[i] for row in rows]) else "left" for i in range(len(headers))]
    text: str = tabulate(
        [headers, SEPARATING_LINE, *rows],
        tablefmt=TEXT_TABLE,
        disable_numparse=True,
        colalign=align,
    )
    return "\n".join(line.rstrip() for line in text.splitlines())


PLACEHOLDERS = frozenset({"", "-"})


def _numbers(cells: list[str]) -> bool:
    found = [cell for cell in cells if cell not in PLACEHOLDERS]
    return bool(found) and all(_numeric(cell) for cell in found)


def _numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def short(value: float | None) -> str:
    """Rounded for a person to read; ``-`` for no value."""
    return "-" if value is None else f"{value:.10g}"


def summary_rows(results: list[FixtureResult]) -> list[list[str]]:
    """One row per fixture and engine: how many claims ended in each outcome."""
    rows = []
    for result in results:
        for run in result.runs:
            counts = {"ok": 0, "failed": 0, "errored": 0, "skipped": 0}
            for claim in result.claims:
                counts[claim.outcomes.get(run.engine, "skipped")] += 1
            rows.append(
                [
                    result.fixture.id,
                    run.engine,
                    str(len(result.claims)),
                    *(str(counts[k]) for k in ("ok", "failed", "errored", "skipped")),
                    run.reason or "",
                ]
            )
    return rows


SUMMARY_HEADERS = ["fixture", "engine", "claims", "ok", "failed", "errored", "skipped", "note"]


def failing_claims_table(claims: list[ClaimResult], engines: list[str]) -> str:
    """The claims whose outcome is not ok: claim, printed, each engine's value, verdict."""
    rows = []
    for result in claims:
        claim = result.claim
        rows.append(
            [
                claim.id,
                claim.quantity or "(relation)",
                str(claim.step),
                claim.printed or claim.pinned or "",
                *(short(result.values.get(e)) for e in engines),
                str(result.verdict),
                str(claim.expect or "pinned"),
                str(result.outcome),
            ]
        )
    headers = ["claim", "quantity", "step", "printed", *engines, "verdict", "expected", "outcome"]
    return text_table(headers, rows)


def disagreement_table(found: list[Disagreement], engines: list[str]) -> str:
    rows = [
        [
            d.quantity,
            str(d.step),
            *(f"{d.values[e]:.17g}" if e in d.values else "-" for e in engines),
            f"{d.difference:.3g}",
            f"{d.tolerance:.0e}",
        ]
        for d in found
    ]
    return text_table(["quantity", "step", *engines, "difference", "tolerance"], rows)


# --- the JSON contract ----------------------------------------------------------------


def engine_info(engine: Engine) -> EngineInfo:
    """Version and availability; an engine that cannot even say is unavailable, with why."""
    try:
        status = engine.available()
        version = str(engine.version)
    except (Exception, SystemExit) as error:  # an in-process engine's bug (isolated never raise)
        return EngineInfo(None, False, f"{type(error).__name__}: {error}")
    return EngineInfo(version, status.available, status.reason)


def claim_record(result: ClaimResult) -> ClaimRecord:
    claim = result.claim
    relation = None
    if claim.relation is not None:
        rel = claim.relation
        relation = RelationRecord(
            OperandRecord(rel.left.canonical, rel.left.step),
            rel.op,
            OperandRecord(rel.right.canonical, rel.right.step),
        )
    return ClaimRecord(
        id=claim.id,
        quantity=claim.canonical,
        alias=claim.quantity if claim.quantity != claim.canonical else None,
        step=claim.step,
        printed=claim.printed,
        expected=claim.expect,
        verdict=result.verdict,
        value=result.reference,
        values=dict(result.values),
        outcomes=dict(result.outcomes),
        outcome=result.outcome,
        message=result.message,
        where=claim.where,
        note=claim.note,
        diagnosis=claim.diagnosis,
        pinned=claim.pinned,
        relation=relation,
    )


def fixture_record(result: FixtureResult) -> FixtureRecord:
    fixture = result.fixture
    return FixtureRecord(
        id=fixture.id,
        title=fixture.title,
        path=str(fixture.path),
        source=dict(fixture.source),
        outcome=result.outcome,
        runs={run.engine: RunRecord(run.outcome, run.reason) for run in result.runs},
        claims=[claim_record(c) for c in result.claims],
        disagreements=[
            DisagreementRecord(d.quantity, d.step, dict(d.values), d.tolerance)
            for d in result.disagreements
        ],
    )


def run_result(engines: dict[str, Engine], results: list[FixtureResult]) -> RunResult:
    """The results of a run as the typed ``run --json`` contract (``.to_json()`` to write)."""
    return RunResult(
        bpcheck=__version__,
        engines={name: engine_info(engine) for name, engine in engines.items()},
        fixtures=[fixture_record(r) for r in results],
    )
