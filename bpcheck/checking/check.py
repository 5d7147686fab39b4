"""Running engines on a fixture and judging every claim.

Outcomes are kept apart: a claim is ``ok`` (the verdict found is the one
expected), ``failed`` (it is not), ``errored`` (the engine raised) or
``skipped`` (the engine cannot do this problem, with its reason).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bpcheck.checking.derived import (
    MissingStep,
    derived_steps,
    enclosures_with_derived,
    record_of,
    with_derived,
)
from bpcheck.checking.enclosures import from_plain, midpoints, plain_enclosures
from bpcheck.checking.external import ExternalEngine
from bpcheck.checking.isolation import EngineFailed, IsolatedEngine
from bpcheck.checking.traces import BadTrace, checked_trace
from bpcheck.model import verdicts
from bpcheck.model.engine import CannotRun, Enclosures, Engine, encloses, required_capabilities
from bpcheck.model.fixture import Claim, Fixture, Operand
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import EXTENDED, Trace, is_extended, split_sample


class Outcome(StrEnum):
    """How a claim, an engine's run or a fixture ended; equal to its value (``OK == "ok"``)."""

    OK = "ok"
    FAILED = "failed"
    ERRORED = "errored"
    SKIPPED = "skipped"


OK, FAILED, ERRORED, SKIPPED = Outcome.OK, Outcome.FAILED, Outcome.ERRORED, Outcome.SKIPPED

AGREEMENT_REL = 1e-12
"""Engines must agree to this relative difference on first-step quantities ..."""
AGREEMENT_REL_LONG = 1e-9
"""... widening in proportion to the step, up to this after a thousand steps or more."""
AGREEMENT_ABS = 1e-15
"""Absolute floor near zero, where a relative difference means nothing.

These three are for float64; a float32 problem's are the same multiples of float32's
epsilon (:func:`precision_scale`: each 2^29 times larger), since every engine rounds
each operation to float32 and their differences grow in float32 ULPs."""

EPSILON = {"float64": 2.0**-52, "float32": 2.0**-23}
"""Machine epsilon of each precision a problem may ask for."""


@dataclass
class EngineRun:
    """What one engine did with one fixture."""

    engine: str
    outcome: Outcome
    trace: Trace = field(default_factory=dict)
    reason: str | None = None
    enclosures: Enclosures | None = None
    """Certified bounds of the trace's values, from an engine that gives them."""
    extended: bool = True
    """Whether the engine records the extended names (it declares ``quantity:extended``);
    a claim on one of them skips an engine that does not."""
    precision: str = "float64"
    """The problem's precision: the trace's values are of it."""


def run_engine(engine: Engine, fixture: Fixture, name: str | None = None) -> EngineRun:
    """Run one engine on a fixture, recording the steps its claims refer to (and, for a
    derived name such as ``E_change``, the steps it is derived from)."""
    return run_problem(engine, fixture.problem, record_of(fixture), name, derived_steps(fixture))


def run_problem(
    engine: Engine,
    problem: Problem,
    record: Collection[int],
    name: str | None = None,
    derive: Collection[int] = (),
) -> EngineRun:
    """Run one engine and check its trace, turning every failure into an outcome, never raising.

    ``name`` is the name the results are filed under (the registered name; the
    engine's own ``name`` when not given).  The engine trains only as far as the
    last step recorded (:func:`trained_as_far_as`).  Every call into the engine is
    guarded: an exception, ``SystemExit`` included, is the engine's ``errored``
    outcome, and so is a trace of the wrong shape (:func:`checked_trace`).  ``derive``:
    the steps at which ``E_change`` is added to the trace (:mod:`bpcheck.checking.derived`).
    """
    label = name if name is not None else _own_name(engine)
    problem = trained_as_far_as(problem, record)
    ran = _ran(engine, problem, record, label, derive)
    ran.precision = problem.precision
    return ran


def _ran(
    engine: Engine, problem: Problem, record: Collection[int], label: str, derive: Collection[int]
) -> EngineRun:
    try:
        failure = engine.failure() if isinstance(engine, IsolatedEngine | ExternalEngine) else None
        if failure is not None:
            return EngineRun(label, ERRORED, reason=failure)
        status = engine.available()
        if not status.available:
            return EngineRun(label, SKIPPED, reason=status.reason or "unavailable")
        missing = required_capabilities(problem) - frozenset(engine.capabilities)
        if missing:
            return EngineRun(label, SKIPPED, reason=f"cannot do {', '.join(sorted(missing))}")
        extended = EXTENDED in frozenset(engine.capabilities)
        if encloses(engine):
            enclosed = enclosures_with_derived(certified_values(engine, problem, record), derive)
            return EngineRun(label, OK, midpoints(enclosed), enclosures=enclosed, extended=extended)
        trace = checked_trace(engine.run(problem, record), problem, record, extended=extended)
        derived = with_derived(trace, derive, problem.precision)
        return EngineRun(label, OK, trace=derived, extended=extended)
    except CannotRun as error:
        return EngineRun(label, SKIPPED, reason=str(error))
    except EngineFailed as error:
        return EngineRun(label, ERRORED, reason=str(error))
    except BadTrace as error:
        return EngineRun(label, ERRORED, reason=f"bad trace: {error}")
    except MissingStep as error:
        return EngineRun(label, ERRORED, reason=str(error))
    except (Exception, SystemExit) as error:  # an engine's bug is a result, not a crash
        return EngineRun(label, ERRORED, reason=f"{type(error).__name__}: {error}")


def certified_values(engine: Engine, problem: Problem, record: Collection[int]) -> Enclosures:
    """The engine's enclosures (:class:`~bpcheck.model.engine.Enclosures`), checked."""
    enclose = getattr(engine, "enclose")  # noqa: B009 (an optional method of the contract)
    return from_plain(plain_enclosures(enclose(problem, record), problem, record))


def trained_as_far_as(problem: Problem, record: Collection[int]) -> Problem:
    """``problem`` trained only through the last step recorded: no claim needs the steps after.

    A fixture that claims only step 0 of a 10^12-step problem must run at once.
    The last recorded step itself is trained, not cut: with ``sequential`` updates the
    hidden deltas at a step are taken after that step has updated the layer above, so
    the values at step k depend on whether step k trains (not on what follows it).
    """
    if not record:
        return replace(problem, steps=0)
    return replace(problem, steps=min(problem.steps, max(record) + 1))


def _own_name(engine: Engine) -> str:
    try:
        return str(engine.name)
    except Exception:
        return "?"


def lookup(trace: Trace, canonical: str, step: int) -> float | None:
    value = trace.get(step, {}).get(canonical)
    return None if value is None else float(value)


@dataclass
class ClaimResult:
    """One claim judged against every engine."""

    claim: Claim
    values: dict[str, float | None]
    verdicts: dict[str, str | None]
    outcomes: dict[str, Outcome]
    reference: float | None
    verdict: str | None
    outcome: Outcome
    message: str
    ulps: dict[str, float] = field(default_factory=dict)
    """Each float engine's error in ULPs of the certified value, when one engine certified it."""
    decided_by: str | None = None
    """The engine whose certified interval decided ``verdict`` (None: each engine's float)."""


def relation_holds(claim: Claim, left: float, right: float) -> bool:
    relation = claim.relation
    assert relation is not None
    if relation.op == "<":
        return left < right
    if relation.op == ">":
        return left > right
    tol = relation.tolerance
    return math.isclose(left, right, rel_tol=tol, abs_tol=tol)


def pin_holds(claim: Claim, value: float) -> bool:
    assert claim.pinned is not None
    tol = claim.pin_tolerance
    return math.isclose(value, float(claim.pinned), rel_tol=tol, abs_tol=tol * 1e-3)


def _operand_value(trace: Trace, operand: Operand) -> float | None:
    return lookup(trace, operand.canonical, operand.step)


def judge_with(
    claim: Claim, trace: Trace, precision: str = "float64"
) -> tuple[float | None, str | None, str]:
    """(value, verdict, problem) for one engine's trace; problem is "" when all is well.

    The verdict is ``match``/``truncated``/``mismatch`` for a printed number (of a
    value of ``precision``: its ULPs are forgiven), ``holds``/``fails`` for a
    relation, and ``pinned``/``moved`` for a pin alone.
    """
    if claim.relation is not None:
        left = _operand_value(trace, claim.relation.left)
        right = _operand_value(trace, claim.relation.right)
        if left is None or right is None:
            return None, None, "a side of the relation is missing from the trace"
        found = "holds" if relation_holds(claim, left, right) else "fails"
        return left, found, ""
    value = lookup(trace, claim.canonical, claim.step)
    if value is None:
        return None, None, f"{claim.canonical} at step {claim.step} is missing from the trace"
    problem = ""
    if claim.pinned is not None and not pin_holds(claim, value):
        problem = f"pinned {claim.pinned}, found {value!r}: moved beyond {claim.pin_tolerance:g}"
    if claim.printed is None:
        return value, ("moved" if problem else "pinned"), problem
    return value, printed_verdict(value, claim.printed, precision), problem


def printed_verdict(value: float, printed: str, precision: str = "float64") -> str:
    """The verdict rule (:func:`bpcheck.model.verdicts.verdict`) for a value of ``precision``."""
    return verdicts.verdict(value, printed, precision)


def needs_extended(claim: Claim) -> bool:
    """Whether a claim reads a name only engines with ``quantity:extended`` record."""
    if claim.relation is not None:
        return is_extended(claim.relation.left.canonical) or is_extended(
            claim.relation.right.canonical
        )
    return bool(claim.canonical) and is_extended(claim.canonical)


def judge(claim: Claim, runs: list[EngineRun]) -> ClaimResult:
    """One claim judged on every engine's run.

    An engine that ran but does not record the claim's name (an extended name, and
    the engine lacks ``quantity:extended``) is ``skipped`` for this claim, with that
    reason; the others judge it.
    """
    values: dict[str, float | None] = {}
    found: dict[str, str | None] = {}
    outcomes: dict[str, Outcome] = {}
    messages: list[str] = []
    expected = claim.expect or "pinned"
    extended = needs_extended(claim)
    for run in runs:
        if run.outcome != OK or (extended and not run.extended):
            values[run.engine], found[run.engine] = None, None
            outcomes[run.engine] = run.outcome if run.outcome != OK else SKIPPED
            if run.outcome == OK:
                messages.append(f"{run.engine}: skipped: cannot do {EXTENDED}")
            continue
        value, verdict, problem = judge_with(claim, run.trace, run.precision)
        values[run.engine], found[run.engine] = value, verdict
        if verdict is None or problem:
            outcomes[run.engine] = FAILED if verdict is not None else ERRORED
            messages.append(f"{run.engine}: {problem}")
        elif verdict != expected:
            outcomes[run.engine] = FAILED
            described = describe(claim, value, run.precision)
            messages.append(f"{run.engine}: {described}, expected {expected}")
        else:
            outcomes[run.engine] = OK
    reference_engine = next((r.engine for r in runs if values.get(r.engine) is not None), None)
    reference = values[reference_engine] if reference_engine else None
    verdict = found[reference_engine] if reference_engine else None
    if reference_engine and all(o in (OK, SKIPPED) for o in outcomes.values()):
        precision = next(r.precision for r in runs if r.engine == reference_engine)
        messages = [describe(claim, reference, precision), *messages]
    return ClaimResult(
        claim=claim,
        values=values,
        verdicts=found,
        outcomes=outcomes,
        reference=reference,
        verdict=verdict,
        outcome=overall(list(outcomes.values())),
        message="; ".join(messages),
    )


def overall(outcomes: list[Outcome]) -> Outcome:
    """Worst first: a failure anywhere fails; all skipped is skipped; otherwise ok."""
    for outcome in (FAILED, ERRORED):
        if outcome in outcomes:
            return outcome
    if outcomes and all(o == SKIPPED for o in outcomes):
        return SKIPPED
    return OK


def describe(claim: Claim, value: float | None, precision: str = "float64") -> str:
    """``w5 = 0.35891647971788465, printed 0.35891648: match`` (full precision for machines)."""
    if value is None:
        return f"{claim.quantity or claim.id}: no value"
    if claim.relation is not None:
        rel = claim.relation
        return f"{rel.left.quantity}@{rel.left.step} {rel.op} {rel.right.quantity}@{rel.right.step}"
    text = f"{claim.quantity} = {value:.17g}"
    if claim.printed is not None:
        text += f", printed {claim.printed}: {printed_verdict(value, claim.printed, precision)}"
    if claim.pinned is not None:
        text += f", pinned {claim.pinned}"
    return text


# --- agreement between engines ----------------------------------------------------


def precision_scale(precision: str) -> float:
    """How many float64 epsilons one epsilon of ``precision`` is (2^29 for float32)."""
    return EPSILON[precision] / EPSILON["float64"]


def agreement_tolerance(step: int, precision: str = "float64") -> float:
    """1e-12 for the first step, growing with the step count, capped at 1e-9 (float64); the
    same multiples of float32's epsilon for a float32 problem."""
    return min(AGREEMENT_REL_LONG, AGREEMENT_REL * max(1, step)) * precision_scale(precision)


def agreement_floor(precision: str = "float64") -> float:
    """:data:`AGREEMENT_ABS`, in the epsilons of ``precision``."""
    return AGREEMENT_ABS * precision_scale(precision)


@dataclass(frozen=True)
class Disagreement:
    step: int
    quantity: str
    values: dict[str, float]
    difference: float
    tolerance: float


def disagreements(runs: list[EngineRun]) -> list[Disagreement]:
    """Every quantity where two engines that ran differ beyond the agreement tolerance.

    A name an engine should have returned and did not is a disagreement (NaN in its
    place); an extended name is compared only between the engines that record it.
    """
    ran = [r for r in runs if r.outcome == OK]
    if len(ran) < 2:
        return []
    precision = ran[0].precision
    floor = agreement_floor(precision)
    every_extended = all(r.extended for r in ran)
    found: list[Disagreement] = []
    for step in sorted({step for run in ran for step in run.trace}):
        tol = agreement_tolerance(step, precision)
        names = {name for run in ran for name in run.trace.get(step, {})}
        for name in names:
            row = _row(ran, step, name, every_extended)
            if len(row) > 1 and not agree(list(row.values()), tol, floor):
                found.append(Disagreement(step, name, row, _spread(row.values()), tol))
    return sorted(found, key=lambda d: (d.step, _name_order(d.quantity)))


def _row(ran: list[EngineRun], step: int, name: str, every_extended: bool) -> dict[str, float]:
    """Each engine's value of ``name``: NaN for one that owes it; absent for one that need not
    record it (an extended name, an engine without ``quantity:extended``)."""
    extended = not every_extended and is_extended(name)
    return {
        r.engine: r.trace.get(step, {}).get(name, math.nan)
        for r in ran
        if r.extended or not extended
    }


def agree(values: list[float], tolerance: float, floor: float = AGREEMENT_ABS) -> bool:
    """Whether the engines' values of one quantity agree (docs/engines.md, "NaN and infinity").

    NaN agrees only with NaN, and an infinity only with the same infinity, so an
    engine that diverges where the others do not is a disagreement whatever the
    order of the engines; finite values agree within ``tolerance`` (relative) or
    ``floor`` (absolute: :data:`AGREEMENT_ABS` for float64, :func:`agreement_floor`).
    """
    if all(map(math.isfinite, values)):  # nearly always: no NaN or infinity to weigh
        return max(values) - min(values) <= max(tolerance * max(map(abs, values)), floor)
    nans = sum(math.isnan(v) for v in values)
    if nans:
        return nans == len(values)
    if any(math.isinf(v) for v in values):
        return all(v == values[0] for v in values)
    spread = max(values) - min(values)
    return spread <= max(tolerance * max(abs(v) for v in values), floor)


def _spread(values: Iterable[float]) -> float:
    """The largest difference (NaN when a value is NaN or the values are opposite infinities)."""
    found = list(values)
    if any(math.isnan(v) for v in found):
        return math.nan
    return max(found) - min(found)


def _name_order(name: str) -> tuple[str, int]:
    base, sample = split_sample(name)
    return base, sample or 0


# --- a whole fixture ------------------------------------------------------------------


@dataclass
class FixtureResult:
    fixture: Fixture
    runs: list[EngineRun]
    claims: list[ClaimResult]
    disagreements: list[Disagreement]

    @property
    def outcome(self) -> Outcome:
        if self.disagreements:
            return FAILED
        return overall([c.outcome for c in self.claims] + [r.outcome for r in self.runs])


def check_fixture(fixture: Fixture, engines: dict[str, Engine]) -> FixtureResult:
    """Every engine on the fixture, filed under its key in ``engines``; every claim judged."""
    for engine in engines.values():
        if isinstance(engine, IsolatedEngine):
            engine.warm()  # the workers load side by side while the first engine runs
    runs = [run_engine(engine, fixture, name) for name, engine in engines.items()]
    return judge_fixture(fixture, runs)


def judge_fixture(fixture: Fixture, runs: list[EngineRun]) -> FixtureResult:
    """Every claim judged on the runs: on the certified values when an engine gave them."""
    from bpcheck.checking import certified  # it builds on this module's results

    claims = [certified.judged(judge(claim, runs), runs) for claim in fixture.claims]
    found = certified.disagreements(runs)
    return FixtureResult(fixture, runs, claims, disagreements(runs) if found is None else found)
