"""Drift between two runs (``bpcheck compare OLD.json NEW.json``): what changed, what regressed.

Both runs are ``bpcheck run --json`` results, read with
:func:`bpcheck.checking.run_result.read_run_result`.  A change is listed when a
claim's verdict or outcome changed, an engine's value moved beyond a relative
tolerance, a claim or fixture came or went, or an engine appeared or vanished.
Each change goes in one :class:`Section`:

* **regressions** lose something: a claim leaves its expected verdict (its
  outcome, or an engine's, was ``ok`` and is not; or its verdict moved away from
  the one expected), a value drifts past the tolerance, a claim or fixture is
  removed, an engine vanishes;
* **fixes** gain something: a claim reaches its expected verdict, or its verdict
  moves toward ``match`` with the fixture's expectation following it (a typo
  corrected in the document: ``mismatch -> match``, now expected ``match``);
* **document changes** are edits of what the fixture says the document prints:
  a printed number, an expected verdict, a claim or fixture added, a verdict
  that moved away from ``match`` with the expectation following it;
* **other** changes lose nothing and gain nothing (an engine appeared).

Only regressions make ``bpcheck compare`` exit 1.

This module needs neither pandas nor matplotlib, so that drift can be checked
where the ``report`` extra is not installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from bpcheck.checking.check import OK
from bpcheck.checking.run_result import ClaimRecord, FixtureRecord, RunResult
from bpcheck.defaults import DEFAULT_TOLERANCE


class Section(StrEnum):
    """Where a change is listed (see the module's docstring), in the order they are printed."""

    REGRESSION = "regressions"
    FIX = "fixes"
    DOCUMENT = "document changes"
    OTHER = "other changes"


REGRESSION, FIX, DOCUMENT, OTHER = Section


@dataclass(frozen=True)
class Change:
    """One difference between the old run and the new, and the section it belongs to."""

    kind: str
    fixture: str
    claim: str
    engine: str
    old: str
    new: str
    section: Section
    detail: str = ""

    @property
    def regression(self) -> bool:
        return self.section == REGRESSION


RANKS = {"match": 2, "truncated": 1, "mismatch": 0, "holds": 1, "fails": 0, "pinned": 1}
"""How right a verdict is: a move up is a correction, a move down a new erratum."""


def verdict_section(old: ClaimRecord, new: ClaimRecord) -> Section:
    """Where a change of the claim's verdict goes (see the module's docstring)."""
    expected_before, expected_now = old.expected or "pinned", new.expected or "pinned"
    if new.verdict != expected_now:
        return REGRESSION if old.verdict == expected_before else OTHER
    if expected_before == expected_now:
        return FIX  # it was off its expected verdict and is back on it
    better = RANKS.get(str(new.verdict), -1) > RANKS.get(str(old.verdict), -1)
    return FIX if better else DOCUMENT


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
        Change("engine vanished", "", "", name, "available", _why_gone(new, name), REGRESSION)
        for name in sorted(before - after)
    ]
    changes += [
        Change("engine appeared", "", "", name, _why_gone(old, name), "available", OTHER)
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

    def change(kind: str, engine: str, before: str, after: str, section: Section) -> Change:
        return Change(kind, fixture, old.id, engine, before, after, section)

    changes = []
    if old.printed != new.printed:
        changes.append(change("printed", "", str(old.printed), str(new.printed), DOCUMENT))
    if old.expected != new.expected:
        changes.append(change("expected", "", str(old.expected), str(new.expected), DOCUMENT))
    if old.verdict != new.verdict:
        section = verdict_section(old, new)
        changes.append(change("verdict", "", str(old.verdict), str(new.verdict), section))
    for engine in sorted(engines):
        before, after = old.values.get(engine), new.values.get(engine)
        if before is not None and after is not None and moved(before, after, tolerance):
            found = change("value", engine, _number(before), _number(after), REGRESSION)
            changes.append(replace(found, detail=f"relative {relative(before, after):.2g}"))
    outcome = _outcome_change(fixture, old, new, engines)
    if outcome is not None:
        changes.append(outcome)
    return changes


def _outcome_change(
    fixture: str, old: ClaimRecord, new: ClaimRecord, engines: set[str]
) -> Change | None:
    """The claim's outcome change, naming the engines whose own outcome changed.

    A regression when the claim, or any engine on it, was ``ok`` and is not; a fix
    when it was not ``ok`` and is.
    """
    changed = sorted(e for e in engines if old.outcomes.get(e) != new.outcomes.get(e))
    if old.outcome == new.outcome and not changed:
        return None
    lost = old.outcome == OK and new.outcome != OK
    lost = lost or any(old.outcomes.get(e) == OK and new.outcomes.get(e) != OK for e in changed)
    section = REGRESSION if lost else (FIX if new.outcome == OK else OTHER)
    engine = ", ".join(changed)
    return Change("outcome", fixture, old.id, engine, str(old.outcome), str(new.outcome), section)


def fixture_changes(
    old: FixtureRecord, new: FixtureRecord, engines: set[str], tolerance: float
) -> list[Change]:
    """Claims added, removed or changed in one fixture present in both runs."""
    fid = old.id
    changes = []
    if old.outcome != new.outcome:
        section = REGRESSION if old.outcome == OK else (FIX if new.outcome == OK else OTHER)
        was, now = str(old.outcome), str(new.outcome)
        changes.append(Change("fixture outcome", fid, "", "", was, now, section))
    before = {c.id: c for c in old.claims}
    after = {c.id: c for c in new.claims}
    for cid, claim in before.items():
        if cid not in after:
            gone = Change("claim removed", fid, cid, "", str(claim.outcome), "-", REGRESSION)
            changes.append(gone)
        else:
            changes.extend(claim_changes(fid, claim, after[cid], engines, tolerance))
    for cid, claim in after.items():
        if cid not in before:
            changes.append(Change("claim added", fid, cid, "", "-", str(claim.outcome), DOCUMENT))
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
            gone = Change("fixture removed", fid, "", "", f"{n} claim(s)", "-", REGRESSION)
            changes.append(gone)
        else:
            changes.extend(fixture_changes(fixture, after[fid], engines, tolerance))
    for fid, fixture in after.items():
        if fid not in before:
            n = len(fixture.claims)
            changes.append(Change("fixture added", fid, "", "", "-", f"{n} claim(s)", DOCUMENT))
    return changes


CHANGE_HEADERS = ["change", "fixture", "claim", "engine", "old", "new", "detail"]


def change_rows(changes: list[Change]) -> list[list[str]]:
    return [[c.kind, c.fixture, c.claim, c.engine, c.old, c.new, c.detail] for c in changes]


def by_section(changes: list[Change]) -> dict[Section, list[Change]]:
    """The changes of each section, in :class:`Section` order (every section, maybe empty)."""
    return {section: [c for c in changes if c.section == section] for section in Section}
