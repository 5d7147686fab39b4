"""Verdicts: does a computed value agree with a number as the document printed it?

The printed string sets the precision.  ``"0.5932"`` has 4 decimals, so it
claims the true value lies within half a unit of the 4th decimal:

* ``match``      |value - printed| <= 0.5e-4 (plus a few ULPs of the value, so that a
                 binary float sitting exactly on the half-way point still counts);
* ``truncated``  not a match, but cutting the value toward zero at the 4th decimal
                 gives the printed number (authors who truncate instead of round);
* ``mismatch``   neither;
* ``undecided``  only when the value is a certified interval (the ``certified`` engine)
                 that straddles one of these boundaries: see docs/verdicts.md.

Scientific notation counts its decimals after the exponent is applied:
``"3.5e-05"`` has 6.  An integer such as ``"1"`` has 0; ``"1E+2"`` has -2
(it claims the value to the nearest hundred).  Trailing zeros count:
``"0.50"`` has 2.  Arithmetic is done in :class:`decimal.Decimal` on the exact
binary value of the float, so no rounding of our own can blur a verdict.

A printed string may be typographic (``−0.0361``, ``2.406 × 10^-3``): everything
here reads it through :func:`bpcheck.model.printed.plain`, so it is judged exactly
as the plain decimal it means (``0.002406``, 6 places).
"""  # noqa: RUF002 (typographic forms shown as documents print them)

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from enum import StrEnum

from bpcheck.model.decimals import at_places, places_of
from bpcheck.model.printed import NotAPrintedNumber, plain


class Verdict(StrEnum):
    """What a printed number is to the computed value; equal to its name as a string."""

    MATCH = "match"
    TRUNCATED = "truncated"
    MISMATCH = "mismatch"
    UNDECIDED = "undecided"
    """Only on a certified interval that straddles a boundary (docs/verdicts.md, "Certified
    values"); :func:`verdict` on a float never gives it."""


MATCH = Verdict.MATCH
TRUNCATED = Verdict.TRUNCATED
MISMATCH = Verdict.MISMATCH
UNDECIDED = Verdict.UNDECIDED
VERDICTS = (MATCH, TRUNCATED, MISMATCH)
"""The verdicts a float can get, and a fixture can expect."""

DECIMAL_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""What a printed value must look like, whole: a plain decimal number, optionally scientific.
ASCII digits only: ``decimal`` reads fullwidth digits (``"\\uff10.\\uff17\\uff15"`` is 0.75 to it),
which no document prints."""

MAX_PRINTED_LENGTH = 100
"""Characters of a printed or pinned number: no document prints more, and with this and
:data:`PRINTED_EXPONENTS` no verdict needs more than :data:`PRECISION` digits."""

PRINTED_EXPONENTS = (-400, 400)
"""Smallest and largest decimal exponent of a printed number's leading digit (``7.5e-21``
has -21).  Every float64 lies within 4.9e-324 and 1.8e308, so a print beyond these claims
nothing about one (and ``7.5e-2100`` would need more than :data:`PRECISION` digits)."""

SLACK_ULPS = 4
"""How many units in the last place of the value we forgive (binary representation)."""

PRECISION = 2000
"""Decimal digits for the arithmetic: a float64 has at most 767 significant decimal digits
and a printed number can ask for hundreds of places, so everything here stays exact."""


def is_decimal_number(text: str) -> bool:
    """Whether ``text`` is a plain decimal number, as :data:`DECIMAL_NUMBER` says."""
    return bool(DECIMAL_NUMBER.fullmatch(text))


def printed_problem(text: str) -> str | None:
    """What ``text`` should have been to be a printed (or pinned) number, or None if it is one.

    Typographic forms (:mod:`bpcheck.model.printed`) are numbers; a refusal names
    the character no form uses.  What is accepted here gets a verdict in bounded
    time and digits, for any float64.
    """
    if len(text) > MAX_PRINTED_LENGTH:
        return f"expected a number of at most {MAX_PRINTED_LENGTH} characters"
    try:
        number = plain(text)
    except NotAPrintedNumber as refused:
        return str(refused)
    low, high = PRINTED_EXPONENTS
    if not low <= Decimal(number).adjusted() <= high:
        return f"expected a number between 1e{low} and 1e{high} in size"
    return None


def printed_value(printed: str) -> Decimal:
    """The exact number a printed string means (typographic forms read by ``plain``)."""
    return Decimal(plain(printed))


def decimals(printed: str) -> int:
    """Number of decimal places the printed string claims (negative for ``1E+2``).

    ``"2.406 × 10^-3"`` claims 6, like ``"0.002406"``.
    """  # noqa: RUF002
    return places_of(plain(printed))


def half_unit(printed: str) -> Decimal:
    """Half a unit in the printed last place: the tolerance a printed number implies."""
    return Decimal(5).scaleb(-decimals(printed) - 1)


def ulp(value: float, precision: str = "float64") -> float:
    """One unit in the last place of ``value`` as a float of ``precision`` ("float32": 24 bits,
    subnormal below 2^-126)."""
    if precision != "float32":
        return math.ulp(value)
    exponent = math.frexp(value)[1] if value else -125
    return math.ldexp(1.0, max(exponent, -125) - 24)


def _slack(value: float, precision: str = "float64") -> Decimal:
    return Decimal(SLACK_ULPS * ulp(value, precision))


def is_match(value: float, printed: str, precision: str = "float64") -> bool:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        distance = abs(Decimal(value) - printed_value(printed))
        return distance <= half_unit(printed) + _slack(value, precision)


def is_truncation(value: float, printed: str, precision: str = "float64") -> bool:
    """Whether cutting ``value`` (give or take a few ULPs) gives the printed number."""
    places = decimals(printed)
    target = printed_value(printed)
    exact = Decimal(value)
    slack = _slack(value, precision)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        candidates = (exact - slack, exact, exact + slack)
        return any(at_places(c, places, "cut") == target for c in candidates)


def verdict(value: float, printed: str, precision: str = "float64") -> Verdict:
    """Classify ``value`` against the printed string: match, truncated or mismatch.

    ``precision`` is the value's (a float32 problem's values are float32s): the
    :data:`SLACK_ULPS` forgiven are its ULPs.
    """
    if not math.isfinite(value):
        return MISMATCH
    if is_match(value, printed, precision):
        return MATCH
    if is_truncation(value, printed, precision):
        return TRUNCATED
    return MISMATCH


def units_off(value: float, printed: str) -> float:
    """How far the value is from the printed number, in units of its last place."""
    if not math.isfinite(value):
        return math.inf
    unit = Decimal(1).scaleb(-decimals(printed))
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return float((Decimal(value) - printed_value(printed)) / unit)
