"""Drift between two runs: ``bpcheck compare OLD.json NEW.json``.

Both files are ``bpcheck run --json`` results.  A change is listed when a
claim's verdict or outcome changed, an engine's value moved beyond a relative
tolerance, a claim or fixture came or went, or an engine appeared or vanished.
Regressions (exit 1) are the changes that lose something: a verdict change, a
moved value, a removed claim or fixture, a vanished engine, an outcome that
was ``ok`` and is not.  Exit 0 otherwise, 2 when a file cannot be read.

This module needs only the standard library and ``jsonschema``, so that drift
can be checked where the ``report`` extra is not installed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsonschema

from bpcheck.checking.results import text_table
from bpcheck.errors import InputError

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2

DEFAULT_TOLERANCE = 1e-12
"""Relative change of an engine's value that counts as drift (engines agree to this)."""

_NULLABLE_STRING = {"type": ["string", "null"]}
_CLAIM = {
    "type": "object",
    "required": [
        *("id", "quantity", "step", "printed", "expected", "verdict", "value"),
        *("values", "outcomes", "outcome", "where", "note"),
    ],
    "properties": {
        "id": {"type": "string"},
        "quantity": {"type": "string"},
        "alias": _NULLABLE_STRING,
        "step": {"type": "integer"},
        "printed": _NULLABLE_STRING,
        "expected": _NULLABLE_STRING,
        "verdict": _NULLABLE_STRING,
        "value": {"type": ["number", "null"]},
        "values": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
        "outcomes": {"type": "object", "additionalProperties": {"type": "string"}},
        "outcome": {"type": "string"},
        "message": {"type": "string"},
        "where": {"type": "string"},
        "note": {"type": "string"},
        "pinned": {"type": "string"},
        "relation": {"type": "object"},
    },
}
_RUN = {
    "type": "object",
    "required": ["outcome"],
    "properties": {"outcome": {"type": "string"}, "reason": _NULLABLE_STRING},
}
_FIXTURE = {
    "type": "object",
    "required": ["id", "title", "path", "source", "outcome", "runs", "claims"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "path": {"type": "string"},
        "source": {
            "type": "object",
            "required": ["document"],
            "properties": {"document": {"type": "string"}},
        },
        "outcome": {"type": "string"},
        "runs": {"type": "object", "additionalProperties": _RUN},
        "claims": {"type": "array", "items": _CLAIM},
        "disagreements": {"type": "array", "items": {"type": "object"}},
    },
}
RESULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["bpcheck", "engines", "fixtures"],
    "properties": {
        "bpcheck": {"type": "string"},
        "engines": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["available"],
                "properties": {
                    "version": _NULLABLE_STRING,
                    "available": {"type": "boolean"},
                    "reason": _NULLABLE_STRING,
                },
            },
        },
        "fixtures": {"type": "array", "items": _FIXTURE},
    },
}
"""The part of the ``run --json`` contract (``checking.results``) that compare and report read."""


class ResultsError(Exception):
    """A results file that cannot be used; ``error`` is its one-line explanation."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


# --- reading ---------------------------------------------------------------------------


def location(path: Any) -> str:
    """``$.fixtures[3].claims[0].id`` from a JSON path of keys and indices."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def describe(error: jsonschema.ValidationError) -> str:
    """A schema error as what was expected, shortest first."""
    if error.validator == "required":
        return f"missing field: {error.message.split(' is a required')[0]}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, found {json.dumps(error.instance)[:60]}"
    return str(error.message)


def load_results(path: Path, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read and check a JSON results file; raise :class:`ResultsError` with one line if unusable.

    NaN and infinities are accepted (``run --json`` writes them when an engine
    diverges); the structure is checked against ``schema`` (default: the results
    contract) so that later code may index without guarding.
    """
    where = str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ResultsError(InputError(where, "$", f"cannot read the file ({error})")) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        at = f"line {error.lineno} column {error.colno}"
        raise ResultsError(InputError(where, at, f"expected JSON: {error.msg}")) from None
    validator = jsonschema.Draft202012Validator(RESULTS_SCHEMA if schema is None else schema)
    problem = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if problem is not None:
        raise ResultsError(InputError(where, location(problem.absolute_path), describe(problem)))
    loaded: dict[str, Any] = document
    return loaded


# --- comparing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between the old run and the new; ``regression`` if it loses something."""

    kind: str
    fixture: str
    claim: str
    engine: str
    old: str
    new: str
    regression: bool
    detail: str = ""


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.17g}"


def moved(old: float, new: float, tolerance: float) -> bool:
    """Whether a value moved beyond ``tolerance`` (relative); NaN stays NaN without moving."""
    if math.isnan(old) or math.isnan(new):
        return math.isnan(old) != math.isnan(new)
    if old == new:
        return False
    return not math.isclose(old, new, rel_tol=tolerance, abs_tol=0.0)


def relative(old: float, new: float) -> float:
    """|new - old| relative to the larger magnitude (NaN when either is NaN)."""
    scale = max(abs(old), abs(new))
    return abs(new - old) / scale if scale else 0.0


def available_engines(results: dict[str, Any]) -> set[str]:
    return {name for name, engine in results["engines"].items() if engine["available"]}


def engine_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Engines that could run in one run and not the other (an unavailable one counts as gone)."""
    before, after = available_engines(old), available_engines(new)
    changes = [
        Change("engine vanished", "", "", name, "available", _why_gone(new, name), True)
        for name in sorted(before - after)
    ]
    changes += [
        Change("engine appeared", "", "", name, _why_gone(old, name), "available", False)
        for name in sorted(after - before)
    ]
    return changes


def _why_gone(results: dict[str, Any], name: str) -> str:
    engine = results["engines"].get(name)
    if engine is None:
        return "absent"
    return f"unavailable: {engine.get('reason') or 'no reason given'}"


def claim_changes(
    fixture: str, old: dict[str, Any], new: dict[str, Any], engines: set[str], tolerance: float
) -> list[Change]:
    """What changed in one claim present in both runs, for the engines both runs had."""

    def change(kind: str, engine: str, before: str, after: str, regression: bool) -> Change:
        return Change(kind, fixture, old["id"], engine, before, after, regression)

    changes = []
    for field in ("printed", "expected"):
        if old[field] != new[field]:
            changes.append(change(field, "", str(old[field]), str(new[field]), False))
    if old["verdict"] != new["verdict"]:
        changes.append(change("verdict", "", str(old["verdict"]), str(new["verdict"]), True))
    for engine in sorted(engines):
        before, after = old["values"].get(engine), new["values"].get(engine)
        if before is not None and after is not None and moved(before, after, tolerance):
            found = change("value", engine, _number(before), _number(after), True)
            changes.append(replace(found, detail=f"relative {relative(before, after):.2g}"))
    outcome = _outcome_change(fixture, old, new, engines)
    if outcome is not None:
        changes.append(outcome)
    return changes


def _outcome_change(
    fixture: str, old: dict[str, Any], new: dict[str, Any], engines: set[str]
) -> Change | None:
    """The claim's outcome change, naming the engines whose own outcome changed.

    A regression when the claim, or any engine on it, was ``ok`` and is not.
    """
    changed = sorted(e for e in engines if old["outcomes"].get(e) != new["outcomes"].get(e))
    if old["outcome"] == new["outcome"] and not changed:
        return None
    lost = old["outcome"] == "ok" and new["outcome"] != "ok"
    lost = lost or any(
        old["outcomes"].get(e) == "ok" and new["outcomes"].get(e) != "ok" for e in changed
    )
    engine = ", ".join(changed)
    return Change("outcome", fixture, old["id"], engine, old["outcome"], new["outcome"], lost)


def fixture_changes(
    old: dict[str, Any], new: dict[str, Any], engines: set[str], tolerance: float
) -> list[Change]:
    """Claims added, removed or changed in one fixture present in both runs."""
    fid = old["id"]
    changes = []
    if old["outcome"] != new["outcome"]:
        lost = old["outcome"] == "ok"
        changes.append(Change("fixture outcome", fid, "", "", old["outcome"], new["outcome"], lost))
    before = {c["id"]: c for c in old["claims"]}
    after = {c["id"]: c for c in new["claims"]}
    for cid, claim in before.items():
        if cid not in after:
            changes.append(Change("claim removed", fid, cid, "", claim["outcome"], "-", True))
        else:
            changes.extend(claim_changes(fid, claim, after[cid], engines, tolerance))
    for cid, claim in after.items():
        if cid not in before:
            changes.append(Change("claim added", fid, cid, "", "-", claim["outcome"], False))
    return changes


def compare(
    old: dict[str, Any], new: dict[str, Any], tolerance: float = DEFAULT_TOLERANCE
) -> list[Change]:
    """Every change from ``old`` to ``new`` (two ``run --json`` results), engines first."""
    changes = engine_changes(old, new)
    engines = available_engines(old) & available_engines(new)
    before = {f["id"]: f for f in old["fixtures"]}
    after = {f["id"]: f for f in new["fixtures"]}
    for fid, fixture in before.items():
        if fid not in after:
            n = len(fixture["claims"])
            changes.append(Change("fixture removed", fid, "", "", f"{n} claim(s)", "-", True))
        else:
            changes.extend(fixture_changes(fixture, after[fid], engines, tolerance))
    for fid, fixture in after.items():
        if fid not in before:
            n = len(fixture["claims"])
            changes.append(Change("fixture added", fid, "", "", "-", f"{n} claim(s)", False))
    return changes


CHANGE_HEADERS = ["change", "fixture", "claim", "engine", "old", "new", "regression", "detail"]


def change_rows(changes: list[Change]) -> list[list[str]]:
    return [
        [
            c.kind,
            c.fixture,
            c.claim,
            c.engine,
            c.old,
            c.new,
            "yes" if c.regression else "",
            c.detail,
        ]
        for c in changes
    ]


# --- the command -----------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    try:
        old = load_results(Path(args.old))
        new = load_results(Path(args.new))
    except ResultsError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    if not (args.tolerance >= 0 and math.isfinite(args.tolerance)):
        print(
            f"--tolerance: expected a finite number >= 0, found {args.tolerance}", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    changes = compare(old, new, args.tolerance)
    regressions = sum(c.regression for c in changes)
    if changes:
        print(text_table(CHANGE_HEADERS, change_rows(changes)))
        print()
    print(f"{len(changes)} change(s), {regressions} regression(s) from {args.old} to {args.new}")
    return EXIT_REGRESSION if regressions else EXIT_OK


def register(commands: Any) -> None:
    """Add the ``compare`` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "compare", help="list what changed between two `run --json` results (drift)"
    )
    parser.add_argument("old", metavar="OLD.json", help="the earlier results")
    parser.add_argument("new", metavar="NEW.json", help="the later results")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"relative change of a value that counts as drift (default {DEFAULT_TOLERANCE:g})",
    )
    parser.set_defaults(handler=cmd_compare)
