"""The report's tables, built with pandas from ``run --json`` results.

Every table starts from the typed results
(:class:`bpcheck.checking.run_result.RunResult`), whether the engines ran just
now or the results were saved earlier, so a report from ``--from FILE`` is the
same as one made directly.  Tables keep numbers as numbers (full precision for
CSV and JSON); each column has a kind that says how Markdown and HTML show it.
Import this module only when the ``report`` extra is installed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bpcheck.checking.check import OK, SKIPPED, Outcome
from bpcheck.checking.run_result import ClaimRecord, FixtureRecord, RunRecord, RunResult
from bpcheck.model.verdicts import units_off
from bpcheck.report.curves import Curve

TEXT, INT, VALUE, UNITS, RELERR, STATUS, EXACT = (
    "text",
    "int",
    "value",
    "units",
    "relerr",
    "status",
    "exact",
)
"""Column kinds: how a column is shown (``value`` 12 significant digits, ``units`` +0.00,
``relerr`` 1.2e-03, ``status`` a colour-coded verdict or outcome, ``exact`` a printed number
kept as written).  CSV and JSON keep the numbers themselves."""

NUMERIC_KINDS = frozenset({INT, VALUE, UNITS, RELERR, EXACT})

STATUSES = frozenset(
    {"match", "truncated", "mismatch", "holds", "fails", "pinned", "moved"}
    | {"ok", "failed", "errored", "skipped", "pass", "fail"}
)
"""Status words that get a colour; anything else in a status column stays plain."""

OUTCOMES = tuple(outcome.value for outcome in Outcome)
ERRATA_VERDICTS = ("truncated", "mismatch")
VERDICT_ORDER = ("match", "truncated", "mismatch", "holds", "fails", "pinned", "moved")


@dataclass
class Table:
    """A DataFrame and how to show it: a file name, a title and a kind per column."""

    name: str
    title: str
    frame: pd.DataFrame
    kinds: dict[str, str] = field(default_factory=dict)
    classes: pd.DataFrame | None = None
    """Optional CSS class per cell (same shape as ``frame``), for colours in HTML."""

    def kind(self, column: str) -> str:
        return self.kinds.get(column, TEXT)


def frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A DataFrame with exactly these columns, also when there are no rows."""
    return pd.DataFrame(rows, columns=columns)


def engine_column(name: str, taken: Iterable[str]) -> str:
    """An engine's column name; suffixed when an engine is called like a fixed column."""
    return f"{name} (engine)" if name in set(taken) else name


# --- run metadata and engines ----------------------------------------------------------


def metadata_table(items: dict[str, str | None]) -> Table:
    rows = [{"item": key, "value": "-" if value is None else value} for key, value in items.items()]
    return Table("metadata", "Run", frame(rows, ["item", "value"]))


def engines_table(results: RunResult, engines: list[str]) -> Table:
    rows = []
    for name in engines:
        engine = results.engines[name]
        rows.append(
            {
                "engine": name,
                "version": engine.version or "-",
                "available": "yes" if engine.available else "no",
                "reason": engine.reason or "",
            }
        )
    return Table("engines", "Engines", frame(rows, ["engine", "version", "available", "reason"]))


# --- one table per fixture ---------------------------------------------------------------

CLAIM_COLUMNS = ["claim", "quantity", "canonical", "step", "printed"]
CLAIM_TAIL = ["reference", "units off", "ULPs off", "verdict", "expected", "outcome", "note"]


def relation_text(claim: ClaimRecord) -> str:
    rel = claim.relation
    assert rel is not None
    left, right = rel.left, rel.right
    return f"{left.quantity}@{left.step} {rel.op} {right.quantity}@{right.step}"


def claim_units_off(claim: ClaimRecord) -> float:
    """Reference minus printed in units of the printed last place; NaN when not applicable."""
    if claim.value is None or claim.printed is None or claim.relation is not None:
        return math.nan
    return units_off(claim.value, claim.printed)


def claim_row(claim: ClaimRecord, engines: dict[str, str]) -> dict[str, Any]:
    is_relation = claim.relation is not None
    row: dict[str, Any] = {
        "claim": claim.id,
        "quantity": "(relation)" if is_relation else (claim.alias or claim.quantity),
        "canonical": relation_text(claim) if is_relation else claim.quantity,
        "step": claim.step,
        "printed": claim.printed or "",
    }
    for name, column in engines.items():
        row[column] = _float(claim.values.get(name))
    row.update(
        {
            "reference": _float(claim.value),
            "units off": claim_units_off(claim),
            "ULPs off": max((abs(u) for u in claim.ulps.values()), default=math.nan),
            "verdict": str(claim.verdict or ""),
            "expected": str(claim.expected or "pinned"),
            "outcome": str(claim.outcome),
            "note": claim.note,
        }
    )
    return row


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def fixture_table(fixture: FixtureRecord, engines: list[str], failures_only: bool) -> Table:
    """Every claim of one fixture (or only those not ok): printed, each engine, verdicts."""
    columns = {name: engine_column(name, CLAIM_COLUMNS + CLAIM_TAIL) for name in engines}
    claims = [c for c in fixture.claims if not failures_only or c.outcome != OK]
    rows = [claim_row(c, columns) for c in claims]
    kinds = {"step": INT, "printed": EXACT, "reference": VALUE, "units off": UNITS}
    kinds |= {"ULPs off": RELERR}
    kinds |= {"verdict": STATUS, "expected": STATUS, "outcome": STATUS}
    kinds |= dict.fromkeys(columns.values(), VALUE)
    table = frame(rows, CLAIM_COLUMNS + list(columns.values()) + CLAIM_TAIL)
    return Table(f"fixture-{fixture.id}", fixture.title, table, kinds)


ULP_BUCKETS = (0.0, 1.0, 4.0, 16.0, 256.0, 65536.0)
"""Upper ends of the histogram's bins of |ULPs|; the last bin holds everything beyond."""


def ulp_bucket(ulps: float) -> str:
    size = abs(ulps)
    if size == 0:
        return "0"
    end = next((b for b in ULP_BUCKETS[1:] if size <= b), None)
    return f"≤ {end:g}" if end is not None else f"over {ULP_BUCKETS[-1]:g}"


def ulp_histogram(results: RunResult) -> Table | None:
    """Claims by each float engine's error in ULPs of the certified value (None: no such run).

    Rows are bins of |ULPs| (0, up to 1, 4, 16, 256, 65536, beyond); a column per engine.
    """
    found: dict[str, list[float]] = {}
    for fixture in results.fixtures:
        for claim in fixture.claims:
            for engine, ulps in claim.ulps.items():
                found.setdefault(engine, []).append(ulps)
    if not found:
        return None
    bins = ["0", *(f"≤ {b:g}" for b in ULP_BUCKETS[1:]), f"over {ULP_BUCKETS[-1]:g}"]
    columns = {engine: engine_column(engine, ["|ULPs|"]) for engine in found}
    rows = [
        {"|ULPs|": label}
        | {columns[e]: sum(ulp_bucket(u) == label for u in us) for e, us in found.items()}
        for label in bins
    ]
    kinds = dict.fromkeys(columns.values(), INT)
    title = "Float engines' errors in ULPs of the certified values, claims per bin"
    return Table("ulps", title, frame(rows, ["|ULPs|", *columns.values()]), kinds)


def disagreements_table(fixture: FixtureRecord, engines: list[str]) -> Table | None:
    """Quantities on which the engines disagree beyond tolerance; None when they all agree."""
    if not fixture.disagreements:
        return None
    columns = {name: engine_column(name, ["quantity", "step", "tolerance"]) for name in engines}
    rows = []
    for item in fixture.disagreements:
        row: dict[str, Any] = {"quantity": item.quantity, "step": item.step}
        for name, column in columns.items():
            row[column] = _float(item.values.get(name))
        row["tolerance"] = item.tolerance
        rows.append(row)
    kinds = {"step": INT, "tolerance": RELERR} | dict.fromkeys(columns.values(), VALUE)
    headers = ["quantity", "step", *columns.values(), "tolerance"]
    title = f"{fixture.id}: engines disagree"
    return Table(f"disagreements-{fixture.id}", title, frame(rows, headers), kinds)


# --- summary: fixture x engine, documents, errata -------------------------------------------


def engine_counts(fixture: FixtureRecord, engine: str) -> dict[str, int]:
    """How many of the fixture's claims ended ok/failed/errored/skipped for one engine."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for claim in fixture.claims:
        counts[claim.outcomes.get(engine, SKIPPED)] += 1
    return counts


NOT_RUN = RunRecord(SKIPPED, "not run")


def summary_table(results: RunResult, engines: list[str]) -> Table:
    """Long form, one row per fixture and engine (CSV and JSON; the matrix is its view)."""
    rows = []
    for fixture in results.fixtures:
        for engine in engines:
            run = fixture.runs.get(engine, NOT_RUN)
            rows.append(
                {
                    "fixture": fixture.id,
                    "engine": engine,
                    "run": str(run.outcome),
                    "claims": len(fixture.claims),
                    **engine_counts(fixture, engine),
                    "reason": run.reason or "",
                }
            )
    headers = ["fixture", "engine", "run", "claims", *OUTCOMES, "reason"]
    kinds = {"run": STATUS, "claims": INT} | dict.fromkeys(OUTCOMES, INT)
    return Table("summary", "Summary: fixture by engine", frame(rows, headers), kinds)


def count_text(row: pd.Series) -> str:
    """``27 ok`` or ``25 ok, 2 failed``: the non-zero counts, ok first."""
    parts = [f"{int(row[o])} {o}" for o in OUTCOMES if row[o]]
    return ", ".join(parts) if parts else "no claims"


def worst(row: pd.Series) -> str:
    for outcome in ("failed", "errored", "skipped"):
        if row[outcome]:
            return outcome
    return "ok"


def matrix_table(summary: Table, results: RunResult, engines: list[str]) -> Table:
    """Fixture by engine, each cell the claim counts by outcome, coloured by the worst."""
    long = summary.frame
    if long.empty:
        return Table("matrix", "Summary: fixture by engine", frame([], ["fixture"]))
    long = long.assign(cell=long.apply(count_text, axis=1), worst=long.apply(worst, axis=1))
    order = [f.id for f in results.fixtures]
    columns = {
        name: engine_column(name, ["fixture", "claims", "fixture outcome"]) for name in engines
    }
    cells = long.pivot(index="fixture", columns="engine", values="cell").reindex(order)
    colours = long.pivot(index="fixture", columns="engine", values="worst").reindex(order)
    cells = cells[engines].rename(columns=columns)
    colours = ("s-" + colours[engines]).rename(columns=columns)
    outcome = {f.id: str(f.outcome) for f in results.fixtures}
    claims = {f.id: len(f.claims) for f in results.fixtures}
    table = cells.reset_index()
    table.insert(1, "claims", table["fixture"].map(claims))
    table["fixture outcome"] = table["fixture"].map(outcome)
    classes = colours.reset_index(drop=True)
    classes.insert(0, "fixture", "")
    classes.insert(1, "claims", "")
    classes["fixture outcome"] = "s-" + table["fixture outcome"]
    kinds = {"claims": INT, "fixture outcome": STATUS}
    return Table("matrix", "Summary: fixture by engine", table, kinds, classes)


def document_table(results: RunResult) -> Table:
    """Per document (its title and author too): fixtures, claims, claims of each verdict."""
    rows = [
        {
            "document": f.source["document"],
            "fixture": f.id,
            "verdict": str(c.verdict or "no verdict"),
            "not as expected": c.outcome != OK,
        }
        for f in results.fixtures
        for c in f.claims
    ]
    claims = frame(rows, ["document", "fixture", "verdict", "not as expected"])
    found = set(claims["verdict"])
    verdicts = [v for v in (*VERDICT_ORDER, "no verdict") if v in found or v in ERRATA_VERDICTS]
    verdicts += sorted(found - set(verdicts))
    grouped = claims.groupby("document", sort=True)
    counts = pd.crosstab(claims["document"], claims["verdict"]).reindex(
        columns=verdicts, fill_value=0
    )
    table = pd.DataFrame(
        {
            "fixtures": grouped["fixture"].nunique(),
            "claims": grouped.size(),
        }
    ).join(counts)
    table["not as expected"] = grouped["not as expected"].sum().astype(int)
    table = table.reset_index()
    named = {f.source["document"]: f.source for f in reversed(results.fixtures)}
    table.insert(1, "title", [named[d].get("title", "") for d in table["document"]])
    table.insert(2, "author", [named[d].get("author", "") for d in table["document"]])
    headers = ["document", "title", "author", "fixtures", "claims", *verdicts, "not as expected"]
    table = table.reindex(columns=headers)
    kinds = dict.fromkeys(headers[3:], INT)
    return Table("documents", "Verdicts per document", table, kinds)


def errata_table(results: RunResult, evidence: dict[tuple[str, str], str] | None = None) -> Table:
    """Every printed number the document got wrong: expected or found truncated or mismatch,
    with the evidence of its diagnosis when given (``(fixture, claim)`` -> text, from
    :mod:`bpcheck.diagnose.errata`)."""
    rows = []
    for fixture in results.fixtures:
        for claim in fixture.claims:
            if not ({claim.expected, claim.verdict} & set(ERRATA_VERDICTS)):
                continue
            rows.append(
                {
                    "document": fixture.source["document"],
                    "fixture": fixture.id,
                    "claim": claim.id,
                    "where": claim.where,
                    "quantity": claim.alias or claim.quantity,
                    "step": claim.step,
                    "printed": claim.printed or "",
                    "true value": _float(claim.value),
                    "units off": claim_units_off(claim),
                    "verdict": str(claim.verdict or ""),
                    "expected": str(claim.expected or ""),
                    "diagnosis": claim.diagnosis or "",
                    "evidence": (evidence or {}).get((fixture.id, claim.id), ""),
                    "note": claim.note,
                }
            )
    headers = ["document", "fixture", "claim", "quantity", "step", "printed", "true value"]
    headers += ["units off", "verdict", "expected", "diagnosis"]
    headers += ["evidence"] if evidence is not None else []
    headers += ["where", "note"]
    table = frame(rows, headers)
    table = table.sort_values("document", kind="stable").reset_index(drop=True)
    kinds = {"step": INT, "printed": EXACT, "true value": VALUE, "units off": UNITS}
    kinds |= {"verdict": STATUS, "expected": STATUS}
    return Table("errata", "Errata found in the documents", table, kinds)


# --- gradient checks ------------------------------------------------------------------------


def gradcheck_tables(data: dict[str, Any]) -> tuple[Table, Table]:
    """Per fixture and engine (worst relative error, method, outcome), and every row.

    Which parameter has the worst error is left to the rows: among errors at the
    level of rounding it is chance, and would change from machine to machine.
    """
    summary, detail = [], []
    for entry in data["gradcheck"]:
        summary.append(
            {
                "fixture": entry["fixture"],
                "engine": entry["engine"],
                "step": entry.get("step", 0),
                "method": entry.get("method") or "",
                "worst relative error": _float(entry.get("worst_relative_error")),
                "outcome": entry["outcome"],
                "reason": entry.get("reason") or "",
            }
        )
        for row in entry.get("rows") or []:
            detail.append(
                {
                    "fixture": entry["fixture"],
                    "engine": entry["engine"],
                    "step": entry.get("step", 0),
                    "parameter": row["parameter"],
                    **{column: _float(row.get(key)) for key, column in GRADCHECK_NUMBERS.items()},
                    "status": row.get("status") or "",
                }
            )
    headers = ["fixture", "engine", "step", "method", "worst relative error"]
    headers += ["outcome", "reason"]
    kinds = {"step": INT, "worst relative error": RELERR, "outcome": STATUS}
    first = Table("gradcheck", "Gradient checks", frame(summary, headers), kinds)
    numbers = list(GRADCHECK_NUMBERS.values())
    detail_headers = ["fixture", "engine", "step", "parameter", *numbers, "status"]
    detail_kinds = {"step": INT, "status": STATUS, "engine value": VALUE, "reference": VALUE}
    detail_kinds |= dict.fromkeys(numbers[2:], RELERR)
    title = "Gradient checks: every parameter"
    second = Table("gradcheck-rows", title, frame(detail, detail_headers), detail_kinds)
    return first, second


GRADCHECK_NUMBERS = {
    "engine": "engine value",
    "reference": "reference",
    "abs_error": "abs error",
    "rel_error": "rel error",
    "tolerance": "tolerance",
}
"""The numeric fields of a gradient-check row and their columns (``engine``: its gradient)."""


# --- the whole report -----------------------------------------------------------------------


@dataclass
class FixtureSection:
    """One fixture's part of the report: where it comes from, its claims, any disagreement."""

    id: str
    title: str
    document: str
    where: str
    path: str
    source: dict[str, str]
    """The fixture's ``source``: the document's file name, title, author and URL, if given."""
    outcome: str
    total: int
    claims: Table
    disagreements: Table | None


@dataclass
class Report:
    """Every table of a report; the renderers choose how to show them."""

    metadata: Table
    engines: Table
    summary: Table
    matrix: Table
    documents: Table
    errata: Table
    fixtures: list[FixtureSection]
    curves: list[Curve]
    curve_tables: list[Table]
    gradcheck: tuple[Table, Table] | None
    failures_only: bool
    ulps: Table | None = None
    """The float engines' errors against the certified values, when an engine certified."""

    def tables(self) -> list[Table]:
        """Every table with data of its own (the matrix is a view of the summary): CSV, JSON."""
        found = [self.metadata, self.engines, self.summary, self.documents, self.errata]
        found += [self.ulps] if self.ulps is not None else []
        if self.gradcheck is not None:
            found.extend(self.gradcheck)
        for section in self.fixtures:
            found.append(section.claims)
            if section.disagreements is not None:
                found.append(section.disagreements)
        return found + self.curve_tables


def curve_table(curve: Curve) -> Table:
    rows = [{"step": s, "E": e} for s, e in zip(curve.steps, curve.losses, strict=True)]
    title = f"{curve.fixture}: loss E by step ({curve.engine})"
    return Table(
        f"loss-{curve.fixture}", title, frame(rows, ["step", "E"]), {"step": INT, "E": VALUE}
    )


def fixture_section(
    fixture: FixtureRecord, engines: list[str], failures_only: bool
) -> FixtureSection:
    return FixtureSection(
        id=fixture.id,
        title=fixture.title,
        document=fixture.source["document"],
        where=fixture.source.get("where") or "",
        path=fixture.path,
        source=dict(fixture.source),
        outcome=str(fixture.outcome),
        total=len(fixture.claims),
        claims=fixture_table(fixture, engines, failures_only),
        disagreements=disagreements_table(fixture, engines),
    )


def build_report(
    results: RunResult,
    engines: list[str],
    metadata: dict[str, str | None],
    curves: list[Curve],
    gradcheck: dict[str, Any] | None = None,
    failures_only: bool = False,
    evidence: dict[tuple[str, str], str] | None = None,
) -> Report:
    """All tables of a report from ``run --json`` results (``engines``: the columns to show;
    ``evidence``: of each erratum's diagnosis, for the errata table)."""
    summary = summary_table(results, engines)
    return Report(
        metadata=metadata_table(metadata),
        engines=engines_table(results, engines),
        summary=summary,
        matrix=matrix_table(summary, results, engines),
        documents=document_table(results),
        errata=errata_table(results, evidence),
        fixtures=[fixture_section(f, engines, failures_only) for f in results.fixtures],
        curves=curves,
        curve_tables=[curve_table(c) for c in curves if c.steps],
        gradcheck=None if gradcheck is None else gradcheck_tables(gradcheck),
        failures_only=failures_only,
        ulps=ulp_histogram(results),
    )
