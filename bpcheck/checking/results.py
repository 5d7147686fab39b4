"""Results as text tables for people, and as the typed ``run --json`` contract for machines."""

from __future__ import annotations

from tabulate import SEPARATING_LINE, DataRow, Line, TableFormat, tabulate

from bpcheck import __version__
from bpcheck.checking.check import (
    ERRORED,
    OK,
    SKIPPED,
    ClaimResult,
    Disagreement,
    EngineRun,
    FixtureResult,
)
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
from bpcheck.checking.tally import Counts
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


FIXTURE_HEADERS = [
    "fixture",
    "claims",
    "match",
    "truncated",
    "mismatch",
    "pinned",
    "relations",
    "as expected",
    "engines",
]
"""One row per fixture: its claims by kind (see :mod:`bpcheck.checking.tally`), how many
ended as the fixture expects, and what the engines did."""

UNJUDGED_HEADER = "not computed"
"""A column shown only when some claim has no value from any engine."""


def fixture_rows(run: RunResult) -> tuple[list[str], list[list[str]]]:
    """The headers and one row per fixture: the counts ``run --json`` writes, as text."""
    unjudged = any(f.counts["unjudged"].claims for f in run.fixtures)
    undecided = any(f.counts["undecided"].claims for f in run.fixtures)
    headers = FIXTURE_HEADERS[:5] + (["undecided"] if undecided else []) + FIXTURE_HEADERS[5:-2]
    headers += ([UNJUDGED_HEADER] if unjudged else []) + FIXTURE_HEADERS[-2:]
    rows = []
    for fixture in run.fixtures:
        counts = fixture.counts
        kinds = ["match", "truncated", "mismatch", *(["undecided"] if undecided else [])]
        kinds += ["pinned", "relations", *(["unjudged"] if unjudged else [])]
        rows.append(
            [
                fixture.id,
                str(counts.claims),
                *(str(counts[k].claims) for k in kinds),
                as_expected_cell(counts),
                engines_cell(fixture),
            ]
        )
    return headers, rows


def as_expected_cell(counts: Counts) -> str:
    """``all``, or ``25 of 27``."""
    if counts.as_expected == counts.claims:
        return "all"
    return f"{counts.as_expected} of {counts.claims}"


def engines_cell(fixture: FixtureRecord) -> str:
    """``agree``, ``disagree on 3``, ``only loops``, with the engines that errored or skipped."""
    ran = [name for name, run in fixture.runs.items() if run.outcome == OK]
    if fixture.disagreements:
        notes = [f"disagree on {len(fixture.disagreements)}"]
    elif len(ran) >= 2:
        notes = ["agree"]
    else:
        notes = [f"only {ran[0]}" if ran else "none ran"]
    notes += [f"{name} {run.outcome}" for name, run in fixture.runs.items() if run.outcome != OK]
    return ", ".join(notes)


def plural(count: int, word: str) -> str:
    """``1 fixture``, ``2 fixtures``, ``3 quantities``."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def tally_line(run: RunResult) -> str:
    """The run in one line: what the printed numbers are, whether as expected, the engines.

    ``293 claims in 12 fixtures: 57 printed numbers match, 15 truncated, 11 wrong,
    194 pinned, 16 relations (all as expected); engines agree``
    """
    counts = run.counts
    head = f"{plural(counts.claims, 'claim')} in {plural(len(run.fixtures), 'fixture')}: "
    matched = counts["match"].claims
    kinds = [
        f"{matched} printed number matches" if matched == 1 else f"{matched} printed numbers match",
        f"{counts['truncated'].claims} truncated",
        f"{counts['mismatch'].claims} wrong",
    ]
    kinds += [f"{counts['undecided'].claims} undecided"] if counts["undecided"].claims else []
    kinds += [f"{counts['pinned'].claims} pinned"] if counts["pinned"].claims else []
    kinds += [plural(counts["relations"].claims, "relation")] if counts["relations"].claims else []
    kinds += [f"{counts['unjudged'].claims} not computed"] if counts["unjudged"].claims else []
    return head + ", ".join(kinds) + f" ({expectation(counts)}); " + "; ".join(engine_notes(run))


KIND_WORDS = {
    "match": "match",
    "truncated": "truncated",
    "mismatch": "wrong",
    "undecided": "undecided",
    "pinned": "pinned",
    "relations": "relations",
    "unjudged": "not computed",
}


def expectation(counts: Counts) -> str:
    """``all as expected``, or ``3 not as expected: 1 match, 2 pinned``."""
    if counts.as_expected == counts.claims:
        return "all as expected"
    off = [f"{c.unexpected} {KIND_WORDS[k]}" for k, c in counts.kinds.items() if c.unexpected]
    return f"{counts.claims - counts.as_expected} not as expected: {', '.join(off)}"


def certified_lines(run: RunResult) -> list[str]:
    """What the certified values say: the precision used, each float engine's worst error.

    ``certified at 191-222 bits (53+ digits) on 12 fixtures`` and ``worst error in ULPs of
    the certified value: loops 112, matrices 112, autodiff 112, at mazur-2015-as-coded
    E_total``; nothing when no engine certified its values.
    """
    runs = [r for f in run.fixtures for r in f.runs.values() if r.precision is not None]
    if not runs:
        return []
    bits = sorted({r.precision for r in runs if r.precision is not None})
    digits = min(r.digits for r in runs if r.digits is not None)
    span = f"{bits[0]}" if len(bits) == 1 else f"{bits[0]}-{bits[-1]}"
    lines = [f"certified at {span} bits ({digits:.0f}+ digits) on {plural(len(runs), 'fixture')}"]
    worst: dict[str, tuple[float, str]] = {}
    for fixture in run.fixtures:
        for claim in fixture.claims:
            for engine, ulps in claim.ulps.items():
                if engine not in worst or not abs(ulps) <= abs(worst[engine][0]):
                    worst[engine] = (ulps, f"{fixture.id} {claim.alias or claim.quantity}")
    places = {where for _, where in worst.values()}
    if len(places) == 1:  # the same claim for every engine: named once
        parts = [f"{e} {abs(u):.3g}" for e, (u, _) in worst.items()]
        parts[-1] += f", at {places.pop()}"
    else:
        parts = [f"{e} {abs(u):.3g} ({where})" for e, (u, where) in worst.items()]
    if parts:
        lines.append("worst error in ULPs of the certified value: " + ", ".join(parts))
    return lines


def engine_notes(run: RunResult) -> list[str]:
    """Whether the engines agree, and which errored or skipped how many fixtures."""
    ran = {name for f in run.fixtures for name, r in f.runs.items() if r.outcome == OK}
    disagreeing = [f for f in run.fixtures if f.disagreements]
    if disagreeing:
        quantities = sum(len(f.disagreements) for f in disagreeing)
        where = plural(len(disagreeing), "fixture")
        notes = [f"engines disagree on {plural(quantities, 'quantity')} in {where}"]
    elif len(ran) >= 2:
        notes = ["engines agree"]
    else:
        notes = [f"only {min(ran)} ran" if ran else "no engine ran"]
    for outcome in (ERRORED, SKIPPED):
        for name in run.engines:
            n = sum(f.runs[name].outcome == outcome for f in run.fixtures if name in f.runs)
            if n:
                notes.append(
                    f"{name} {outcome} {'on ' if outcome == ERRORED else ''}{plural(n, 'fixture')}"
                )
    return notes


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
        ulps=dict(result.ulps),
    )


def run_record(run: EngineRun) -> RunRecord:
    """The run's outcome and reason, and the precision of certified values."""
    enclosed = run.enclosures
    if enclosed is None:
        return RunRecord(run.outcome, run.reason)
    return RunRecord(run.outcome, run.reason, enclosed.precision, enclosed.digits)


def fixture_record(result: FixtureResult) -> FixtureRecord:
    fixture = result.fixture
    return FixtureRecord(
        id=fixture.id,
        title=fixture.title,
        path=str(fixture.path),
        source=dict(fixture.source),
        outcome=result.outcome,
        runs={run.engine: run_record(run) for run in result.runs},
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
