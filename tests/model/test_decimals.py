"""One helper rounds and cuts at d decimals for verdicts, diagnoses and property tests."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from bpcheck.model.decimals import at_places, places_of
from bpcheck.model.verdicts import MATCH, TRUNCATED, VERDICTS, Verdict, verdict


@pytest.mark.parametrize(
    ("value", "places", "mode", "expected"),
    [
        (0.59326999210718723, 4, "round", "0.5933"),
        (0.59326999210718723, 4, "cut", "0.5932"),
        (-0.59327, 4, "cut", "-0.5932"),  # toward zero
        (0.125, 2, "round", "0.12"),  # exact half: to even
        (0.135, 2, "round", "0.14"),  # the float 0.135 is just above 0.135
        (0.99, 1, "round", "1.0"),  # a carry past the point
        (150.0, -2, "round", "2E+2"),
        (150.0, -2, "cut", "1E+2"),
        (1.5e20, 10, "cut", "150000000000000000000.0000000000"),  # 31 digits
    ],
)
def test_at_places(value: float, places: int, mode: str, expected: str) -> None:
    assert str(at_places(value, places, mode)) == expected  # type: ignore[arg-type]


def test_at_places_is_exact_for_any_float() -> None:
    """The largest float at 20 places and the smallest at 1100: no digit lost."""
    largest, smallest = 1.7976931348623157e308, 5e-324
    assert at_places(largest, 20, "cut") == Decimal(largest)
    assert at_places(smallest, 1100, "round") == Decimal(smallest)


def test_at_places_of_a_value_that_is_not_finite_is_an_error() -> None:
    with pytest.raises(ValueError, match="no decimal places"):
        at_places(math.inf, 2, "round")


@pytest.mark.parametrize(
    ("printed", "places"), [("0.50", 2), ("3.5e-05", 6), ("1E+2", -2), (".5", 1), ("7", 0)]
)
def test_places_of(printed: str, places: int) -> None:
    assert places_of(printed) == places


def test_verdicts_are_their_strings() -> None:
    """Code that compares a verdict with "match", or writes it to JSON, keeps working."""
    assert verdict(0.5, "0.5") == "match" and verdict(0.5, "0.5") is MATCH
    assert isinstance(verdict(0.51, "0.5"), Verdict) and f"{TRUNCATED}" == "truncated"
    assert VERDICTS == ("match", "truncated", "mismatch")
