"""What an engine that certifies its values returns, checked before bpcheck reads it.

Like a trace (:mod:`bpcheck.checking.traces`), enclosures come from an engine and
are not trusted: every step asked for, exactly the problem's names, each a pair of
decimal strings with the lower bound not above the upper (an infinity stands for a
value beyond any exponent the engine writes), a float64 radius that is not negative.
:func:`midpoints` makes the ordinary trace of them (the float64 nearest each midpoint),
so that everything that reads traces reads this one too.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from bpcheck.checking.traces import BadTrace, checked_trace
from bpcheck.model.engine import Enclosures
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace

PRECISION = 200
"""Decimal digits for midpoints: the bounds carry about 55 significant digits."""


def midpoint(low: str, high: str) -> Decimal:
    """The middle of the bounds: an infinity beside a number is that infinity (the value is
    beyond any number the engine wrote); NaN when unbounded both ways."""
    with localcontext() as context:
        context.prec = PRECISION
        both = Decimal(low) + Decimal(high) if low != "-Infinity" or high != "Infinity" else None
        return Decimal("NaN") if both is None else both / 2


def midpoints(enclosures: Enclosures) -> Trace:
    """The trace of the enclosures: each value the float64 nearest its midpoint."""
    return {
        step: {name: float(midpoint(*pair)) for name, pair in values.items()}
        for step, values in enclosures.bounds.items()
    }


def plain_enclosures(
    enclosed: object, problem: Problem, record: Collection[int], *, extended: bool = True
) -> dict[str, Any]:
    """``enclosed`` checked and copied as plain data, or :class:`BadTrace` saying what is wrong.

    The bounds must hold exactly the names a trace must (``extended``: the names of
    :data:`~bpcheck.model.quantities.EXTENDED` too, for an engine that declares it).
    """
    if not isinstance(enclosed, Enclosures):
        raise BadTrace(f"enclose() returned {type(enclosed).__name__}; expected Enclosures")
    bounds: dict[int, dict[str, tuple[str, str]]] = {}
    if not isinstance(enclosed.bounds, dict):
        raise BadTrace("bounds: expected a dict of step -> name -> (lower, upper)")
    for step, values in enclosed.bounds.items():
        if not isinstance(values, dict):
            raise BadTrace(f"step {step!r}: expected a dict of name -> (lower, upper)")
        bounds[step] = {str(name): _pair(step, name, pair) for name, pair in values.items()}
    checked_trace(midpoints(Enclosures(bounds, {}, 0, 0.0)), problem, record, extended=extended)
    float64 = {
        int(step): {str(name): _radius(step, name, r) for name, r in values.items()}
        for step, values in dict(enclosed.float64).items()
    }
    precision, digits = enclosed.precision, enclosed.digits
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
        raise BadTrace(f"precision {precision!r}: expected a positive number of bits")
    if isinstance(digits, bool) or not isinstance(digits, int | float) or math.isnan(digits):
        raise BadTrace(f"digits {digits!r}: expected a number")
    return {"bounds": bounds, "float64": float64, "precision": precision, "digits": float(digits)}


def from_plain(data: dict[str, Any]) -> Enclosures:
    return Enclosures(data["bounds"], data["float64"], data["precision"], data["digits"])


def _pair(step: object, name: object, pair: object) -> tuple[str, str]:
    where = f"step {step!r}: {name!r}"
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise BadTrace(f"{where}: expected (lower, upper), found {type(pair).__name__}")
    low, high = pair
    if not isinstance(low, str) or not isinstance(high, str):
        raise BadTrace(f"{where}: expected bounds as decimal strings")
    try:
        numbers = not (Decimal(low).is_nan() or Decimal(high).is_nan())
        ordered = numbers and Decimal(low) <= Decimal(high)
    except InvalidOperation:
        raise BadTrace(f"{where}: {low!r}, {high!r} are not decimal numbers") from None
    if not ordered:
        raise BadTrace(f"{where}: expected bounds with lower <= upper, found {low}, {high}")
    return str(low), str(high)


def _radius(step: object, name: object, radius: object) -> float:
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not radius >= 0:
        raise BadTrace(f"step {step!r}: {name!r}: float64 radius {radius!r}, expected >= 0")
    return float(radius)
