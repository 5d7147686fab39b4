"""Drift between two runs (``bpcheck compare OLD.json NEW.json``): what changed, what regressed.

Both runs are ``bpcheck run --json`` results, read with
:func:`bpcheck.checking.run_result.read_run_result`.  A change is listed when a
claim's verdict or outcome changed, an engine's value moved beyond a relative
tolerance, a claim or fixture came or went, or an engine appeared or vanished.
Regressions are the changes that lose something: a verdict change, a moved
value, a removed claim or fixture, a vanished engine, an outcome that was
``ok`` and is not.

This module needs neither pandas nor matplotlib, so that drift can be checked
where the ``report`` extra is not installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bpcheck.checking.check import OK
from bpcheck.checking.run_result import ClaimRecord, FixtureRecord, RunResult

DEFAULT_TOLERANCE = 1e-12
"""Relative change of an engine's value that counts as drift (engines agree to this)."""


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


def available_engines(results: RunResult) -> set[str]:
    return {name for name, engine in results.engines.items() if engine.available}


def engine_changes(old: RunResult, new: RunResult) -> list[Change]:
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


def _why_gone(results: RunResult, name: str) -> str:
    engine = results.engines.get(name)
    if engine is None:
        return "absent"
    return f"unavailable: {engine.reason or 'no reason given'}"


def claim_changes(
    fixture: str, old: ClaimRecord, new: ClaimRecord, engines: set[str], tolerance: float
) -> list[Change]:
    """What changed in one claim present in both runs, for the engines both runs had."""

    def change(kind: str, engine: str, before: str, after: str, regression: bool) -> Change:
        return Change(kind, fixture, old.id, engine, before, after, regression)

    changes = []
    if old.printed != new.printed:
        changes.append(change("printed", "", str(old.printed), str(new.printed), False))
    if old.expected != new.expected:
        changes.append(change("expected", "", str(old.expected), str(new.expected), False))
    if old.verdict != new.verdict:
        changes.append(change("verdict", "", str(old.verdict), str(new.verdict), True))
    for engine in sorted(engines):
        before, after = old.values.get(engine), new.values.get(engine)
        if before is not None and after is not None and moved(before, after, tolerance):
            found = change("value", engine, _number(before), _number(after), True)
            changes.append(replace(found, detail=f"relative {relative(before, after):.2g}"))
    outcome = _outcome_change(fixture, old, new, engines)
    if outcome is not None:
        changes.append(outcome)
    return changes


def _outcome_change(
    fixture: str, old: ClaimRecord, new: ClaimRecord, engines: set[str]
) -> Change | None:
    """The claim's outcome change, naming the engines whose own outcome changed.

    A regression when the claim, or any engine on it, was ``ok`` and is not.
    """
    changed = sorted(e for e in engines if old.outcomes.get(e) != new.outcomes.get(e))
    if old.outcome == new.outcome and not changed:
        return None
    lost = old.outcome == OK and new.outcome != OK
    lost = lost or any(old.outcomes.get(e) == OK and new.outcomes.get(e) != OK for e in changed)
    engine = ", ".join(changed)
    return Change("outcome", fixture, old.id, engine, str(old.outcome), str(new.outcome), lost)


def fixture_changes(
    old: FixtureRecord, new: FixtureRecord, engines: set[str], tolerance: float
) -> list[Change]:
    """Claims added, removed or changed in one fixture present in both runs."""
    fid = old.id
    changes = []
    if old.outcome != new.outcome:
        lost = old.outcome == OK
        was, now = str(old.outcome), str(new.outcome)
        changes.append(Change("fixture outcome", fid, "", "", was, now, lost))
    before = {c.id: c for c in old.claims}
    after = {c.id: c for c in new.claims}
    for cid, claim in before.items():
        if cid not in after:
            changes.append(Change("claim removed", fid, cid, "", str(claim.outcome), "-", True))
        else:
            changes.extend(claim_changes(fid, claim, after[cid], engines, tolerance))
    for cid, claim in after.items():
        if cid not in before:
            changes.append(Change("claim added", fid, cid, "", "-", str(claim.outcome), False))
    return changes


def compare(old: RunResult, new: RunResult, tolerance: float = DEFAULT_TOLERANCE) -> list[Change]:
    """Every change from ``old`` to ``new`` (two ``run --json`` results), engines first."""
    changes = engine_changes(old, new)
    engines = available_engines(old) & available_engines(new)
    before = {f.id: f for f in old.fixtures}
    after = {f.id: f for f in new.fixtures}
    for fid, fixture in before.items():
        if fid not in after:
            n = len(fixture.claims)
            changes.append(Change("fixture removed", fid, "", "", f"{n} claim(s)", "-", True))
        else:
            changes.extend(fixture_changes(fixture, after[fid], engines, tolerance))
    for fid, fixture in after.items():
        if fid not in before:
            n = len(fixture.claims)
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
