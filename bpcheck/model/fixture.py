"""A worked example as bpcheck holds it once loaded: the problem, aliases and claims."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bpcheck.model.problem import Problem


@dataclass(frozen=True)
class Operand:
    """One side of a relation: a quantity at a step."""

    quantity: str
    canonical: str
    step: int = 0


@dataclass(frozen=True)
class Relation:
    left: Operand
    op: str
    right: Operand
    tolerance: float = 1e-12


@dataclass(frozen=True)
class Claim:
    """A number (or a relation) the document states, and the verdict we expect for it.

    ``quantity`` is as written in the fixture (often an alias); ``canonical`` is
    the canonical name it resolves to, with its sample (``out[1,1]@1``).
    """

    id: str
    where: str
    quantity: str = ""
    canonical: str = ""
    step: int = 0
    printed: str | None = None
    expect: str | None = None
    note: str = ""
    relation: Relation | None = None
    pinned: str | None = None
    pin_tolerance: float = 1e-12
    diagnosis: str | None = None
    """The accepted cause of a non-match: variant names joined by ' + '."""
    unsupported: str | None = None
    """Why bpcheck cannot compute this printed number (then it has no quantity and no
    verdict; the coverage table counts it)."""
    index: int = 0
    """Position in the fixture's ``claims`` array, for error locations."""


@dataclass(frozen=True)
class Fixture:
    """A loaded fixture.

    ``claims`` are the encoded claims, those bpcheck computes (a quantity or a
    relation), in file order; ``unsupported`` the printed numbers it cannot compute
    (:attr:`Claim.unsupported` says why).  Kept apart so that everything judging,
    running or diagnosing claims never meets a claim without a quantity; the
    coverage table counts both (:meth:`all_claims`).
    """

    id: str
    title: str
    path: Path
    source: dict[str, str]
    problem: Problem
    aliases: dict[str, str]
    claims: tuple[Claim, ...]
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
    unsupported: tuple[Claim, ...] = ()

    def all_claims(self) -> tuple[Claim, ...]:
        """Encoded and unsupported claims together, in the order of the file."""
        return tuple(sorted(self.claims + self.unsupported, key=lambda claim: claim.index))

    def recorded_steps(self) -> set[int]:
        """The steps any claim refers to: all an engine needs to keep."""
        steps: set[int] = set()
        for claim in self.claims:
            if claim.relation is not None:
                steps.update((claim.relation.left.step, claim.relation.right.step))
            else:
                steps.add(claim.step)
        return steps
