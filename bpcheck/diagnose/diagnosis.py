"""``bpcheck diagnose``: what reproduces each printed number that is wrong, and on what evidence.

For every claim whose verdict is ``mismatch`` or ``truncated``, the explanations
are, as a careful reader tries them:

* the catalogue (:mod:`.variants`): other readings of the algorithm, classic
  bugs, hand computation, alone and in pairs with an order or bias reading;
* ``from-printed-inputs`` (:mod:`.rounded_chain`): the claim recomputed from the
  document's own printed, rounded operands, with the chain shown;
* ``formula-slip`` (:mod:`.slips`): one operand or factor of one formula wrong,
  every later number inheriting it;
* printing slips: cut instead of rounded, one digit changed, two swapped.

Each explanation lists the printed numbers it reproduces and those it
contradicts (:mod:`.evidence`); it is ranked by how many it reproduces minus how
many it contradicts; one backed by no printed number of another quantity is
``weak``; one that random digit noise would hit as often is not offered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bpcheck.defaults import DEFAULT_BUDGET
from bpcheck.diagnose import evidence
from bpcheck.diagnose.computed import (
    Computed,
    Prepared,
    key_of,
    prepare,
    printed_claims,
)
from bpcheck.diagnose.graph import Key
from bpcheck.diagnose.rounded_chain import ChainSearch, printed_by_key
from bpcheck.diagnose.variants import CATALOGUE, typo_of
from bpcheck.model import verdicts
from bpcheck.model.decimals import places_of
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.verdicts import (
    MATCH,
    MISMATCH,
    TRUNCATED,
    Verdict,
    printed_value,
    verdict,
)

MAX_SLIP_EXPLANATIONS = 5
"""Formula slips kept per wrong number (the best; many slips often explain the same)."""

SHOWN_IDS = 4
"""Claim ids listed in a line of evidence before "and N more"."""


@dataclass
class Candidate:
    """An explanation: variants (with the slip or chain), and the printed numbers it moves."""

    variants: tuple[str, ...]
    reproduces: tuple[str, ...] = ()
    """Printed numbers (claim ids) that were not a match and become one."""
    contradicts: tuple[str, ...] = ()
    """Printed numbers that were a match and are no longer (for a chain: that the printed
    operands do not give)."""
    keys: frozenset[Key] = frozenset()
    """The quantities of the numbers it reproduces."""
    detail: str = ""
    """The formula slip or the rounded chain, as a reader writes it."""
    chances: dict[Key, float] = field(default_factory=dict)
    """How often the explanation's family hits random digit noise at each quantity it
    reproduces (empty for the printing slips, which describe the print itself)."""

    @property
    def chance(self) -> float | None:
        """How often the family would hit all the numbers it reproduces by luck (None: not
        estimated)."""
        return math.prod(self.chances.values()) if self.chances else None

    @property
    def name(self) -> str:
        return " + ".join(self.variants)

    @property
    def gained(self) -> int:
        return len(self.reproduces)

    @property
    def broken(self) -> int:
        return len(self.contradicts)

    @property
    def score(self) -> int:
        return self.gained - self.broken


@dataclass
class Erratum:
    claim: Claim
    value: float
    verdict: Verdict
    explanations: list[Candidate] = field(default_factory=list)
    dropped: list[Candidate] = field(default_factory=list)
    """Explanations not offered: random digit noise would be hit as often (best first)."""

    @property
    def key(self) -> Key:
        return key_of(self.claim)

    def weak(self, candidate: Candidate) -> bool:
        """Backed by no printed number of another quantity, or only by numbers its family
        would hit by luck as often (the chance of the others above the limit)."""
        others = candidate.keys - {self.key}
        if not others:
            return True
        if not candidate.chances:
            return False
        return not evidence.offered(candidate.chances[k] for k in others)

    def weak_reason(self, candidate: Candidate) -> str:
        if not (candidate.keys - {self.key}):
            return "no other printed quantity reproduced"
        others = len(self.others(candidate))
        return f"the {others} other number(s) it reproduces are no better than chance"

    def others(self, candidate: Candidate) -> list[str]:
        """The other printed numbers the explanation reproduces (this one left out)."""
        return [c for c in candidate.reproduces if c != self.claim.id]

    @property
    def accepted_reproduced(self) -> bool | None:
        """Whether the fixture's recorded diagnosis is among the explanations (None: none)."""
        if not self.claim.diagnosis:
            return None
        return any(c.name == self.claim.diagnosis for c in self.explanations)


@dataclass
class FixtureErrata:
    """A fixture's wrong numbers, explained, and why the search stopped short if it did."""

    errata: list[Erratum]
    notes: list[str] = field(default_factory=list)


class Judge:
    """Printed claims against computed values: a float test first, exact verdicts near the print.

    Most values a slip gives are nowhere near the printed number; telling them
    apart needs no Decimal.  Anything within a unit and a half of the printed
    last place gets the exact verdict of :mod:`bpcheck.model.verdicts`.
    """

    def __init__(self, claims: Sequence[Claim], precision: str = "float64") -> None:
        self.precision = precision
        """The values' precision (a float32 fixture's forgive float32 ULPs)."""
        self.near: dict[str, tuple[float, float]] = {}
        for claim in claims:
            assert claim.printed is not None
            unit = float(Decimal(1).scaleb(-places_of(claim.printed)))
            printed = float(
                printed_value(claim.printed)
            )  # the verdict forgives a few ULPs: so do we, and more
            slack = 8 * verdicts.ulp(printed, precision)
            self.near[claim.id] = (printed, 1.5 * unit + slack)

    def __call__(self, claim: Claim, value: float) -> Verdict:
        printed, reach = self.near[claim.id]
        if not math.isfinite(value) or abs(value - printed) > reach * (1 + 1e-9):
            return MISMATCH
        assert claim.printed is not None
        return verdict(value, claim.printed, self.precision)


def diagnose_fixture(fixture: Fixture, budget: float = DEFAULT_BUDGET) -> list[Erratum]:
    return diagnose(fixture, budget).errata


def diagnose(
    fixture: Fixture, budget: float = DEFAULT_BUDGET, long_runs: int | None = None
) -> FixtureErrata:
    """Every wrong printed number of the fixture, with its explanations best first (the
    long runs bounded by ``budget`` seconds and ``long_runs``, see :func:`.computed.prepare`)."""
    prepared = prepare(fixture, budget, long_runs=long_runs)
    if prepared is None:
        return FixtureErrata([])
    return FixtureErrata(judge_fixture(prepared, fixture), prepared.notes)


def judge_fixture(prepared: Prepared, fixture: Fixture) -> list[Erratum]:
    """The errata of the fixture as printed, against a preparation (which may serve many)."""
    claims = printed_claims(fixture)
    judge = Judge(claims, fixture.problem.precision)
    values = prepared.graph.values
    before = {c.id: judge(c, values[key_of(c)]) for c in claims if key_of(c) in values}
    errata = [
        Erratum(c, values[key_of(c)], before[c.id])
        for c in claims
        if c.id in before and before[c.id] != MATCH
    ]
    if not errata:
        return []
    by_key: dict[Key, list[Claim]] = {}
    for claim in claims:
        by_key.setdefault(key_of(claim), []).append(claim)
    chances = Chances(prepared, by_key)
    ways = _distinct(prepared.catalogue) + prepared.slips
    computed = [_moved(c, by_key, before, judge) for c in ways]
    chains = ChainSearch(prepared.graph, printed_by_key(claims))
    chained = _chain_evidence(chains, claims, before)
    for erratum in errata:
        found: list[Candidate] = []
        dropped: list[Candidate] = []
        for way, candidate in zip(ways, computed, strict=True):
            if candidate is None or erratum.claim.id not in candidate.reproduces:
                continue
            (found if _offered(candidate, chances, way.family) else dropped).append(candidate)
        slips = [c for c in found if c.variants == ("formula-slip",)]
        found = [c for c in found if c.variants != ("formula-slip",)] + _best_slips(slips)
        chain = _from_printed(erratum, chains, chained, chances)
        if chain is not None:
            (found if evidence.offered(chain.chances.values()) else dropped).append(chain)
        found += _printing(erratum)
        erratum.explanations = sorted(found, key=rank)
        erratum.dropped = sorted(dropped, key=rank)[:1]
    return errata


def _distinct(catalogue: list[Computed]) -> list[Computed]:
    """The catalogue without combinations that compute what an earlier one does (a pair whose
    reading changes nothing the document prints says no more than its other variant)."""
    kept: list[Computed] = []
    for way in catalogue:
        if not any(k.values == way.values for k in kept):
            kept.append(way)
    return kept


def _moved(
    computed: Computed,
    by_key: dict[Key, list[Claim]],
    before: dict[str, Verdict],
    judge: Judge,
) -> Candidate | None:
    """What a way of computing does to the printed numbers (None if it explains none)."""
    reproduces, contradicts, keys = [], [], set()
    for key, value in computed.values.items():
        for claim in by_key.get(key, ()):
            if claim.id not in before:
                continue
            after = judge(claim, value)
            if before[claim.id] != MATCH and after == MATCH:
                reproduces.append(claim.id)
                keys.add(key)
            elif before[claim.id] == MATCH and after != MATCH:
                contradicts.append(claim.id)
    if not reproduces:
        return None
    return Candidate(
        computed.variants, tuple(reproduces), tuple(contradicts), frozenset(keys), computed.detail
    )


class Chances:
    """The chance of each family at each printed quantity, computed once."""

    def __init__(self, prepared: Prepared, by_key: dict[Key, list[Claim]]) -> None:
        self.prepared = prepared
        self.by_key = by_key
        self._known: dict[tuple[str, Key], float] = {}

    def at(self, family: str, key: Key, values: Callable[[], Iterable[float]]) -> float:
        if (family, key) not in self._known:
            printed = self.by_key[key][0].printed
            assert printed is not None
            true = self.prepared.graph.values[key]
            self._known[(family, key)] = evidence.chance(true, printed, values())
        return self._known[(family, key)]

    def of_family(self, family: str, key: Key) -> float:
        source = self.prepared.catalogue if family == "catalogue" else self.prepared.slips
        return self.at(
            family,
            key,
            lambda: (c.values[key] for c in source if c.family == family and key in c.values),
        )


def _offered(candidate: Candidate, chances: Chances, family: str) -> bool:
    candidate.chances = {key: chances.of_family(family, key) for key in candidate.keys}
    return evidence.offered(candidate.chances.values())


def _best_slips(slips: list[Candidate]) -> list[Candidate]:
    """The best slips, one per distinct evidence (many slips move the same numbers alike)."""
    kept: dict[tuple[tuple[str, ...], tuple[str, ...]], Candidate] = {}
    for slip in sorted(slips, key=rank):
        kept.setdefault((slip.reproduces, slip.contradicts), slip)
    return list(kept.values())[:MAX_SLIP_EXPLANATIONS]


@dataclass(frozen=True)
class ChainEvidence:
    """What reading the whole document as computed from its printed numbers says."""

    reproduces: tuple[str, ...]
    contradicts: tuple[str, ...]
    keys: frozenset[Key]


def _chain_evidence(
    chains: ChainSearch, claims: Sequence[Claim], before: dict[str, Verdict]
) -> ChainEvidence:
    reproduces, contradicts, keys = [], [], set()
    for claim in claims:
        if claim.id not in before:
            continue
        found = chains.chains(claim)
        if before[claim.id] != MATCH and found:
            reproduces.append(claim.id)
            keys.add(key_of(claim))
        elif before[claim.id] == MATCH and not found and chains.values(claim):
            contradicts.append(claim.id)
    return ChainEvidence(tuple(reproduces), tuple(contradicts), frozenset(keys))


def _from_printed(
    erratum: Erratum, chains: ChainSearch, evidence_: ChainEvidence, chances: Chances
) -> Candidate | None:
    found = chains.chains(erratum.claim)
    if not found:
        return None
    candidate = Candidate(
        ("from-printed-inputs",),
        evidence_.reproduces,
        evidence_.contradicts,
        evidence_.keys,
        found[0].describe(chains.graph),
    )
    candidate.chances = {
        key: chances.at("from-printed-inputs", key, _chain_values(chains, chances.by_key[key][0]))
        for key in candidate.keys
    }
    return candidate


def _chain_values(chains: ChainSearch, claim: Claim) -> Callable[[], list[float]]:
    return lambda: chains.values(claim)


def _printing(erratum: Erratum) -> list[Candidate]:
    """Readings of the print itself: cut, one digit changed, two swapped (always weak)."""
    claim = erratum.claim
    assert claim.printed is not None
    found = []
    if erratum.verdict == TRUNCATED:
        found.append(Candidate(("cut-when-printed",), (claim.id,), (), frozenset({erratum.key})))
    for name, swaps in (("typo-one-digit", False), ("typo-swapped-digits", True)):
        if typo_of(erratum.value, claim.printed, swaps):
            found.append(Candidate((name,), (claim.id,), (), frozenset({erratum.key})))
    return found


TIE_ORDER = {"cut-when-printed": 0, "typo-one-digit": 2, "typo-swapped-digits": 2}
"""Among equal scores: the verdict's own reading first, computed readings next, typos last."""

POSITION = {v.name: i for i, v in enumerate(CATALOGUE)}


def rank(candidate: Candidate) -> tuple[int, int, int, list[int], str]:
    tie = max(TIE_ORDER.get(name, 1) for name in candidate.variants)
    positions = [POSITION[name] for name in candidate.variants]
    return (-candidate.score, len(candidate.variants), tie, positions, candidate.detail)


# --- output ------------------------------------------------------------------------------------


def ids(claim_ids: Sequence[str]) -> str:
    shown = ", ".join(claim_ids[:SHOWN_IDS])
    more = len(claim_ids) - SHOWN_IDS
    return f"{shown}, and {more} more" if more > 0 else shown


def evidence_text(erratum: Erratum, candidate: Candidate) -> str:
    """``reproduces 3 other printed numbers (a, b, c); contradicts none``, or ``weak``."""
    others = erratum.others(candidate)
    parts = []
    if erratum.weak(candidate):
        parts.append(f"weak: {erratum.weak_reason(candidate)}")
    else:
        parts.append(f"also reproduces {len(others)} ({ids(others)})")
    if candidate.contradicts:
        parts.append(f"contradicts {candidate.broken} ({ids(candidate.contradicts)})")
    else:
        parts.append("contradicts none")
    if candidate.chance is not None:
        parts.append(f"chance {candidate.chance:.0%}")
    return "; ".join(parts)


def describe(fixture: Fixture, found: FixtureErrata | list[Erratum], top: int) -> list[str]:
    errata = found.errata if isinstance(found, FixtureErrata) else found
    lines = [f"{fixture.id} ({fixture.path}): {len(errata)} printed number(s) not a match"]
    for erratum in errata:
        claim = erratum.claim
        lines.append(
            f"  {claim.id}: {claim.quantity} at step {claim.step} printed {claim.printed}, "
            f"computed {erratum.value:.10g} ({erratum.verdict})"
        )
        if not erratum.explanations:
            lines.append("    nothing reproduces it")
        for number, candidate in enumerate(erratum.explanations[:top], start=1):
            detail = f": {candidate.detail}" if candidate.detail else ""
            lines.append(f"    {number}. {candidate.name}{detail}")
            lines.append(f"       {evidence_text(erratum, candidate)}")
        for candidate in erratum.dropped:
            detail = f": {candidate.detail}" if candidate.detail else ""
            lines.append(f"    not offered, no better than chance: {candidate.name}{detail}")
            lines.append(f"       {evidence_text(erratum, candidate)}")
        if claim.diagnosis:
            state = "reproduced" if erratum.accepted_reproduced else "NOT reproduced"
            lines.append(f"    accepted diagnosis: {claim.diagnosis} ({state})")
    if isinstance(found, FixtureErrata):
        lines += [f"  note: {note}" for note in found.notes]
    return lines
