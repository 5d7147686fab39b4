"""Ball arithmetic for the certified engine: exact decimals in, rigorous enclosures out.

Every number here is an Arb ball (python-flint's :class:`flint.arb`): a midpoint
and a radius such that the exact real number lies inside.  Arb rounds each
operation's midpoint at the working precision and widens the radius by a bound
on what that rounding and the radii of the operands can do, so a ball computed
from balls that contain the exact inputs contains the exact result.

The inputs are the decimals the fixture prints.  A :class:`~bpcheck.model.problem.Problem`
holds floats, so each one is read back as the shortest decimal that rounds to it
(Python's ``repr``): the number the fixture printed whenever it printed at most 17
significant digits, which every fixture does (``0.1`` is one tenth, not
0.1000000000000000055511151231257827, its float64 rounding).  A decimal with no
exact binary form becomes a ball of radius 2^-precision around it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from flint import arb, ctx


class Undecided(Exception):
    """A value the working precision cannot decide (the log of a ball that may hold 0).

    The engine raises the precision and tries again; at the highest precision it
    gives up for the problem (:class:`~bpcheck.model.engine.CannotRun`).
    """


class Undefined(Exception):
    """A value that is no real number at all (the log of 0 or of a negative output).

    Float arithmetic makes it an infinity or NaN and goes on; there is no real number
    to enclose, so the engine gives up for the problem at once, with this reason.
    """


@contextmanager
def working_precision(bits: int) -> Iterator[None]:
    """Arb's precision is global to the process: set it for a computation, then restore it."""
    saved = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = saved


def printed(value: float) -> arb:
    """The ball of the decimal a fixture printed for ``value`` (see the module docstring)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a number a fixture prints")
    return arb(repr(value))


ZERO = arb(0)
ONE = arb(1)


def sigmoid(x: arb) -> arb:
    """1 / (1 + e^-x): Arb's exponent has no overflow, so no case is needed at -700."""
    return ONE / (ONE + (-x).exp())


HALF = arb(1) / 2
EITHER = arb(HALF, HALF)
"""The ball [0, 1]: a relu's slope where the sign of its input is not known."""


def relu(x: arb) -> arb:
    """max(0, x); around 0, the ball [0, upper end] (relu is continuous, so that is rigorous)."""
    if x.is_zero() or x < 0:
        return ZERO
    if x > 0:
        return x
    return x.nonnegative_part()


def relu_slope(x: arb) -> arb:
    """relu'(x): 0 at and below 0 (the convention), 1 above, and [0, 1] when the ball
    cannot tell (a net input whose true value may be exactly 0): both are in it."""
    if x.is_zero() or x < 0:
        return ZERO
    if x > 0:
        return ONE
    return EITHER


def leaky_relu(x: arb, slope: arb) -> arb:
    """x above 0, ``slope * x`` at and below; around 0, a ball holding both branches
    (the function is continuous, so that is rigorous, as for :func:`relu`)."""
    if x.is_zero() or x < 0:
        return slope * x
    if x > 0:
        return x
    return x.union(slope * x)


def leaky_relu_slope(x: arb, slope: arb) -> arb:
    """1 above 0, ``slope`` at and below (the left branch at the kink); both when undecided."""
    if x.is_zero() or x < 0:
        return slope
    if x > 0:
        return ONE
    return ONE.union(slope)


def softplus(x: arb) -> arb:
    """log(1 + e^x), as ``log1p`` so that a very negative x keeps its digits."""
    return x.exp().log1p()


def elu(x: arb, alpha: arb) -> arb:
    """x above 0, ``alpha (e^x - 1)`` at and below; around 0, both branches (continuous)."""
    if x.is_zero() or x < 0:
        return alpha * x.expm1()
    if x > 0:
        return x
    return x.union(alpha * x.expm1())


def elu_slope(x: arb, alpha: arb) -> arb:
    """1 above 0, ``alpha e^x`` at and below (alpha at the kink); both when undecided."""
    if x.is_zero() or x < 0:
        return alpha * x.exp()
    if x > 0:
        return ONE
    return ONE.union(alpha * x.exp())


def t_log(t: arb, o: arb) -> arb:
    """``t log o``, exactly 0 when t is exactly 0 (the limit the cross-entropies take).

    Losses are not clipped: the log of an output that is 0 or negative (bce on an
    identity or relu output) is no real number, :class:`Undefined`.
    """
    if t.is_zero():
        return ZERO
    if o.is_zero() or o < 0:
        raise Undefined(f"log of {o.str(5, radius=True)}: not a real number (unclipped loss)")
    if not o > 0:
        raise Undecided(f"log of {o.str(5, radius=True)}: not known to be positive")
    return t * o.log()


def t_over(t: arb, o: arb) -> arb:
    """``t / o``, exactly 0 when t is exactly 0 (the derivative of ``t log o``)."""
    if t.is_zero():
        return ZERO
    if o.is_zero():
        raise Undefined("division by an output that is exactly 0: not a real number")
    if o.contains(0):
        raise Undecided(f"division by {o.str(5, radius=True)}, which may be 0")
    return t / o


def checked(x: arb) -> arb:
    """``x`` if it is a finite ball; a ball that lost all meaning is undecided."""
    if not x.is_finite():
        raise Undecided("a value's ball became infinite or NaN")
    return x


EXPONENT_LIMIT = 100_000
"""Decimal exponents beyond which a bound is written coarsely: 10^100000 is far beyond any
float64 (10^308) or printed number (10^400), and within what Python's decimal computes."""
_HUGE = arb(10) ** EXPONENT_LIMIT
_TINY = 1 / _HUGE


def bounds(x: arb, digits: int) -> tuple[str, str]:
    """Exact decimal lower and upper bounds of ``x``, about ``digits`` significant digits each.

    ``mid_rad_10exp`` gives integers m, r, e with the ball inside [m - r, m + r] 10^e,
    so both strings are rigorous: the exact value lies between them.  A value beyond
    10^:data:`EXPONENT_LIMIT` in size (a diverged training's e^(10^62)) is bounded by
    that power and an infinity, one nearer 0 than its inverse by that power and 0.
    """
    if x.is_zero():
        return "0", "0"
    if not x.abs_upper() < _HUGE:
        low = f"1e{EXPONENT_LIMIT}" if x > _HUGE else "-Infinity"
        high = f"-1e{EXPONENT_LIMIT}" if x < -_HUGE else "Infinity"
        return low, high
    if x.abs_upper() < _TINY:
        low = "0" if x > 0 else f"-1e-{EXPONENT_LIMIT}"
        high = "0" if x < 0 else f"1e-{EXPONENT_LIMIT}"
        return low, high
    mid, rad, exponent = x.mid_rad_10exp(digits)
    below, above = int(mid) - int(rad), int(mid) + int(rad)
    return f"{below}e{int(exponent)}", f"{above}e{int(exponent)}"


def correct_bits(x: arb) -> float:
    """Relative accuracy of a ball in bits: inf for an exact value, -inf for one around 0."""
    if x.is_exact():
        return math.inf
    if x.contains(0):
        return -math.inf
    return float(x.rel_accuracy_bits())
