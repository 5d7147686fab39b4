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

from bpcheck.checking.check import OK, check_fixture
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

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.old_text.splitlines(keepends=True),
            self.new_text.splitlines(keepends=True),
            fromfile=f"{self.fixture.path} (before)",
            tofile=f"{self.fixture.path} (regenerated)",
        )
        return "".join(lines)


def regenerate(fixture: Fixture, engines: dict[str, Engine]) -> Regenerated:
    """New text for the fixture file, with every pinned value taken from the engines.

    Each claim's ``pinned`` string is found where the parsed document puts it
    (:func:`bpcheck.io.json_positions.positions`), so an alias or a provenance
    entry that happens to be called ``pinned`` is never touched.
    """
    text = fixture.path.read_text("utf-8")
    result = check_fixture(fixture, engines)
    problems = [
        f"{d.quantity} at step {d.step}: engines disagree ({d.values})"
        for d in result.disagreements
    ]
    if not any(run.outcome == OK for run in result.runs):
        problems.append("no engine could run this fixture")
    spans = positions(text).spans
    pinned_claims = [c for c in result.claims if c.claim.pinned is not None]
    located = [
        (spans[key], c)
        for c in pinned_claims
        if (key := ("claims", c.claim.index, "pinned")) in spans
    ]
    if len(located) != len(pinned_claims):
        problems.append("the file no longer holds the pins it was loaded with")
    if problems:
        return Regenerated(fixture, text, text, problems)
    pieces, last = [], 0
    for (start, end), claim in sorted(located, key=lambda item: item[0]):
        value = claim.reference
        new = text[start:end] if value is None else json.dumps(pin(value))
        pieces.extend([text[last:start], new])
        last = end
    pieces.append(text[last:])
    return Regenerated(fixture, text, "".join(pieces), [])
