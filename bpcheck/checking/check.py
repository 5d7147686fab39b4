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

from bpcheck.checking.enclosures import from_plain, midpoints, plain_enclosures
from bpcheck.checking.external import ExternalEngine
from bpcheck.checking.isolation import EngineFailed, IsolatedEngine
from bpcheck.checking.traces import BadTrace, checked_trace
from bpcheck.model import verdicts
from bpcheck.model.engine import CannotRun, Enclosures, Engine, encloses, required_capabilities
from bpcheck.model.fixture import Claim, Fixture, Operand
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace, split_sample


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
"""Absolute floor near zero, where a relative difference means nothing."""


@dataclass
class EngineRun:
    """What one engine did with one fixture."""

    engine: str
    outcome: Outcome
    trace: Trace = field(default_factory=dict)
    reason: str | None = None
    enclosures: Enclosures | None = None
    """Certified bounds of the trace's values, from an engine that gives them."""


def run_engine(engine: Engine, fixture: Fixture, name: str | None = None) -> EngineRun:
    """Run one engine on a fixture, recording the steps its claims refer to."""
    return run_problem(engine, fixture.problem, fixture.recorded_steps(), name)


def run_problem(
    engine: Engine, problem: Problem, record: Collection[int], name: str | None = None
) -> EngineRun:
    """Run one engine and check its trace, turning every failure into an outcome, never raising.

    ``name`` is the name the results are filed under (the registered name; the
    engine's own ``name`` when not given).  The engine trains only as far as the
    last step recorded (:func:`trained_as_far_as`).  Every call into the engine is
    guarded: an exception, ``SystemExit`` included, is the engine's ``errored``
    outcome, and so is a trace of the wrong shape (:func:`checked_trace`).
    """
    label = name if name is not None else _own_name(engine)
    problem = trained_as_far_as(problem, record)
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
        if encloses(engine):
            enclosed = certified_values(engine, problem, record)
            return EngineRun(label, OK, trace=midpoints(enclosed), enclosures=enclosed)
        trace = checked_trace(engine.run(problem, record), problem, record)
    except CannotRun as error:
        return EngineRun(label, SKIPPED, reason=str(error))
    except EngineFailed as error:
        return EngineRun(label, ERRORED, reason=str(error))
    except BadTrace as error:
        return EngineRun(label, ERRORED, reason=f"bad trace: {error}")
    except (Exception, SystemExit) as error:  # an engine's bug is a result, not a crash
        return EngineRun(label, ERRORED, reason=f"{type(error).__name__}: {error}")
    return EngineRun(label, OK, trace=trace)


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


def judge_with(claim: Claim, trace: Trace) -> tuple[float | None, str | None, str]:
    """(value, verdict, problem) for one engine's trace; problem is "" when all is well.

    The verdict is ``match``/``truncated``/``mismatch`` for a printed number,
    ``holds``/``fails`` for a relation, and ``pinned``/``moved`` for a pin alone.
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
    return value, verdicts.verdict(value, claim.printed), problem


def judge(claim: Claim, runs: list[EngineRun]) -> ClaimResult:
    values: dict[str, float | None] = {}
    found: dict[str, str | None] = {}
    outcomes: dict[str, Outcome] = {}
    messages: list[str] = []
    expected = claim.expect or "pinned"
    for run in runs:
        if run.outcome != OK:
            values[run.engine], found[run.engine], outcomes[run.engine] = None, None, run.outcome
            continue
        value, verdict, problem = judge_with(claim, run.trace)
        values[run.engine], found[run.engine] = value, verdict
        if verdict is None or problem:
            outcomes[run.engine] = FAILED if verdict is not None else ERRORED
            messages.append(f"{run.engine}: {problem}")
        elif verdict != expected:
            outcomes[run.engine] = FAILED
            messages.append(f"{run.engine}: {describe(claim, value)}, expected {expected}")
        else:
            outcomes[run.engine] = OK
    reference_engine = next((r.engine for r in runs if values.get(r.engine) is not None), None)
    reference = values[reference_engine] if reference_engine else None
    verdict = found[reference_engine] if reference_engine else None
    if reference_engine and not messages:
        messages.append(describe(claim, reference))
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


def describe(claim: Claim, value: float | None) -> str:
    """``w5 = 0.35891647971788465, printed 0.35891648: match`` (full precision for machines)."""
    if value is None:
        return f"{claim.quantity or claim.id}: no value"
    if claim.relation is not None:
        rel = claim.relation
        return f"{rel.left.quantity}@{rel.left.step} {rel.op} {rel.right.quantity}@{rel.right.step}"
    text = f"{claim.quantity} = {value:.17g}"
    if claim.printed is not None:
        text += f", printed {claim.printed}: {verdicts.verdict(value, claim.printed)}"
    if claim.pinned is not None:
        text += f", pinned {claim.pinned}"
    return text


# --- agreement between engines ----------------------------------------------------


def agreement_tolerance(step: int) -> float:
    """1e-12 for the first step, growing with the step count, capped at 1e-9."""
    return min(AGREEMENT_REL_LONG, AGREEMENT_REL * max(1, step))


@dataclass(frozen=True)
class Disagreement:
    step: int
    quantity: str
    values: dict[str, float]
    difference: float
    tolerance: float


def disagreements(runs: list[EngineRun]) -> list[Disagreement]:
    """Every quantity where two engines that ran differ beyond the agreement tolerance."""
    ran = [r for r in runs if r.outcome == OK]
    if len(ran) < 2:
        return []
    found: list[Disagreement] = []
    reference = ran[0]
    for step, values in sorted(reference.trace.items()):
        tol = agreement_tolerance(step)
        for name in sorted(values, key=_name_order):
            row = {r.engine: r.trace.get(step, {}).get(name, math.nan) for r in ran}
            if not agree(list(row.values()), tol):
                found.append(Disagreement(step, name, row, _spread(row.values()), tol))
        for other in ran[1:]:
            for name in sorted(set(other.trace.get(step, {})) - set(values)):
                row = {other.engine: other.trace[step][name]}
                found.append(Disagreement(step, name, row, math.nan, tol))
    return found


def agree(values: list[float], tolerance: float) -> bool:
    """Whether the engines' values of one quantity agree (docs/engines.md, "NaN and infinity").

    NaN agrees only with NaN, and an infinity only with the same infinity, so an
    engine that diverges where the others do not is a disagreement whatever the
    order of the engines; finite values agree within ``tolerance`` (relative) or
    :data:`AGREEMENT_ABS`.
    """
    nans = sum(math.isnan(v) for v in values)
    if nans:
        return nans == len(values)
    if any(math.isinf(v) for v in values):
        return all(v == values[0] for v in values)
    spread = max(values) - min(values)
    return spread <= max(tolerance * max(abs(v) for v in values), AGREEMENT_ABS)


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
