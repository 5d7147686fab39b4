"""Results as text for people and as JSON for machines (the ``run --json`` contract)."""

from __future__ import annotations

from typing import Any

from bpcheck import __version__
from bpcheck.checking.check import ClaimResult, Disagreement, FixtureResult
from bpcheck.model.engine import Engine


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned table: numbers right-aligned, text left-aligned."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        parts = []
        for cell, width in zip(cells, widths, strict=True):
            parts.append(cell.rjust(width) if _numeric(cell) else cell.ljust(width))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


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
                result.outcome,
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


def engines_json(engines: dict[str, Engine]) -> dict[str, Any]:
    out = {}
    for name, engine in engines.items():
        status = engine.available()
        out[name] = {
            "version": engine.version,
            "available": status.available,
            "reason": status.reason,
        }
    return out


def claim_json(result: ClaimResult) -> dict[str, Any]:
    claim = result.claim
    data: dict[str, Any] = {
        "id": claim.id,
        "quantity": claim.canonical,
        "alias": claim.quantity if claim.quantity != claim.canonical else None,
        "step": claim.step,
        "printed": claim.printed,
        "expected": claim.expect,
        "verdict": result.verdict,
        "value": result.reference,
        "values": result.values,
        "outcomes": result.outcomes,
        "outcome": result.outcome,
        "message": result.message,
        "where": claim.where,
        "note": claim.note,
        "diagnosis": claim.diagnosis,
    }
    if claim.pinned is not None:
        data["pinned"] = claim.pinned
    if claim.relation is not None:
        rel = claim.relation
        data["relation"] = {
            "left": {"quantity": rel.left.canonical, "step": rel.left.step},
            "op": rel.op,
            "right": {"quantity": rel.right.canonical, "step": rel.right.step},
        }
    return data


def fixture_json(result: FixtureResult) -> dict[str, Any]:
    fixture = result.fixture
    return {
        "id": fixture.id,
        "title": fixture.title,
        "path": str(fixture.path),
        "source": fixture.source,
        "outcome": result.outcome,
        "runs": {run.engine: {"outcome": run.outcome, "reason": run.reason} for run in result.runs},
        "claims": [claim_json(c) for c in result.claims],
        "disagreements": [
            {"quantity": d.quantity, "step": d.step, "values": d.values, "tolerance": d.tolerance}
            for d in result.disagreements
        ],
    }


def results_json(engines: dict[str, Engine], results: list[FixtureResult]) -> dict[str, Any]:
    return {
        "bpcheck": __version__,
        "engines": engines_json(engines),
        "fixtures": [fixture_json(r) for r in results],
    }
