"""Printed numbers as authors print them: each typographic form is judged as the plain decimal.

The checks compare :func:`plain`'s reading with the plain decimal an author would
have written (never with a verdict computed the same way), and verdicts on the
typographic string with verdicts on that plain decimal.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.model.decimals import places_of
from bpcheck.model.printed import NotAPrintedNumber, character, plain
from bpcheck.model.verdicts import decimals, is_match, printed_problem, units_off, verdict

MINUS = "\u2212"
TIMES = "\u00d7"
THIN = "\u2009"
NARROW_NBSP = "\u202f"
NBSP = "\u00a0"

SAME = [
    (f"{MINUS}0.0361", "-0.0361"),
    (f"2.406 {TIMES} 10^-3", "0.002406"),
    (f"2.406{TIMES}10^-3", "0.002406"),
    ("2.406 * 10^-3", "0.002406"),
    ("2.406*10^-3", "0.002406"),
    ("2.406x10^-3", "0.002406"),
    (f"2.406 {TIMES} 10^{MINUS}3", "0.002406"),
    (f"2.406 {TIMES} 10^(-3)", "0.002406"),
    (f"2.406 {TIMES} 10^{{-3}}", "0.002406"),
    (f"2.406{TIMES}10\u207b\u00b3", "0.002406"),
    (f"2.406e{MINUS}3", "0.002406"),
    (f"{MINUS}2.406E{MINUS}03", "-0.002406"),
    (f"1.5 {TIMES} 10^2", "1.5E+2"),  # to the nearest ten, like 1.5E+2
    (f"1.5 {TIMES} 10\u00b2", "1.5E+2"),
    ("+0.5", "0.5"),
    (f"1{THIN}234.5", "1234.5"),
    (f"1{NARROW_NBSP}234{NARROW_NBSP}567", "1234567"),
    (f"12{NBSP}345.678{NBSP}9", "12345.6789"),
    (f"0.123{THIN}45", "0.12345"),
]


@pytest.mark.parametrize(("typographic", "written"), SAME)
def test_a_typographic_form_means_the_plain_decimal(typographic: str, written: str) -> None:
    assert Decimal(plain(typographic)) == Decimal(written)
    assert places_of(typographic) == places_of(written) == decimals(typographic)
    assert printed_problem(typographic) is None


@pytest.mark.parametrize(("typographic", "written"), SAME)
@pytest.mark.parametrize("scale", [0.0, 0.4, 0.6, 1.0, 3.0])
def test_a_typographic_form_gets_the_plain_decimal_verdict(
    typographic: str, written: str, scale: float
) -> None:
    """Values near, at and beyond the half-unit boundary get the same verdict either way."""
    unit = float(Decimal(1).scaleb(-places_of(written)))
    for sign in (1, -1):
        value = float(Decimal(written)) + sign * scale * unit
        assert verdict(value, typographic) == verdict(value, written)
        assert is_match(value, typographic) == is_match(value, written)
        assert units_off(value, typographic) == units_off(value, written)


def test_the_acceptance_examples() -> None:
    assert verdict(-0.03612, f"{MINUS}0.0361") == verdict(-0.03612, "-0.0361") == "match"
    assert verdict(0.0024064, f"2.406 {TIMES} 10^-3") == "match"
    assert verdict(0.0024066, f"2.406 {TIMES} 10^-3") == "truncated"  # cut at 6 places
    assert verdict(0.0024076, f"2.406 {TIMES} 10^-3") == "mismatch"
    assert verdict(0.0024076, "0.002406") == "mismatch"


@pytest.mark.parametrize("text", ["0.5", "-0.5932", "3.5e-05", ".5", "5.", "1E+2", "0e-400"])
def test_a_plain_decimal_comes_back_unchanged(text: str) -> None:
    assert plain(text) == text


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("0,5", "',' (U+002C COMMA)"),
        ("\u20130.5", "'\u2013' (U+2013 EN DASH)"),
        ("\uff10.5", "'\uff10' (U+FF10 FULLWIDTH DIGIT ZERO)"),
        ("0.75\n", "'\\n' (U+000A LINE FEED)"),
        (" 0.5", "' ' (U+0020 SPACE)"),
        ("0.5 3", "' ' (U+0020 SPACE)"),
        ("1'234.5", '"\'" (U+0027 APOSTROPHE)'),
        ("0.5%", "'%' (U+0025 PERCENT SIGN)"),
    ],
)
def test_a_refused_form_names_the_character(text: str, named: str) -> None:
    found = printed_problem(text)
    assert found is not None and found.endswith(f"found {named}"), found
    with pytest.raises(NotAPrintedNumber, match="expected a decimal number"):
        plain(text)


@pytest.mark.parametrize(
    "text",
    [
        f"1{THIN}23",  # a group of two
        f"12{THIN}3456",  # a group of four
        f"{THIN}0.5",
        "1.2.3",
        ".",
        "+",
        f"{TIMES} 10^-3",
        f"2.406 {TIMES} 10",
        f"2.406 {TIMES} 10^",
        "2.406 * 10^-3.5",
        f"2.406 {TIMES}  10^-3",
        "--0.5",
        "2.406e",
    ],
)
def test_a_malformed_form_is_refused(text: str) -> None:
    found = printed_problem(text)
    assert found is not None and found.startswith("expected a decimal number"), found


def test_a_character_is_named_with_its_code_point() -> None:
    assert character(MINUS) == f"'{MINUS}' (U+2212 MINUS SIGN)"
    assert character("-") == "'-' (U+002D HYPHEN-MINUS)"


@given(
    mantissa=st.decimals(min_value=-1000, max_value=1000, allow_nan=False, places=4),
    exponent=st.integers(-30, 30),
)
def test_every_power_form_is_the_e_form(mantissa: Decimal, exponent: int) -> None:
    """``m * 10^e`` (and with a times sign, or x) means ``m e e`` for any mantissa, exponent."""
    text = str(mantissa) if "E" not in str(mantissa) else format(mantissa, "f")
    e_form = f"{text}e{exponent}"
    for times in (f" {TIMES} ", "*", " * ", "x", TIMES):
        power = str(exponent).replace("-", MINUS)
        written = f"{text}{times}10^{power}".replace("-", MINUS, 1)
        assert Decimal(plain(written)) == Decimal(e_form)
        assert places_of(written) == places_of(e_form)
