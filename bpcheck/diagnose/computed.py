"""The ways of computing a fixture that diagnose compares with the document, within a budget.

Everything here is independent of the printed strings: the reference trace and
its computation graph, each variant of the catalogue (readings, bugs, hand
computation) computed by the loops engine, and each formula slip recomputed over
the graph.  Each is kept as the values it gives the printed quantities, so that
judging a document (:mod:`.diagnosis`) is cheap and a benchmark can judge many
perturbed copies of one fixture against one preparation.

Speed (the everyday loop must not wait for it):

* a variant is computed only if it can reach one of the wrong numbers (a
  learning-rate reading cannot change a step-0 forward value);
* every variant is first computed up to :data:`CHEAP_STEPS` only, which costs
  nothing; the long runs (Mazur's 10,000 steps) follow, most promising first
  (explains most of the cheap wrong numbers, single readings before pairs), while
  the fixture's time budget lasts, and the note says how many were left out;
* variants run in this process (no worker to start), and the slips share the one
  traced forward and backward pass, recomputing only what each slip changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from bpcheck.checking import registry
from bpcheck.checking.check import OK, run_problem, trained_as_far_as
from bpcheck.defaults import DEFAULT_BUDGET
from bpcheck.diagnose.graph import Graph, Key, build_graph
from bpcheck.diagnose.slips import SlipSearch
from bpcheck.diagnose.variants import BY_NAME, CATALOGUE, HAND_STEPS, STAGES, Variant, VariantEngine
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace, split_sample
from bpcheck.model.verdicts import is_match

CHEAP_STEPS = HAND_STEPS
"""Steps every variant is computed to, whatever the budget."""

PAIR_LEADERS = ("sequential-order", "simultaneous-order", "biases-trained", "biases-frozen")
"""Readings tried in combination with every other computing variant."""

SHIFTED = tuple(v for v in CATALOGUE if v.step_shift)
"""Printing slips that read a claim at another step (the step before, say)."""


@dataclass(frozen=True)
class Limits:
    """How many long runs a fixture gets: while ``seconds`` last, at most ``runs`` of them."""

    seconds: float
    runs: int | None = None


@dataclass(frozen=True)
class Computed:
    """One way of computing the fixture, and the values it gives the printed quantities."""

    variants: tuple[str, ...]
    values: dict[Key, float]
    detail: str = ""
    """For a formula slip: the slip, as a reader writes it."""
    family: str = "catalogue"
    """What its chance of a lucky hit is estimated against: ``catalogue``, ``formula-slip``
    (single slips) or ``slip-pair``."""


@dataclass
class Prepared:
    """A fixture's reference values, graph and every other way of computing it."""

    graph: Graph
    catalogue: list[Computed]
    slips: list[Computed]
    notes: list[str] = field(default_factory=list)
    """Why the search stopped short (time budget, slip limit), for the reader."""


def printed_claims(fixture: Fixture) -> list[Claim]:
    return [c for c in fixture.claims if c.printed is not None and c.relation is None]


def key_of(claim: Claim) -> Key:
    return claim.step, claim.canonical


def record_steps(fixture: Fixture) -> set[int]:
    """The claims' steps, the steps the shifted readings look at, and the step before each
    (so that the graph can recompute an update)."""
    steps = {c.step for c in printed_claims(fixture)}
    before = {s - 1 for s in steps} | {s + v.step_shift for s in steps for v in SHIFTED}
    return steps | {s for s in before if 0 <= s <= fixture.problem.steps}


def stage_of(claim: Claim) -> int:
    """The stage (index in :data:`STAGES`) that computes the claim: a variant reaches it if
    it changes that stage or an earlier one.  -1: no variant changes it (a parameter before
    any update).  Every dE/dout is put in the backward pass (the output layer's is in the
    loss stage: computing a backward variant for it costs time, never a cause)."""
    if claim.step > 0:
        return STAGES.index("update")
    base, _ = split_sample(claim.canonical)
    kind = base.split("[", 1)[0]
    if kind in ("w", "b"):
        return -1
    if kind in ("net", "out", "dout_dnet"):
        return STAGES.index("forward")
    if kind == "E":
        return STAGES.index("loss")
    return STAGES.index("backward")


def reaches(variant: Variant, claims: Collection[Claim]) -> bool:
    return any(STAGES.index(variant.reaches) <= stage_of(c) for c in claims)


def computing_combinations(
    problem: Problem, errata: Collection[Claim]
) -> list[tuple[Variant, ...]]:
    """Each computing variant that can reach a wrong number, and each pair led by an order or
    bias reading that can reach one too (else the pair says what its second variant says)."""
    singles = [v for v in CATALOGUE if v.computes and v.applies(problem) and reaches(v, errata)]
    every = [v for v in CATALOGUE if v.computes and v.applies(problem)]
    combos: list[tuple[Variant, ...]] = [(v,) for v in singles]
    for leader in (BY_NAME[n] for n in PAIR_LEADERS):
        if not leader.applies(problem) or not reaches(leader, errata):
            continue
        changed = leader.transform(problem) if leader.transform else problem
        for other in every:
            if other.name in PAIR_LEADERS or changed is None or not other.applies(changed):
                continue
            combos.append((leader, other))
    return combos


def not_fitting(problem: Problem, errata: Collection[Claim]) -> list[str]:
    """One note per reason the problem's features rule variants out, naming them."""
    skipped: dict[str, list[str]] = {}
    for variant in CATALOGUE:
        why = variant.why_not(problem)
        if why is not None and reaches(variant, errata):
            skipped.setdefault(why, []).append(variant.name)
    return [f"not tried: {', '.join(names)} ({why})" for why, names in skipped.items()]


def compute(variants: tuple[Variant, ...], problem: Problem, record: set[int]) -> Trace | None:
    """The trace under the variants (loops engine, in this process), or None if they cannot."""
    for variant in variants:
        if variant.transform is not None:
            changed = variant.transform(problem)
            if changed is None:
                return None
            problem = changed
    planted = tuple(v for v in variants if v.planted is not None)
    run = run_problem(VariantEngine(planted), problem, record)  # readings applied above, once
    return run.trace if run.outcome == OK else None


def at_keys(trace: Trace, keys: Collection[Key], shift: int = 0) -> dict[Key, float]:
    found = {}
    for step, name in keys:
        value = trace.get(step + shift, {}).get(name)
        if value is not None:
            found[(step, name)] = value
    return found


def prepare(
    fixture: Fixture,
    budget: float = DEFAULT_BUDGET,
    every: bool = False,
    long_runs: int | None = None,
) -> Prepared | None:
    """The reference values and every variant and slip that can reach a wrong printed number
    (``every``: any printed number, for judging copies with other prints).  None when the
    reference engine cannot run the fixture.

    ``budget`` (seconds) and ``long_runs`` (a count, for output that must not depend on
    the machine's speed, such as generated documentation) bound the long runs."""
    claims = printed_claims(fixture)
    record = record_steps(fixture)
    baseline = run_problem(registry.reference_engine(), fixture.problem, record)
    if baseline.outcome != OK:
        return None
    graph = build_graph(trained_as_far_as(fixture.problem, record), baseline.trace)
    keys = {key_of(c) for c in claims if key_of(c) in graph.values}
    targets = [c for c in claims if key_of(c) in keys and (every or not _matches(c, graph))]
    prepared = Prepared(graph, [], [])
    if not targets:
        return prepared
    for variant in SHIFTED:
        shifted = at_keys(baseline.trace, keys, variant.step_shift)
        prepared.catalogue.append(Computed((variant.name,), shifted))
    combos = computing_combinations(fixture.problem, targets)

    def promise(values: dict[Key, float]) -> int:
        """Wrong numbers the variant turns into matches: who gets a long run first."""
        return sum(1 for c in targets if _matches(c, graph, values))

    prepared.notes += not_fitting(fixture.problem, targets)
    limits = Limits(budget, long_runs)
    prepared.catalogue += _catalogue(fixture, combos, record, keys, limits, promise, prepared.notes)
    wrong = {key_of(c) for c in targets}
    prepared.slips = _slips(graph, keys, wrong, limits, prepared.notes)
    return prepared


def _matches(claim: Claim, graph: Graph, values: dict[Key, float] | None = None) -> bool:
    value = (graph.values if values is None else values).get(key_of(claim))
    return value is not None and claim.printed is not None and is_match(value, claim.printed)


def _catalogue(
    fixture: Fixture,
    combos: list[tuple[Variant, ...]],
    record: set[int],
    keys: set[Key],
    limits: Limits,
    promise: Callable[[dict[Key, float]], int],
    notes: list[str],
) -> list[Computed]:
    """Every combination computed to :data:`CHEAP_STEPS`, then the long runs: first those a
    claim of the fixture accepts as its diagnosis (always: whether the fixture's accepted
    causes still hold must not depend on the machine's speed), then the most promising,
    while the budget lasts."""
    cheap = {s for s in record if s <= CHEAP_STEPS}
    names = {combo: tuple(v.name for v in combo) for combo in combos}
    found: dict[tuple[Variant, ...], Computed] = {}
    for combo in combos:
        trace = compute(combo, fixture.problem, cheap or {0})
        if trace is not None:
            found[combo] = Computed(names[combo], at_keys(trace, keys))
    if cheap == record:
        return list(found.values())
    accepted = {c.diagnosis for c in fixture.claims if c.diagnosis}
    position = {v.name: i for i, v in enumerate(CATALOGUE)}

    def order(combo: tuple[Variant, ...]) -> tuple[bool, int, int, list[int]]:
        hits = promise(found[combo].values)
        required = " + ".join(names[combo]) in accepted
        return (not required, -hits, len(combo), [position[v.name] for v in combo])

    waiting = sorted(found, key=order)
    deadline = time.perf_counter() + limits.seconds
    for done, combo in enumerate(waiting):
        left = f"{len(waiting) - done} of {len(waiting)} variant(s) not run to step {max(record)}"
        required = " + ".join(names[combo]) in accepted
        if not required and limits.runs is not None and done >= limits.runs:
            notes.append(f"{left} (only the {limits.runs} most promising are)")
            break
        if not required and time.perf_counter() > deadline:
            notes.append(
                f"time budget of {limits.seconds:g} s reached: {left} "
                "(--budget SECONDS to allow more)"
            )
            break
        trace = compute(combo, fixture.problem, record)
        if trace is not None:
            found[combo] = Computed(names[combo], at_keys(trace, keys))
    return list(found.values())


def _slips(
    graph: Graph, printed: set[Key], errata: set[Key], limits: Limits, notes: list[str]
) -> list[Computed]:
    """Every single formula slip below a wrong number (hand-sized steps), then the pairs of
    slips within each wrong number's formula and its operands', while the budget lasts (a
    budget of its own, the same as the long runs'; none when the limits count runs)."""
    search = SlipSearch(graph, printed, errata, HAND_STEPS)
    timed = limits.runs is None
    deadline = time.perf_counter() + limits.seconds
    found: list[Computed] = []
    for tried, slip in enumerate(search.slips()):
        if timed and tried % 256 == 0 and time.perf_counter() > deadline:
            notes.append(_out_of_time(limits, f"the slip search stopped after {tried} slips"))
            return found
        effect = search.effect((slip,))
        if effect is not None and effect.values.keys() & errata:
            found.append(Computed(("formula-slip",), effect.values, effect.text, "formula-slip"))
    if search.truncated:
        notes.append(f"the slip search stopped after {search.limit} slips")
    for wrong in sorted(errata):
        if timed and time.perf_counter() > deadline:
            notes.append(_out_of_time(limits, "pairs of slips not tried for every wrong number"))
            break
        for pair in search.local_pairs(wrong):
            effect = search.effect(pair)
            if effect is not None and wrong in effect.values:
                found.append(Computed(("formula-slip",), effect.values, effect.text, "slip-pair"))
    return found


def _out_of_time(limits: Limits, what: str) -> str:
    return f"time budget of {limits.seconds:g} s reached: {what} (--budget SECONDS to allow more)"
