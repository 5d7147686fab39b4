"""How many printed numbers are right, cut or wrong: the counts ``run`` prints and writes.

A reader of ``bpcheck run`` wants to know which printed numbers are right, not only
whether each claim got the verdict its fixture expects.  So every claim is counted
by what it is and what was found: a printed number by the verdict found
(``match``, ``truncated``, ``mismatch``), a pinned value, a relation, or
``unjudged`` when no engine computed it; and each of those counts says how many of
its claims ended as the fixture expects (outcome ``ok``).  The same counts are on
the terminal and in ``run --json`` (``counts``), computed here from the claim
records, so the two cannot differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bpcheck.checking.check import OK

if TYPE_CHECKING:
    from bpcheck.checking.run_result import ClaimRecord

KINDS = ("match", "truncated", "mismatch", "undecided", "pinned", "relations", "unjudged")
"""What a claim is counted as: the verdict found for a printed number (``undecided``
only on a certified interval), a pinned value alone, a relation, or ``unjudged`` (no
engine computed it)."""


def kind_of(claim: ClaimRecord) -> str:
    """The one of :data:`KINDS` that ``claim`` counts as."""
    if claim.verdict is None:
        return "unjudged"
    if claim.relation is not None:
        return "relations"
    if claim.printed is not None:
        return claim.verdict
    return "pinned"


@dataclass
class Count:
    """Claims of one kind, and how many of them ended as their fixture expects."""

    claims: int = 0
    as_expected: int = 0

    @property
    def unexpected(self) -> int:
        return self.claims - self.as_expected

    def to_json(self) -> dict[str, int]:
        return {"claims": self.claims, "as_expected": self.as_expected}


@dataclass
class Counts:
    """Claims by kind (:data:`KINDS`) and the quantities on which engines disagree."""

    kinds: dict[str, Count] = field(default_factory=lambda: {k: Count() for k in KINDS})
    disagreements: int = 0

    @classmethod
    def of(cls, claims: Iterable[ClaimRecord], disagreements: int = 0) -> Counts:
        counts = cls(disagreements=disagreements)
        for claim in claims:
            count = counts.kinds[kind_of(claim)]
            count.claims += 1
            count.as_expected += claim.outcome == OK
        return counts

    def __add__(self, other: Counts) -> Counts:
        kinds = {
            k: Count(
                self.kinds[k].claims + other.kinds[k].claims,
                self.kinds[k].as_expected + other.kinds[k].as_expected,
            )
            for k in KINDS
        }
        return Counts(kinds, self.disagreements + other.disagreements)

    def __getitem__(self, kind: str) -> Count:
        return self.kinds[kind]

    @property
    def claims(self) -> int:
        return sum(c.claims for c in self.kinds.values())

    @property
    def as_expected(self) -> int:
        return sum(c.as_expected for c in self.kinds.values())

    @property
    def printed(self) -> int:
        """Printed numbers with a verdict (match, truncated or mismatch)."""
        return sum(self.kinds[k].claims for k in ("match", "truncated", "mismatch"))

    def to_json(self) -> dict[str, Any]:
        return {
            "claims": self.claims,
            "as_expected": self.as_expected,
            **{k: self.kinds[k].to_json() for k in KINDS},
            "disagreements": self.disagreements,
        }
