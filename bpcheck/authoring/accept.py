"""``bpcheck accept`` and ``pytest --bpcheck-accept``: take the engines' agreed result as expected.

As pytest-regressions users expect of ``--force-regen``: after a deliberate
change (an engine fixed, a fixture's problem corrected) the expected verdicts
and the pinned values are rewritten from what the engines now compute, in place
(the rest of the file, its layout included, is untouched), and the change is
shown as a diff for review.  Pins are rewritten by :mod:`bpcheck.authoring.regen`;
this module adds the ``expect`` of each claim.

Nothing is written where the result is not one agreed result: when the engines
disagree, when none ran, when one errored, or when they reach different verdicts
for a claim.  A verdict that would leave the fixture unsound is refused too, with
what to do first: ``mismatch`` or ``truncated`` needs a note saying why (the
loader demands it), and ``match`` or ``holds`` cannot keep a diagnosis of a
mismatch.  Any refusal leaves the whole file as it was.
"""

from __future__ import annotations

import json

from bpcheck.authoring.regen import Edit, Regenerated, agreement_problems, edited, pin_edits
from bpcheck.checking.check import ERRORED, OK, ClaimResult, FixtureResult, check_fixture
from bpcheck.io.json_positions import JsonPath, location, positions
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture
from bpcheck.model.verdicts import UNDECIDED

NEEDS_NOTE = ("truncated", "mismatch")
"""Verdicts a claim may only expect with a note saying why (see the loader)."""
CLEARS_DIAGNOSIS = ("match", "holds")
"""Verdicts after which a claim's diagnosis of a mismatch no longer describes anything."""


def accept(fixture: Fixture, engines: dict[str, Engine]) -> Regenerated:
    """New text for the fixture file: expected verdicts and pins from the engines' agreed result."""
    return accepted(fixture, check_fixture(fixture, engines))


def accepted(fixture: Fixture, result: FixtureResult) -> Regenerated:
    """New text from an already computed ``result`` (the pytest plugin has the engines' runs).

    ``problems`` are ``LOCATION: what`` lines; when there are any, the text is unchanged.
    """
    text = fixture.path.read_text("utf-8")
    problems = [f"$: {problem}" for problem in agreement_problems(result)]
    problems += [
        f"$: {run.engine} errored, so its result cannot be compared: {run.reason}"
        for run in result.runs
        if run.outcome == ERRORED
    ]
    found: list[str] = []
    edits = pin_edits(text, result, found)
    problems += [f"$: {problem}" for problem in found]
    edits += verdict_edits(text, result, problems)
    if problems:
        return Regenerated(fixture, text, text, problems, label="accepted")
    return Regenerated(fixture, text, edited(text, edits), [], label="accepted")


def verdict_edits(text: str, result: FixtureResult, problems: list[str]) -> list[Edit]:
    """Each claim's ``expect`` replaced by the verdict every engine that ran reached."""
    spans = positions(text).spans
    ran = [run.engine for run in result.runs if run.outcome == OK]
    if not ran:
        return []  # nothing agreed: agreement_problems says so
    edits: list[Edit] = []
    for claimed in result.claims:
        claim = claimed.claim
        if claim.expect is None:
            continue  # a pin alone: its value is rewritten, "pinned" is its verdict
        key: JsonPath = ("claims", claim.index, "expect")
        where = location(key)
        verdict, problem = agreed_verdict(claimed, ran)
        if problem:
            problems.append(f"{where}: {claim.id}: {problem}")
            continue
        if verdict == claim.expect:
            continue
        if verdict in NEEDS_NOTE and not claim.note:
            problems.append(
                f"{where}: {claim.id}: the verdict is now {verdict!r}; "
                'write a note saying why (the claim\'s "note"), then accept again'
            )
        elif verdict in CLEARS_DIAGNOSIS and claim.diagnosis:
            problems.append(
                f"{where}: {claim.id}: the verdict is now {verdict!r}; its diagnosis "
                f"{claim.diagnosis!r} no longer applies: remove it, then accept again"
            )
        elif key not in spans:
            problems.append(f"{where}: the file no longer holds the claim it was loaded with")
        else:
            edits.append((spans[key], json.dumps(verdict)))
    return edits


def agreed_verdict(claimed: ClaimResult, ran: list[str]) -> tuple[str | None, str]:
    """(the verdict every engine that ran reached, "") or (None, why there is none).

    When an engine certified the value, its verdict is the claim's (docs/verdicts.md): the
    float engines were judged against its value, not against the printed number.
    """
    if claimed.decided_by is not None:
        if claimed.verdict is None or claimed.verdict == UNDECIDED:
            return (
                None,
                f"{claimed.verdict or 'no verdict'} on the certified value: {claimed.message}",
            )
        return str(claimed.verdict), ""
    missing = [engine for engine in ran if claimed.verdicts.get(engine) is None]
    if missing:
        return None, f"no value from {', '.join(missing)} ({claimed.message})"
    verdicts = {engine: str(claimed.verdicts[engine]) for engine in ran}
    if len(set(verdicts.values())) > 1:
        each = ", ".join(f"{engine}: {verdict}" for engine, verdict in verdicts.items())
        return None, f"engines reach different verdicts ({each})"
    return next(iter(verdicts.values())), ""
