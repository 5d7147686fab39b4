"""``bpcheck diagnose``: which reading or bug reproduces each printed number that is wrong.

For every claim whose verdict is ``mismatch`` or ``truncated``, each variant of
the catalogue (and small combinations: an update-order or bias reading with any
other variant) is computed, and the variants that make the claim a ``match``
are listed, ranked by how many of the fixture's other printed numbers the same
variant also turns into matches, minus how many matches it breaks.  A reading
that explains one number and breaks ten others ranks low.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bpcheck.checking import registry
from bpcheck.checking.check import OK, run_problem
from bpcheck.diagnose.variants import BY_NAME, CATALOGUE, Variant, VariantEngine, typo_of
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from bpcheck.model.verdicts import MATCH, TRUNCATED, Verdict, verdict

PAIR_LEADERS = ("sequential-order", "simultaneous-order", "biases-trained", "biases-frozen")
"""Readings tried in combination with every other computing variant."""


@dataclass
class Candidate:
    """A variant or combination, with what it does to the fixture's printed numbers."""

    variants: tuple[str, ...]
    verdicts: dict[str, Verdict]
    gained: int = 0
    broken: int = 0

    @property
    def name(self) -> str:
        return " + ".join(self.variants)

    @property
    def score(self) -> int:
        return self.gained - self.broken


@dataclass
class Erratum:
    claim: Claim
    value: float
    verdict: Verdict
    explanations: list[Candidate] = field(default_factory=list)

    @property
    def accepted_reproduced(self) -> bool | None:
        """Whether the fixture's recorded diagnosis is among the explanations (None: none)."""
        if not self.claim.diagnosis:
            return None
        return any(c.name == self.claim.diagnosis for c in self.explanations)


def printed_claims(fixture: Fixture) -> list[Claim]:
    return [c for c in fixture.claims if c.printed is not None and c.relation is None]


def claim_verdicts(fixture: Fixture, trace: Trace, shift: int) -> dict[str, Verdict]:
    """Each printed claim's verdict under a trace; a claim read ``shift`` steps away."""
    found = {}
    for claim in printed_claims(fixture):
        value = trace.get(claim.step + shift, {}).get(claim.canonical)
        if value is not None and claim.printed is not None:
            found[claim.id] = verdict(value, claim.printed)
    return found


SHIFTED = tuple(v for v in CATALOGUE if v.step_shift)
"""Printing slips that read a claim at another step (the step before, say)."""


def record_steps(fixture: Fixture) -> set[int]:
    """The claims' steps, and the steps the shifted readings look at."""
    steps = {c.step for c in printed_claims(fixture)}
    shifted = {s + v.step_shift for s in steps for v in SHIFTED}
    return steps | {s for s in shifted if 0 <= s <= fixture.problem.steps}


def computing_combinations(problem: Problem) -> list[tuple[Variant, ...]]:
    """Every computing variant alone, and each pair led by an order or bias reading."""
    singles = [v for v in CATALOGUE if v.computes and v.applies(problem)]
    combos: list[tuple[Variant, ...]] = [(v,) for v in singles]
    for leader in (BY_NAME[n] for n in PAIR_LEADERS):
        if not leader.applies(problem):
            continue
        changed = leader.transform(problem) if leader.transform else problem
        for other in singles:
            if other.name in PAIR_LEADERS or changed is None or not other.applies(changed):
                continue
            combos.append((leader, other))
    return combos


def compute(
    variants: tuple[Variant, ...], problem: Problem, record: set[int], fast: Engine
) -> Trace | None:
    """The trace under the variants, or None if they cannot be computed for this problem."""
    for variant in variants:
        if variant.transform is not None:
            changed = variant.transform(problem)
            if changed is None:
                return None
            problem = changed
    planted = tuple(v for v in variants if v.planted is not None)
    engine: Engine = VariantEngine(planted) if planted else fast
    run = run_problem(engine, problem, record)  # the readings are applied above, once
    return run.trace if run.outcome == OK else None


def fast_engine() -> Engine:
    """The quickest engine for plain readings: NumPy (JAX would compile every new shape)."""
    engines = registry.all_engines()
    for name in ("matrices", "loops"):
        if name in engines and engines[name].available().available:
            return engines[name]
    return next(iter(engines.values()))


def diagnose_fixture(fixture: Fixture, fast: Engine | None = None) -> list[Erratum]:
    fast = fast or fast_engine()
    record = record_steps(fixture)
    baseline_run = run_problem(registry.reference_engine(), fixture.problem, record)
    if baseline_run.outcome != OK:
        return []
    baseline = claim_verdicts(fixture, baseline_run.trace, 0)
    errata = [
        Erratum(c, baseline_run.trace[c.step][c.canonical], baseline[c.id])
        for c in printed_claims(fixture)
        if baseline.get(c.id) not in (None, MATCH)
    ]
    if not errata:
        return []
    candidates = [
        Candidate((v.name,), claim_verdicts(fixture, baseline_run.trace, v.step_shift))
        for v in SHIFTED
    ]
    for combo in computing_combinations(fixture.problem):
        trace = compute(combo, fixture.problem, record, fast)
        if trace is None:
            continue
        names = tuple(v.name for v in combo)
        candidates.append(Candidate(names, claim_verdicts(fixture, trace, 0)))
    for candidate in candidates:
        score(candidate, baseline)
    for erratum in errata:
        erratum.explanations = explanations(erratum, candidates)
    return errata


def score(candidate: Candidate, baseline: dict[str, Verdict]) -> None:
    for claim_id, before in baseline.items():
        after = candidate.verdicts.get(claim_id)
        if before != MATCH and after == MATCH:
            candidate.gained += 1
        elif before == MATCH and after != MATCH:
            candidate.broken += 1


def explanations(erratum: Erratum, candidates: list[Candidate]) -> list[Candidate]:
    claim = erratum.claim
    assert claim.printed is not None
    found = [c for c in candidates if c.verdicts.get(claim.id) == MATCH]
    if erratum.verdict == TRUNCATED:
        found.append(Candidate(("cut-when-printed",), {claim.id: MATCH}, gained=1))
    for name, swaps in (("typo-one-digit", False), ("typo-swapped-digits", True)):
        if typo_of(erratum.value, claim.printed, swaps):
            found.append(Candidate((name,), {claim.id: MATCH}, gained=1))
    return sorted(found, key=rank)


TIE_ORDER = {"cut-when-printed": 0, "typo-one-digit": 2, "typo-swapped-digits": 2}
"""Among equal scores: the verdict's own reading first, computed readings next, typos last."""


def rank(candidate: Candidate) -> tuple[int, int, int, list[int]]:
    order = {v.name: i for i, v in enumerate(CATALOGUE)}
    tie = max(TIE_ORDER.get(name, 1) for name in candidate.variants)
    positions = [order[name] for name in candidate.variants]
    return (-candidate.score, len(candidate.variants), tie, positions)


# --- output ------------------------------------------------------------------------------------


def describe(fixture: Fixture, errata: list[Erratum], top: int) -> list[str]:
    lines = [f"{fixture.id} ({fixture.path}): {len(errata)} printed number(s) not a match"]
    for erratum in errata:
        claim = erratum.claim
        lines.append(
            f"  {claim.id}: {claim.quantity} at step {claim.step} printed {claim.printed}, "
            f"computed {erratum.value:.10g} ({erratum.verdict})"
        )
        if not erratum.explanations:
            lines.append("    nothing in the catalogue reproduces it")
        for number, candidate in enumerate(erratum.explanations[:top], start=1):
            lines.append(
                f"    {number}. {candidate.name}: also turns {candidate.gained - 1} other "
                f"number(s) into matches, breaks {candidate.broken}"
            )
        if claim.diagnosis:
            state = "reproduced" if erratum.accepted_reproduced else "NOT reproduced"
            lines.append(f"    accepted diagnosis: {claim.diagnosis} ({state})")
    return lines
