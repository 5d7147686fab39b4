"""The names bpcheck derives from an engine's own values instead of asking for them.

``E_change`` at step ``k`` is ``E`` at ``k + 1`` minus ``E`` at ``k``
(:data:`~bpcheck.model.quantities.DERIVED`).  Engines never return it: a claim on
it makes the engine record step ``k + 1`` as well (:func:`record_of`), and the
difference is taken here, once, from that one engine's values, so a claim on it
is judged, and compared between engines, like any value.  An engine that
certifies its values gets the difference of its intervals.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Collection, Iterator, Mapping
from decimal import Decimal, localcontext

from bpcheck.checking.enclosures import midpoint
from bpcheck.model.engine import Enclosures
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.quantities import E_CHANGE, LOSS, Trace

PRECISION = 400
"""Decimal digits for the difference of two bounds: exact for any bounds an engine writes."""


class MissingStep(Exception):
    """A derived name needs a step the engine did not return; the message says which."""


def _operands(claim: Claim) -> Iterator[tuple[str, int]]:
    if claim.relation is not None:
        yield claim.relation.left.canonical, claim.relation.left.step
        yield claim.relation.right.canonical, claim.relation.right.step
    elif claim.canonical:
        yield claim.canonical, claim.step


def derived_steps(fixture: Fixture) -> set[int]:
    """The steps at which a claim (or a side of a relation) asks for ``E_change``."""
    return {step for claim in fixture.claims for name, step in _operands(claim) if name == E_CHANGE}


def record_of(fixture: Fixture) -> set[int]:
    """The steps an engine must record for the fixture: its claims', and the step after each
    ``E_change`` claim's (whose ``E`` it subtracts)."""
    return fixture.recorded_steps() | {step + 1 for step in derived_steps(fixture)}


def _needed(trace: Mapping[int, Mapping[str, object]], step: int) -> None:
    for at in (step, step + 1):
        if LOSS not in trace.get(at, {}):
            raise MissingStep(
                f"{E_CHANGE} at step {step} needs E at steps {step} and {step + 1}; "
                f"the engine returned none at step {at}"
            )


def with_derived(trace: Trace, steps: Collection[int], precision: str = "float64") -> Trace:
    """``trace`` with ``E_change`` added at each of ``steps``; :class:`MissingStep` if it cannot.

    A float32 problem's difference is rounded to float32, as a float32 program computes it.
    """
    for step in sorted(set(steps)):
        _needed(trace, step)
        change = trace[step + 1][LOSS] - trace[step][LOSS]
        trace[step][E_CHANGE] = _float32(change) if precision == "float32" else change
    return trace


def _float32(value: float) -> float:
    """The float32 nearest ``value`` (infinity beyond float32's range), as a Python float."""
    try:
        found: float = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)
    return found


def _minus(a: str, b: str, unbounded: str) -> str:
    """``a - b`` exactly; ``unbounded`` when it is an infinity minus the same infinity."""
    if a == b and Decimal(a).is_infinite():
        return unbounded
    with localcontext() as context:
        context.prec = PRECISION
        return str(Decimal(a) - Decimal(b))


def _difference(later: tuple[str, str], earlier: tuple[str, str]) -> tuple[str, str]:
    """Bounds of ``later - earlier``: the lowest of one minus the highest of the other."""
    return _minus(later[0], earlier[1], "-Infinity"), _minus(later[1], earlier[0], "Infinity")


def _radius(enclosures: Enclosures, step: int, value: float) -> float:
    """The float64 radius of the difference: both radii and the subtraction's own rounding."""
    radii = enclosures.float64
    both = radii.get(step, {}).get(LOSS, math.inf) + radii.get(step + 1, {}).get(LOSS, math.inf)
    return both + (math.ulp(value) / 2 if math.isfinite(value) else 0.0)


def enclosures_with_derived(enclosures: Enclosures, steps: Collection[int]) -> Enclosures:
    """``enclosures`` with ``E_change`` at each of ``steps``; :class:`MissingStep` if it cannot."""
    bounds = {step: dict(values) for step, values in enclosures.bounds.items()}
    float64 = {step: dict(values) for step, values in enclosures.float64.items()}
    for step in sorted(set(steps)):
        _needed(bounds, step)
        pair = _difference(bounds[step + 1][LOSS], bounds[step][LOSS])
        bounds[step][E_CHANGE] = pair
        middle = float(midpoint(*pair))
        float64.setdefault(step, {})[E_CHANGE] = _radius(enclosures, step, middle)
    return Enclosures(bounds, float64, enclosures.precision, enclosures.digits)
