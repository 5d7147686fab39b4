"""The evidence of each erratum's diagnosis, as the errata lists show it (docs and reports).

For a printed number the fixture expects to be wrong, the evidence of its
accepted diagnosis (or, while it is open, of the best explanation diagnose
offers): how many other printed numbers the explanation reproduces and how many
it contradicts, or ``weak`` when no other quantity backs it.  Generated files
must not depend on the machine's speed, so the long runs are bounded by a count
(:data:`LONG_RUNS`), never by the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bpcheck.diagnose.diagnosis import Candidate, Erratum, diagnose
from bpcheck.model.fixture import Fixture

LONG_RUNS = 2
"""Variants run to a fixture's last step for the errata lists: the most promising ones."""

FLAGGED = ("truncated", "mismatch")


@dataclass(frozen=True)
class Evidence:
    """What backs one erratum's diagnosis, in a few words, and the slip or chain if any."""

    text: str
    detail: str = ""


def evidence_of(erratum: Erratum) -> Evidence:
    """The evidence of the accepted diagnosis, or of the best explanation while it is open."""
    accepted = erratum.claim.diagnosis
    if accepted:
        found = [c for c in erratum.explanations if c.name == accepted]
        if not found:
            return Evidence("not reproduced")
        return Evidence(_backing(erratum, found[0]), found[0].detail)
    if not erratum.explanations:
        return Evidence("nothing offered")
    best = erratum.explanations[0]
    return Evidence(f"best: {best.name}, {_backing(erratum, best)}", best.detail)


def _backing(erratum: Erratum, candidate: Candidate) -> str:
    """``8 others, 2 against``, or ``weak`` (``weak, 1 against``)."""
    others = len(erratum.others(candidate))
    text = "weak" if erratum.weak(candidate) else f"{others} other{'s' * (others != 1)}"
    return f"{text}, {candidate.broken} against" if candidate.broken else text


def errata_evidence(fixtures: Iterable[Fixture]) -> dict[tuple[str, str], Evidence]:
    """``(fixture id, claim id)`` -> evidence, for every printed number expected to be wrong."""
    found: dict[tuple[str, str], Evidence] = {}
    for fixture in fixtures:
        if not any(c.expect in FLAGGED for c in fixture.claims):
            continue
        for erratum in diagnose(fixture, math.inf, LONG_RUNS).errata:
            found[(fixture.id, erratum.claim.id)] = evidence_of(erratum)
    return found
