"""The verdict rule, edge cases included: the printed string sets the precision."""

from __future__ import annotations

import math

import pytest

from bpcheck.model.verdicts import MATCH, MISMATCH, TRUNCATED, decimals, units_off, verdict


@pytest.mark.parametrize(
    ("printed", "places"),
    [("0.5932", 4), ("0.50", 2), ("1", 0), ("3.5e-05", 6), ("-0.0613", 4), ("1E+2", -2), (".5", 1)],
)
def test_decimals_counts_places_after_the_exponent(printed: str, places: int) -> None:
    assert decimals(printed) == places


@pytest.mark.parametrize(
    ("value", "printed", "expected"),
    [
        (0.59326999210718723, "0.5933", MATCH),
        (0.59326999210718723, "0.5932", TRUNCATED),
        (0.59326999210718723, "0.5931", MISMATCH),
        (0.5, "0.50", MATCH),
        (0.505, "0.50", MATCH),  # the float 0.505 is just below 0.505: within half a unit
        (0.51, "0.50", TRUNCATED),
        (0.4999, "0.50", MATCH),
        (0.494, "0.50", MISMATCH),
        (1.0, "1", MATCH),
        (1.4, "1", MATCH),
        (1.6, "1", TRUNCATED),
        (2.6, "1", MISMATCH),
        (3.5e-05, "3.5e-05", MATCH),
        (3.54e-05, "3.5e-05", MATCH),
        (3.56e-05, "3.5e-05", TRUNCATED),
        (3.51018778e-05, "0.0000351085", MISMATCH),
        (-0.59327, "-0.5933", MATCH),
        (-0.59327, "-0.5932", TRUNCATED),  # cut toward zero
        (-0.59327, "-0.5934", MISMATCH),
        (150.0, "1E+2", MATCH),
        (0.0, "0", MATCH),
    ],
)
def test_verdict(value: float, printed: str, expected: str) -> None:
    assert verdict(value, printed) == expected, f"{value!r} vs printed {printed}"


def test_half_way_values_round_either_way_within_a_few_ulps() -> None:
    # 0.125 is exact in binary: both neighbours at 2 decimals are half a unit away.
    assert verdict(0.125, "0.13") == MATCH
    assert verdict(0.125, "0.12") == MATCH
    # 0.3 is stored as 0.29999999999999998889...: cutting it still gives the author's 0.3
    assert verdict(0.1 + 0.2 - 0.0000000000000000555, "0.3") == MATCH
    assert verdict(math.nextafter(0.35, 0.0), "0.3") == MATCH


def test_truncation_forgives_a_few_ulps_at_the_cut() -> None:
    # float(0.3) is 0.2999999999999999889: cut at one decimal, exactly or within a few ULPs,
    # it gives 0.2 or 0.3. Both are accepted: a float cannot tell them apart.
    assert verdict(0.3, "0.2") == TRUNCATED
    assert verdict(0.3 * (1 + 1e-12), "0.2") == MISMATCH


def test_a_value_just_beyond_half_a_unit_is_not_a_match() -> None:
    assert verdict(0.12500000001, "0.12") == TRUNCATED
    assert verdict(0.12500000001, "0.13") == MATCH
    assert verdict(0.1350000001, "0.13") == TRUNCATED
    assert verdict(0.1399, "0.13") == TRUNCATED
    assert verdict(0.1401, "0.13") == MISMATCH


def test_non_finite_values_never_match() -> None:
    assert verdict(math.nan, "0.5") == MISMATCH
    assert verdict(math.inf, "1") == MISMATCH


def test_units_off_is_signed_in_printed_units() -> None:
    assert units_off(0.5937, "0.5932") == pytest.approx(5.0)
    assert units_off(0.5927, "0.5932") == pytest.approx(-5.0)


def test_a_print_needing_hundreds_of_digits_still_gets_a_verdict() -> None:
    # found by the property tests: a 100-digit decimal context raised InvalidOperation
    assert verdict(1.0, "4e-121") == MISMATCH
    assert verdict(1e120, "5") == MISMATCH
    assert verdict(5e-121, "5e-121") == MATCH
