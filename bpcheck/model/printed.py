"""Printed numbers as authors print them: the plain decimal a typographic string means.

A fixture keeps every printed number exactly as the document prints it, because
that is the evidence.  Documents do not print ``-0.0361`` and ``2.406e-3`` only:
they print the Unicode minus sign (``−0.0361``, U+2212), ``2.406 × 10^-3``,
``2.406 * 10^-3``, ``2.406×10⁻³``, ``2.406e−3``, a leading ``+`` and thin
spaces between digit groups (``1 234.567 8``).  :func:`plain` turns each of them
into the plain decimal it means (``0.002406``'s digits and places: ``2.406e-3``),
which is what verdicts judge; a form it does not know is refused, and the
message names the character and its code point, because ``−`` and ``-`` look the
same on screen: ``',' (U+002C COMMA)``.

Each accepted form keeps the places the author printed: ``2.406 × 10^-3`` is
judged like ``0.002406`` (6 places), never like ``2.406``.
"""  # noqa: RUF002 (the forms documents print, shown as they print them)

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MINUS_SIGNS = {"-": "-", "\u2212": "-"}
"""A hyphen-minus or the Unicode minus sign (U+2212), wherever a sign may stand."""

GROUP_SPACES = "\u2009\u202f\u00a0"
"""Thin space, narrow no-break space and no-break space: between groups of three digits."""

SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")

_SIGN = "[+\\-\u2212]"
_GROUPED_DIGITS = rf"[0-9]{{1,3}}(?:[{GROUP_SPACES}][0-9]{{3}})+"  # 1 234 567
_FRACTION_GROUPED = rf"(?:[0-9]{{3}}[{GROUP_SPACES}])+[0-9]{{1,3}}"  # 567 8
_MANTISSA = (
    rf"(?P<whole>[0-9]+|{_GROUPED_DIGITS})?"
    rf"(?:\.(?P<fraction>[0-9]*|{_FRACTION_GROUPED}))?"
)
_TIMES = "[\u00d7*x\u00b7\u22c5]"
"""Multiplication signs before ``10^``: times, asterisk, letter x, middle dot, dot operator."""
_SPACE = f"[ {GROUP_SPACES}]?"
_POWER = (
    rf"{_SPACE}{_TIMES}{_SPACE}10"
    rf"(?:\^(?P<caret>{_SIGN}?[0-9]+)|\^\((?P<paren>{_SIGN}?[0-9]+)\)"
    rf"|\^\{{(?P<brace>{_SIGN}?[0-9]+)\}}|(?P<super>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))"
)
_E = rf"[eE](?P<e>{_SIGN}?[0-9]+)"
TYPOGRAPHIC = re.compile(rf"(?P<sign>{_SIGN})?{_MANTISSA}(?:{_E}|{_POWER})?")
"""Every form :func:`plain` accepts, matched whole."""

ALLOWED = set("0123456789.+-eE^(){}\u00d7*x\u00b7\u22c5\u2212" + GROUP_SPACES + "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
"""Characters some accepted form uses: any other is named in the refusal (a plain space
only around a multiplication sign)."""

_AROUND_TIMES = re.compile(f"[ {GROUP_SPACES}]*{_TIMES}[ {GROUP_SPACES}]*")

CONTROL_NAMES = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "CHARACTER TABULATION"}
"""Names ``unicodedata`` does not give (control characters have none)."""

_PLAIN = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""A plain ASCII decimal (as :data:`bpcheck.model.verdicts.DECIMAL_NUMBER`): read as it is."""

EXAMPLES = "0.5932, \u22120.0361, 3.5e-05 or 2.406 \u00d7 10^-3"


class NotAPrintedNumber(ValueError):
    """A string no accepted form reads; the message says what was expected and names why."""


def character(ch: str) -> str:
    """``',' (U+002C COMMA)``: a character as a message names it, so look-alikes differ."""
    name = unicodedata.name(ch, CONTROL_NAMES.get(ch, "a control character"))
    return f"{ch!r} (U+{ord(ch):04X} {name})"


def _sign(text: str | None) -> str:
    return "-" if text is not None and text[0] in "-\u2212" else ""


def _digits(text: str | None) -> str:
    return "" if text is None else "".join(c for c in text if c in "0123456789")


def _exponent(match: re.Match[str]) -> str | None:
    for group in ("e", "caret", "paren", "brace"):
        found = match.group(group)
        if found is not None:
            return _sign(found) + _digits(found)
    found = match.group("super")
    if found is not None:
        return found.translate(SUPERSCRIPTS).lstrip("+")
    return None


@lru_cache(maxsize=4096)
def plain(text: str) -> str:
    """The plain ASCII decimal ``text`` means: ``"−0.0361"`` -> ``"-0.0361"``,
    ``"2.406 × 10^-3"`` -> ``"2.406e-3"``, ``"+0.5"`` -> ``"0.5"``.

    A plain ASCII decimal comes back unchanged.  The places the result claims
    are the places the author printed.  Raise
    :class:`NotAPrintedNumber` naming the first character no accepted form uses.
    """  # noqa: RUF002
    if _PLAIN.fullmatch(text):
        return text
    match = TYPOGRAPHIC.fullmatch(text)
    whole = None if match is None else match.group("whole")
    fraction = None if match is None else match.group("fraction")
    if match is None or (not whole and not fraction):
        raise NotAPrintedNumber(refusal(text))
    number = _sign(match.group("sign")) + _digits(whole)
    if fraction is not None:
        number += "." + _digits(fraction)
    exponent = _exponent(match)
    if exponent is not None:
        number += "e" + exponent
    return number


def refusal(text: str) -> str:
    """What ``text`` should have been, naming the first character no accepted form uses."""
    expected = f"expected a decimal number such as {EXAMPLES}"
    for ch in _AROUND_TIMES.sub("*", text):
        if ch not in ALLOWED:
            return f"{expected}; found {character(ch)}"
    if any(ch in GROUP_SPACES for ch in text):
        return f"{expected} (thin spaces only between groups of three digits)"
    return expected


def is_typographic(text: str) -> bool:
    """Whether :func:`plain` reads ``text`` (plain decimals included)."""
    try:
        plain(text)
    except NotAPrintedNumber:
        return False
    return True
