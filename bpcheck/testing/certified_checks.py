"""Conformance checks for an engine that certifies its values (``enclose``, the certified engine).

A certified value is a promise: the exact real number lies between the bounds.  Two
ways to break it are checked, each against numbers worked out here in mpmath at 100
digits from the problem's decimals, never against the engine's own:

* :func:`check_enclosures_contain_the_truth`: every bound of a few quantities of a
  saturated sigmoid (net input 16, where float64 keeps 9 digits of the slope) holds
  the exact value, at step 0 and after one update.  An engine that drops a radius
  (bounds collapsed to the midpoint) fails it by some 10^-57;
* :func:`check_certifies_fifty_digits`: every value not enclosing 0 is known to 50
  significant digits (the bounds' own width, whatever the engine reports), and the
  digits it reports are no more than its bounds show.  An engine whose precision is
  too low for the problem (no retry when 1 - out cancels 23 bits) fails it.

For an engine without ``enclose`` both are skipped, with the reason.
:data:`CERTIFIED_CHECKS` joins :data:`bpcheck.testing.conformance.CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext

import mpmath

from bpcheck.model.engine import Enclosures, Engine, encloses
from bpcheck.model.problem import Layer, Problem

DIGITS = 50
"""Significant digits a certified engine gives by default (docs/engines.md)."""

SATURATED = Problem(
    layers=(Layer(((16.0,),), "sigmoid"),),
    inputs=((1.0,),),
    targets=((0.0,),),
    loss="half_sse",
    learning_rate=0.5,
    steps=1,
)
"""One sigmoid at net input 16: out (1 - out) cancels 23 bits."""


def saturated_truth() -> dict[int, dict[str, Decimal]]:
    """Its values at steps 0 and 1, in mpmath at 100 digits, from the definitions."""
    with mpmath.workdps(100):
        w = mpmath.mpf(16)
        found: dict[int, dict[str, Decimal]] = {}
        for step in (0, 1):
            out = 1 / (1 + mpmath.exp(-w))
            slope = out * (1 - out)
            gradient = out * slope  # dE/dout = out - 0, times the slope, times x = 1
            values = {
                "w[1,1,1]": w,
                "out[1,1]@1": out,
                "dout_dnet[1,1]@1": slope,
                "E": out * out / 2,
                "dE_dw[1,1,1]": gradient,
            }
            found[step] = {name: Decimal(mpmath.nstr(v, 100)) for name, v in values.items()}
            w = w - mpmath.mpf("0.5") * gradient
        return found


def _enclosures(engine: Engine, problem: Problem) -> Enclosures:
    from bpcheck.testing.conformance import Skip, require

    if not encloses(engine):
        raise Skip("the engine does not certify its values (it has no enclose)")
    require(engine, problem, "the saturated sigmoid")
    enclose: Callable[[Problem, set[int]], Enclosures] = engine.enclose  # type: ignore[attr-defined]
    return enclose(problem, {0, 1})


def check_enclosures_contain_the_truth(engine: Engine) -> None:
    enclosed = _enclosures(engine, SATURATED)
    for step, values in saturated_truth().items():
        for name, exact in values.items():
            low, high = enclosed.bounds[step][name]
            assert Decimal(low) <= exact <= Decimal(high), (
                f"{name} at step {step}: the bounds [{low}, {high}] miss the exact value "
                f"{exact:.60g} (mpmath, 100 digits): a certified value must contain it"
            )


def check_certifies_fifty_digits(engine: Engine) -> None:
    enclosed = _enclosures(engine, SATURATED)
    worst = (float("inf"), "")
    for step, values in enclosed.bounds.items():
        for name, (low, high) in values.items():
            digits = _digits(Decimal(low), Decimal(high))
            if digits < worst[0]:
                worst = (digits, f"{name} at step {step}: [{low}, {high}]")
    assert worst[0] >= DIGITS, (
        f"{worst[1]} is known to {worst[0]:.1f} significant digits, expected {DIGITS}: "
        f"the precision ({enclosed.precision} bits) is too low for the problem"
    )
    assert enclosed.digits <= worst[0] + 1, (
        f"reports {enclosed.digits:.1f} digits, its bounds show {worst[0]:.1f} ({worst[1]})"
    )


def _digits(low: Decimal, high: Decimal) -> float:
    """Correct significant digits of an interval: inf when exact or when it encloses 0."""
    if low == high or low <= 0 <= high:
        return float("inf")
    with localcontext() as context:
        context.prec = 120
        width = (high - low) / min(abs(low), abs(high))
        return float(-width.log10())


CERTIFIED_CHECKS: tuple[Callable[[Engine], None], ...] = (
    check_enclosures_contain_the_truth,
    check_certifies_fifty_digits,
)
