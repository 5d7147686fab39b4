"""``bpcheck regen``: rewrite pinned reference values from the engines' agreed result.

Like pytest-regressions' ``--force-regen``: the fixture's pinned strings are
replaced in place (the rest of the file, its layout included, is untouched) and
the changes are shown as a diff.  Regenerating an unchanged fixture changes
nothing.  Values are only taken when every engine that ran agrees.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from bpcheck.checking.check import OK, FixtureResult, check_fixture
from bpcheck.io.json_positions import positions
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture


def pin(value: float) -> str:
    """Full precision, shortest form that round-trips: what a pinned value holds."""
    return format(value, ".17g")


@dataclass
class Regenerated:
    fixture: Fixture
    old_text: str
    new_text: str
    problems: list[str]
    label: str = "regenerated"
    """What the new text is called in the diff: ``regenerated`` or ``accepted``."""

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.old_text.splitlines(keepends=True),
            self.new_text.splitlines(keepends=True),
            fromfile=f"{self.fixture.path} (before)",
            tofile=f"{self.fixture.path} ({self.label})",
        )
        return "".join(lines)


def regenerate(fixture: Fixture, engines: dict[str, Engine]) -> Regenerated:
    """New text for the fixture file, with every pinned value taken from the engines."""
    text = fixture.path.read_text("utf-8")
    result = check_fixture(fixture, engines)
    problems = agreement_problems(result)
    edits = pin_edits(text, result, problems)
    if problems:
        return Regenerated(fixture, text, text, problems)
    return Regenerated(fixture, text, edited(text, edits), [])


Edit = tuple[tuple[int, int], str]
"""A ``[start, end)`` span of the text and what replaces it."""


def agreement_problems(result: FixtureResult) -> list[str]:
    """Why the engines' result cannot be taken as the agreed one: they disagree, or none ran."""
    problems = [
        f"{d.quantity} at step {d.step}: engines disagree ({d.values})"
        for d in result.disagreements
    ]
    if not any(run.outcome == OK for run in result.runs):
        problems.append("no engine could run this fixture")
    return problems


def pin_edits(text: str, result: FixtureResult, problems: list[str]) -> list[Edit]:
    """Each claim's ``pinned`` string replaced by the engines' value; a problem if one is lost.

    Each claim's ``pinned`` string is found where the parsed document puts it
    (:func:`bpcheck.io.json_positions.positions`), so an alias or a provenance
    entry that happens to be called ``pinned`` is never touched.
    """
    spans = positions(text).spans
    pinned_claims = [c for c in result.claims if c.claim.pinned is not None]
    located = [
        (spans[key], c)
        for c in pinned_claims
        if (key := ("claims", c.claim.index, "pinned")) in spans
    ]
    if len(located) != len(pinned_claims):
        problems.append("the file no longer holds the pins it was loaded with")
    return [(span, json.dumps(pin(c.reference))) for span, c in located if c.reference is not None]


def edited(text: str, edits: list[Edit]) -> str:
    """``text`` with each span replaced (the spans do not overlap); the rest is untouched."""
    pieces, last = [], 0
    for (start, end), new in sorted(edits):
        pieces.extend([text[last:start], new])
        last = end
    pieces.append(text[last:])
    return "".join(pieces)
