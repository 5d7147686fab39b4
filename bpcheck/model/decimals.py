"""Numbers at a number of decimal places, exactly: the one place bpcheck rounds or cuts.

Verdicts cut a value to the places a document printed, the diagnosis writes a
value as a hand computation or a typo would, and the property tests print
values as documents do.  All of them need the same two things, done in
:class:`decimal.Decimal` on the exact binary value of a float:

* :func:`places_of`: how many decimals a printed string claims;
* :func:`at_places`: a value rounded (half to even) or cut toward zero there.

The working precision is sized for each call, so no float and no printed
string is too long for it: ``decimal``'s default of 28 digits is not enough to
cut ``1.5e20`` at 10 decimals.
"""

from __future__ import annotations

from contextlib import suppress
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext
from typing import Literal

from bpcheck.model.printed import NotAPrintedNumber, plain

Mode = Literal["round", "cut"]
"""``round``: to the nearest, ties to even (what ``%.4f`` does); ``cut``: toward zero."""

ROUNDING = {"round": ROUND_HALF_EVEN, "cut": ROUND_DOWN}


def places_of(printed: str) -> int:
    """Decimal places a printed number claims: ``"0.50"`` 2, ``"3.5e-05"`` 6, ``"1E+2"`` -2.

    A typographic form counts as the plain decimal it means (``"2.406 × 10^-3"``: 6).
    """  # noqa: RUF002
    # not a printed form (``str`` of a Decimal, say): Decimal reads it or says why
    with suppress(NotAPrintedNumber):
        printed = plain(printed)
    exponent = Decimal(printed).as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"{printed!r} is not a finite number")
    return -exponent


def at_places(value: float | Decimal, places: int, mode: Mode) -> Decimal:
    """``value`` rounded or cut at ``places`` decimals (negative: tens, hundreds...), exactly.

    A float is taken at its exact binary value (``Decimal(0.1)`` is
    0.1000000000000000055511151231257827...), never through its repr.
    """
    exact = Decimal(value)
    if not exact.is_finite():
        raise ValueError(f"{value!r} has no decimal places")
    quantum = Decimal(1).scaleb(-places)
    with localcontext() as ctx:
        # the digits the result keeps: those left of the point, those right of it, and one
        # for a carry (0.99 rounded to 1 decimal is 1.0)
        ctx.prec = max(exact.adjusted(), 0) + max(places, 0) + 2
        return exact.quantize(quantum, rounding=ROUNDING[mode])
