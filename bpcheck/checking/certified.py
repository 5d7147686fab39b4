"""Judging on certified values: verdicts on an enclosure, the float engines' errors in ULPs.

When an engine certifies its values (:class:`~bpcheck.model.engine.Enclosures`,
the ``certified`` engine), bpcheck knows an interval that contains each true value,
not only what float64 made of it.  Then:

* a claim's verdict is decided on the interval (:func:`verdict_on`): ``match`` only
  when every point of it lies within the printed number's half unit, ``truncated``
  only when every point cuts to the printed number (and none matches), ``mismatch``
  when no point does either, and ``undecided`` when it straddles a boundary.  No
  slack of ULPs: the interval is exact where a float is not;
* each float engine is judged against the certified value instead of against the
  printed number: its error in ULPs of the true value (:func:`ulps_off`) must lie
  within its tolerance (:func:`tolerance`), derived from the measured error float64
  rounding can make in that quantity (the 53-bit ball run), not a fixed 1e-12;
* agreement between engines is each float engine's agreement with the certified
  values (:func:`disagreements`).

docs/verdicts.md, "Certified values", states the rule for people.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from itertools import pairwise

from bpcheck.checking.check import (
    FAILED,
    OK,
    ClaimResult,
    Disagreement,
    EngineRun,
    Outcome,
    judge,
    overall,
    pin_holds,
)
from bpcheck.checking.check import disagreements as check_disagreements
from bpcheck.checking.enclosures import midpoint
from bpcheck.model import verdicts
from bpcheck.model.decimals import at_places
from bpcheck.model.engine import Enclosures
from bpcheck.model.fixture import Claim
from bpcheck.model.quantities import is_extended
from bpcheck.model.verdicts import MATCH, MISMATCH, TRUNCATED, UNDECIDED, Verdict

FLOAT64_SAFETY = 8.0
"""The 53-bit radius bounds one formulation's rounding with correctly rounded functions
(about one ULP per function); the float engines call libraries that are not: XLA's tanh
on the CPU is off by up to 6.5 ULPs (libm's by about 1), and near saturation ``1 - tanh²``
carries that error up by the cancellation, 2.4 times the radius on a problem Hypothesis
found (tests/checking/test_certified_property.py).  8 covers the worst library function
measured (tests/checking/test_float_functions.py) and still hides nothing: the saturated
sigmoid's 10^6 ULPs are inside its radius, a wrong formula is outside by far."""
FLUSHED = 2.0**-1000
"""Below this (9.3e-302), a float engine's exact 0 agrees with any certified value.  XLA
on the CPU flushes subnormals to zero (``jnp.exp(-710.0)`` is 0, not 4.5e-309), and the
backward pass carries the lost value on: multiplied by a weight of -355, a flushed
4.5e-309 is a lost 7.9e-307 (tests/regressions/loops-sigmoid-overflow.json).  2^22 above
the smallest normal float64 leaves room for that amplification and hides nothing a
person prints."""
FLOOR_ULPS = 8
"""A tolerance of at least this many ULPs of the true value: a 53-bit run that happens to
be exact (an identity network on dyadic numbers) must not demand exactness of an engine."""
PRECISION = 200
"""Decimal digits for the interval arithmetic: the bounds carry about 55."""


@dataclass(frozen=True)
class Interval:
    """Exact decimal bounds of a true value."""

    low: Decimal
    high: Decimal

    # Computed once per interval (cached_property): a fixture's check asks each of them
    # of every quantity for every float engine, millions of decimal divisions in a corpus.

    @functools.cached_property
    def mid(self) -> Decimal:
        """The middle (an infinity when one bound is; NaN when both are)."""
        return midpoint(str(self.low), str(self.high))

    @functools.cached_property
    def radius(self) -> Decimal:
        with localcontext() as context:
            context.prec = PRECISION
            return (self.high - self.low) / 2

    @functools.cached_property
    def nearest(self) -> float:
        """The float64 nearest the midpoint (``inf`` beyond float64's range)."""
        return float(self.mid)


def certified_run(runs: list[EngineRun]) -> EngineRun | None:
    """The first run that certified its values, or None."""
    return next((r for r in runs if r.outcome == OK and r.enclosures is not None), None)


def interval(enclosures: Enclosures, name: str, step: int) -> Interval | None:
    found = enclosures.bounds.get(step, {}).get(name)
    return None if found is None else Interval(Decimal(found[0]), Decimal(found[1]))


# --- the verdict on an interval ------------------------------------------------------


def point_verdict(value: Decimal, printed: str) -> Verdict:
    """The verdict rule on an exact value: no ULPs forgiven, nothing to forgive."""
    if not value.is_finite():
        return MISMATCH
    with localcontext() as context:
        context.prec = verdicts.PRECISION
        if abs(value - verdicts.printed_value(printed)) <= verdicts.half_unit(printed):
            return MATCH
        if at_places(value, verdicts.decimals(printed), "cut") == verdicts.printed_value(printed):
            return TRUNCATED
        return MISMATCH


def boundaries(printed: str) -> list[Decimal]:
    """Where the verdict can change: the ends of the half unit, and of the truncation unit."""
    target = verdicts.printed_value(printed)
    half = verdicts.half_unit(printed)
    unit = 2 * half
    with localcontext() as context:
        context.prec = verdicts.PRECISION
        found = [target - half, target + half, target]
        found.append(target + unit if target > 0 else target - unit)
        if target == 0:
            found.extend([-unit, unit])
        return found


def verdict_on(found: Interval, printed: str) -> Verdict:
    """``match``/``truncated``/``mismatch`` when every point of the interval gets it, else
    ``undecided``.

    The verdict is constant between consecutive :func:`boundaries`, so the ends, every
    boundary inside and a point between each two of them visit every region it meets.
    """
    inside = _inside(found, printed)
    points = [found.low, *inside, found.high]
    with localcontext() as context:
        context.prec = PRECISION
        gaps = [(a + b) / 2 for a, b in pairwise(points)]
    found_verdicts = {point_verdict(p, printed) for p in points + gaps}
    return found_verdicts.pop() if len(found_verdicts) == 1 else UNDECIDED


def _inside(found: Interval, printed: str) -> list[Decimal]:
    return sorted(b for b in set(boundaries(printed)) if found.low <= b <= found.high)


def digits_to_decide(found: Interval, printed: str) -> int | None:
    """Significant digits the interval needs to keep clear of the boundaries inside it.

    None when a boundary is the midpoint itself: the true value may lie exactly on it
    (0.15 printed as 0.2), and no precision decides that.
    """
    mid = found.mid
    with localcontext() as context:
        context.prec = PRECISION
        gap = min((abs(mid - b) for b in _inside(found, printed)), default=found.radius)
        if gap == 0:
            return None
        scale = max(abs(mid), gap)
        return math.ceil(float((scale / gap).log10())) + 2


def undecided_note(found: Interval, printed: str) -> str:
    needed = digits_to_decide(found, printed)
    where = f"[{found.low:.6e}, {found.high:.6e}] straddles a boundary of {printed}"
    if needed is None:
        return f"{where}: the true value may lie exactly on it"
    return f"{where}: certify {needed} digits (BPCHECK_CERTIFIED_DIGITS={needed}) to decide"


def relation_on(claim: Claim, enclosures: Enclosures) -> str | None:
    """``holds``/``fails`` for ``<`` and ``>`` when the intervals decide it, else None."""
    relation = claim.relation
    assert relation is not None
    left = interval(enclosures, relation.left.canonical, relation.left.step)
    right = interval(enclosures, relation.right.canonical, relation.right.step)
    if left is None or right is None or relation.op not in "<>":
        return None
    if relation.op == ">":
        left, right = right, left
    if left.high < right.low:
        return "holds"
    if left.low >= right.high:
        return "fails"
    return UNDECIDED


# --- the float engines against it ---------------------------------------------------


def ulps_off(value: float, found: Interval) -> float:
    """The signed error of ``value`` in ULPs of the true value's float64 (0 where both are 0)."""
    true = found.nearest
    if math.isnan(value) or math.isnan(true):
        return math.nan
    if math.isinf(value) or math.isinf(true):
        return 0.0 if value == true else math.copysign(math.inf, value - true)
    if true == 0.0:
        return 0.0 if value == 0.0 and found.radius == 0 else math.copysign(math.inf, value)
    with localcontext() as context:
        context.prec = PRECISION
        return float((Decimal(value) - found.mid) / Decimal(math.ulp(true)))


def tolerance(found: Interval, float64_radius: float) -> float:
    """How far from the certified midpoint a float64 engine may be, absolutely.

    :data:`FLOAT64_SAFETY` times what float64 rounding can do to the quantity (the
    53-bit ball's radius), at least :data:`FLOOR_ULPS` ULPs of the true value, at least
    the smallest normal float64 (an engine may flush subnormals to zero), plus the
    certified radius itself.
    """
    true = found.nearest
    ulp = math.ulp(true) if math.isfinite(true) else math.inf
    derived = max(FLOAT64_SAFETY * float64_radius, FLOOR_ULPS * ulp, sys.float_info.min)
    return derived + float(found.radius)


def within(value: float, found: Interval, float64_radius: float) -> bool:
    """Whether a float engine's value agrees with the certified one (NaN only where float64
    cannot compute it).

    Where the certified value is unbounded both ways (beyond any exponent, sign unknown),
    only a float engine's infinity or NaN can agree with it.  Where the 53-bit radius is
    infinite, float64 itself cannot compute the value: the certified value constrains
    no float engine there (:func:`bpcheck.checking.check.disagreements` still compares
    them with each other).
    """
    true = found.nearest
    if math.isnan(true):
        return not math.isfinite(value)
    if math.isinf(float64_radius):
        # float64 rounding alone can move the value anywhere (an output rounded to exactly
        # 1 under bce's log(1 - o)): inf or NaN is what float64 gives, and the float
        # engines are compared with each other instead
        return True
    if math.isnan(value):
        return False
    if math.isinf(value) or math.isinf(true):
        return value == true
    if value == 0.0 and abs(true) < FLUSHED:
        return True
    with localcontext() as context:
        context.prec = PRECISION
        distance = abs(Decimal(value) - found.mid)
    return float(distance) <= tolerance(found, float64_radius)


def radius_53(enclosures: Enclosures, name: str, step: int) -> float:
    return enclosures.float64.get(step, {}).get(name, math.inf)


# --- a claim judged on the certified value -----------------------------------------


def judged(result: ClaimResult, runs: list[EngineRun]) -> ClaimResult:
    """``result`` (every engine judged on its own float) re-judged on the certified value.

    The certified engine's verdict becomes the claim's; each float engine is ``ok``
    when its value lies within its tolerance of the certified one (and a pin holds),
    whatever verdict its float would get; its error in ULPs is kept beside.
    """
    certified = certified_run(runs)
    claim = result.claim
    if certified is None or certified.enclosures is None:
        return result
    enclosures = certified.enclosures
    if claim.relation is not None:
        found = relation_on(claim, enclosures) or result.verdicts.get(certified.engine)
        return _settled(result, certified.engine, found, "")
    true = interval(enclosures, claim.canonical, claim.step)
    if true is None:
        return result
    radius = radius_53(enclosures, claim.canonical, claim.step)
    ulps: dict[str, float] = {}
    outcomes = dict(result.outcomes)
    messages: list[str] = []
    for run in runs:
        value = result.values.get(run.engine)
        if run is certified or value is None:
            continue
        ulps[run.engine] = ulps_off(value, true)
        if not within(value, true, radius):
            outcomes[run.engine] = FAILED
            messages.append(
                f"{run.engine}: {value:.17g} is {ulps[run.engine]:.3g} ULPs from the certified "
                f"{true.nearest:.17g}, beyond its tolerance of {tolerance(true, radius):.3g}"
            )
        elif claim.pinned is None or pin_holds(claim, value):
            outcomes[run.engine] = OK
    note = ""
    if claim.printed is not None:
        verdict: str = verdict_on(true, claim.printed)
        if verdict == UNDECIDED:
            note = undecided_note(true, claim.printed)
    else:
        verdict = result.verdicts.get(certified.engine) or "pinned"
    settled = _settled(replace(result, outcomes=outcomes), certified.engine, verdict, note)
    message = "; ".join([*messages, settled.message] if messages else [settled.message])
    return replace(settled, ulps=ulps, message=message)


def _settled(result: ClaimResult, engine: str, verdict: str | None, note: str) -> ClaimResult:
    """The certified engine's verdict as the claim's, and its outcome against the expected one."""
    expected = result.claim.expect or "pinned"
    outcomes = dict(result.outcomes)
    found = dict(result.verdicts)
    found[engine] = verdict
    value = result.values.get(engine)
    message = result.message
    if verdict != expected:
        outcomes[engine] = FAILED
        message = f"{engine}: {verdict} on the certified value, expected {expected}"
        if note:
            message += f" ({note})"
    elif outcomes.get(engine) != FAILED:
        outcomes[engine] = OK
    return replace(
        result,
        verdicts=found,
        outcomes=outcomes,
        reference=value if value is not None else result.reference,
        verdict=verdict,
        outcome=overall(list(outcomes.values())),
        message=message,
        decided_by=engine,
    )


# --- agreement: every float engine with the certified values ------------------------


def disagreements(runs: list[EngineRun]) -> list[Disagreement] | None:
    """Every quantity a float engine computes beyond its tolerance of the certified value.

    An extended name is compared only with the engines that record it (``quantity:extended``).
    None when no engine certified its values (the engines are then compared with
    each other, :func:`bpcheck.checking.check.disagreements`).
    """
    certified = certified_run(runs)
    if certified is None or certified.enclosures is None:
        return None
    enclosures = certified.enclosures
    found: list[Disagreement] = []
    others = [r for r in runs if r.outcome == OK and r is not certified]
    for step, bounds in sorted(enclosures.bounds.items()):
        for name in sorted(bounds):
            true = interval(enclosures, name, step)
            assert true is not None
            radius = radius_53(enclosures, name, step)
            extended = is_extended(name)  # compared only with engines that record it
            row = {
                r.engine: r.trace.get(step, {}).get(name, math.nan)
                for r in others
                if r.extended or not extended
            }
            if all(within(v, true, radius) for v in row.values()):
                continue
            row[certified.engine] = true.nearest
            worst = max(abs(v - true.nearest) for v in row.values())
            relative = tolerance(true, radius) / abs(true.nearest) if true.nearest else math.inf
            found.append(Disagreement(step, name, row, worst, relative))
    return found


def worst_ulps(claims: list[ClaimResult]) -> dict[str, float]:
    """Each float engine's largest error in ULPs (by size) over the claims."""
    worst: dict[str, float] = {}
    for claim in claims:
        for engine, ulps in claim.ulps.items():
            if engine not in worst or not abs(ulps) <= abs(worst[engine]):
                worst[engine] = ulps
    return worst


def outcome_of(result: ClaimResult) -> Outcome:
    return overall(list(result.outcomes.values()))


def all_disagreements(runs: list[EngineRun]) -> list[Disagreement]:
    """Against the certified values when an engine gave them, else between the engines."""
    found = disagreements(runs)
    return check_disagreements(runs) if found is None else found


def judged_alone(claim: Claim, run: EngineRun, certified: EngineRun | None) -> ClaimResult:
    """One engine's judgement of a claim (a pytest item's): against the certified run if any.

    The result's outcome is that engine's alone: a float engine's item passes when its
    value lies within its tolerance of the certified one and the certified verdict is
    the one expected; the certified engine's item, when its verdict is.
    """
    partner = [] if certified is None or certified.engine == run.engine else [certified]
    runs = [run, *partner]
    result = judged(judge(claim, runs), runs)
    own = result.outcomes.get(run.engine, result.outcome)
    if own == OK and result.verdict != (claim.expect or "pinned") and partner:
        own = FAILED  # the certified value says the document's number is not what is expected
    return replace(result, outcome=own)
