"""Claims judged on certified values: the saturated sigmoid, verdicts on intervals, ULPs."""

from __future__ import annotations

import json
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking.certified import (
    Interval,
    digits_to_decide,
    disagreements,
    tolerance,
    ulps_off,
    verdict_on,
    within,
)
from bpcheck.checking.check import (
    ERRORED,
    OK,
    SKIPPED,
    check_fixture,
    judge_fixture,
    run_problem,
)
from bpcheck.checking.isolation import stop_workers
from bpcheck.checking.registry import in_process
from bpcheck.cli.main import main as cli_main
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.engine import Enclosures
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.verdicts import MATCH, MISMATCH, TRUNCATED, UNDECIDED
from tests.support.mp_reference import saturated_slope_ulps
from tests.support.paths import ROOT

SATURATED = ROOT / "tests" / "certified" / "saturated-sigmoid.json"
FLOAT_ENGINES = ("loops", "matrices", "autodiff")


def run_json(tmp_path: Path, *engines: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "run.json"
    chosen = [arg for name in engines for arg in ("--engine", name)]
    code = cli_main(["run", str(SATURATED), "--json", str(out), *chosen])
    return code, json.loads(out.read_text())


def claims_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (fixture,) = document["fixtures"]
    return {claim["id"]: claim for claim in fixture["claims"]}


@pytest.mark.slow
def test_the_float_engines_alone_call_the_saturated_slope_a_match(tmp_path: Path) -> None:
    """Without the certified engine, all three agree on a value wrong in its 10th digit."""
    code, document = run_json(tmp_path, *FLOAT_ENGINES)
    claims = claims_of(document)
    assert code == 1
    found = claims["slope-as-float64-gives-it"]
    assert found["verdict"] == MATCH and found["expected"] == MISMATCH
    assert claims["slope-certified"]["verdict"] == MISMATCH


def test_the_certified_engine_proves_the_saturated_slope_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = run_json(tmp_path, "loops", "matrices", "certified")
    printed = capsys.readouterr().out
    assert code == 0, printed
    claims = claims_of(document)
    assert claims["slope-as-float64-gives-it"]["verdict"] == MISMATCH
    assert claims["gradient-as-float64-gives-it"]["verdict"] == MISMATCH
    assert claims["slope-certified"]["verdict"] == MATCH
    expected = saturated_slope_ulps()  # about 1.7e6: 2.0e-10 relative at 1.1e-7
    for engine in ("loops", "matrices"):
        ulps = claims["slope-as-float64-gives-it"]["ulps"][engine]
        assert ulps == pytest.approx(expected, abs=2), (engine, ulps, expected)
        assert abs(claims["out"]["ulps"][engine]) <= 1
    (fixture,) = document["fixtures"]
    run = fixture["runs"]["certified"]
    assert run["precision"] >= 166 and run["digits"] >= 50
    assert "worst error in ULPs of the certified value: loops 1.72e+06" in printed


def test_a_float_engine_beyond_its_tolerance_of_the_certified_value_fails() -> None:
    """A float engine's number is judged against the certified one, not the printed one."""
    fixture = load(SATURATED)
    engines = {"certified": CertifiedEngine(), "loops": in_process(["loops"])["loops"]}
    result = check_fixture(fixture, engines)
    assert result.outcome == OK
    run = next(r for r in result.runs if r.engine == "loops")
    run.trace[0]["out[1,1]@1"] *= 1 + 1e-12
    again = judge_fixture(fixture, result.runs)
    out = next(c for c in again.claims if c.claim.id == "out")
    assert out.outcomes["loops"] != OK and "ULPs from the certified" in out.message
    assert [d.quantity for d in again.disagreements] == ["out[1,1]@1"]


# --- verdicts on an interval -----------------------------------------------------------


def interval(low: str, high: str) -> Interval:
    return Interval(Decimal(low), Decimal(high))


@pytest.mark.parametrize(
    ("low", "high", "printed", "expected"),
    [
        ("0.59317", "0.59322", "0.5932", MATCH),  # wholly within the half unit
        ("0.59325", "0.59325", "0.5932", MATCH),  # exactly on its end: a match, as for floats
        ("0.59326", "0.59329", "0.5932", TRUNCATED),  # cut, never rounded, to 0.5932
        ("0.59331", "0.59339", "0.5932", MISMATCH),
        ("0.593249", "0.593251", "0.5932", UNDECIDED),  # straddles the half unit's end
        ("0.593299", "0.593301", "0.5932", UNDECIDED),  # straddles truncation's end
        ("0.190999", "0.191001", "0.191", MATCH),  # around the printed number: still a match
        ("-0.00004", "0.00004", "0.0000", MATCH),
        ("0.14999", "0.15001", "0.2", UNDECIDED),  # 0.15 may be exactly the tie
    ],
)
def test_the_verdict_on_an_interval(low: str, high: str, printed: str, expected: str) -> None:
    assert verdict_on(interval(low, high), printed) == expected


def test_an_undecided_verdict_says_how_many_digits_decide_it() -> None:
    # the midpoint 0.59324995 is 5e-8 (8.4e-8 relative) below the boundary 0.59325
    assert digits_to_decide(interval("0.5932498", "0.5932501"), "0.5932") == 10
    assert digits_to_decide(interval("0.1499", "0.1501"), "0.2") is None  # a tie, maybe exact


def test_ulps_and_tolerance() -> None:
    third = interval("0.33333333333333333333333", "0.33333333333333333333334")
    nearest = float(Decimal(1) / 3)
    assert abs(ulps_off(nearest, third)) < 0.5
    assert ulps_off(math.nextafter(nearest, 1), third) == pytest.approx(1, abs=0.5)
    assert within(math.nextafter(nearest, 1), third, 0.0)  # the floor: 8 ULPs
    assert not within(nearest + 9 * math.ulp(nearest), third, 0.0)
    assert within(nearest + 9 * math.ulp(nearest), third, 1e-15)  # 2 x the 53-bit radius
    assert tolerance(third, 1e-15) == pytest.approx(2e-15)
    assert not within(math.nan, third, 1e-15)


def test_an_exact_zero_agrees_with_a_value_an_engine_flushing_subnormals_loses() -> None:
    # XLA flushes sigmoid(-710) = 4.5e-309 to 0; times a weight of -355 it is 7.9e-307
    lost = interval("7.9454080505733559e-307", "7.9454080505733560e-307")
    assert within(0.0, lost, 0.0) and within(-0.0, lost, 0.0)
    assert not within(1e-310, lost, 0.0)  # only an exact 0 is a flushed value
    assert not within(0.0, interval("1e-290", "1.0000001e-290"), 0.0)  # a real value lost


def test_inf_or_nan_agrees_only_where_float64_cannot_compute_the_value() -> None:
    # bce's log(1 - o) with o within 1e-18 of 1: float64 rounds o to 1 and gives inf
    finite = interval("41.353", "41.354")
    assert within(math.inf, finite, math.inf) and within(math.nan, finite, math.inf)
    assert not within(math.inf, finite, 1e-14)
    assert not within(math.nan, finite, 1e-14)
    assert not within(-math.inf, interval("-41.354", "-41.353"), 1e-14)


# --- enclosures are checked like traces ------------------------------------------------


class WrongBounds(CertifiedEngine):
    """Hands back an enclosure whose lower bound is above its upper one."""

    def enclose(self, problem, record):  # type: ignore[no-untyped-def]
        found = super().enclose(problem, record)
        bounds = {s: dict.fromkeys(v, ("1", "0")) for s, v in found.bounds.items()}
        return Enclosures(bounds, found.float64, found.precision, found.digits)


def test_bounds_out_of_order_are_an_errored_run() -> None:
    fixture = load(SATURATED)
    run = run_problem(WrongBounds(), fixture.problem, {0}, "certified")
    assert run.outcome == ERRORED and "lower <= upper" in str(run.reason)


# --- the time budget -------------------------------------------------------------------

MAZUR = ROOT / "fixtures" / "mazur" / "mazur-2015.json"


def test_a_long_training_beyond_the_budget_is_skipped_for_time_with_the_reason() -> None:
    fixture = load(MAZUR)
    run = run_problem(CertifiedEngine(budget=0.05), fixture.problem, {10000}, "certified")
    assert run.outcome == SKIPPED
    assert str(run.reason).startswith("skipped for time: 10001 steps at ")
    assert str(run.reason).endswith("beyond the budget of 0.05 s (BPCHECK_CERTIFIED_BUDGET)")


def test_run_certified_budget_says_which_fixtures_were_skipped_for_time(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPCHECK_CERTIFIED_BUDGET", "30")  # restored after the test
    chosen = ["--engine", "loops", "--engine", "certified", "--certified-budget", "0.05"]
    try:
        assert cli_main(["run", str(MAZUR), *chosen]) == 0
    finally:
        stop_workers()  # the certified worker keeps the budget it started with
    out = capsys.readouterr().out
    assert "mazur-2015: certified skipped: skipped for time: " in out
    assert "certified skipped 1 fixture" in out


def test_the_version_says_how_many_digits_are_certified() -> None:
    """The trace cache keys on the version: 60 digits are not 50 digits' results."""
    assert CertifiedEngine(digits=60).version == "1, 60 digits"
    assert CertifiedEngine().digits == 50 or "BPCHECK_CERTIFIED_DIGITS" in os.environ


# --- accept takes the certified verdict ------------------------------------------------


def test_accept_writes_the_certified_verdict_where_the_float_engines_call_it_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The float engines call the float64 slope a match; accept writes the certified mismatch."""
    document = json.loads(SATURATED.read_text())
    for claim in document["claims"]:
        claim["expect"] = "match"  # as a float engine would have it
    document["$schema"] = "../../fixtures/schema/fixture-v1.schema.json"
    path = tmp_path / "saturated.json"
    path.write_text(json.dumps(document, indent=2))
    chosen = ["--engine", "loops", "--engine", "certified"]
    assert cli_main(["accept", str(path), *chosen]) == 0, capsys.readouterr()
    expects = {c["id"]: c["expect"] for c in json.loads(path.read_text())["claims"]}
    assert expects["slope-as-float64-gives-it"] == MISMATCH
    assert expects["slope-certified"] == MATCH


# --- values beyond any exponent ----------------------------------------------------------


def test_values_beyond_any_exponent_are_bounded_by_a_power_of_ten_and_an_infinity() -> None:
    """sigmoid(-1e300) = e^-1e300 and bce's -1/out = -e^1e300: float64 gives 0 and -inf."""
    problem = Problem((Layer(((1e300,),), "sigmoid"),), ((-1.0,),), ((1.0,),), loss="bce", steps=0)
    certified = run_problem(CertifiedEngine(), problem, {0}, "certified")
    assert certified.enclosures is not None, certified.reason
    bounds = certified.enclosures.bounds[0]
    assert bounds["out[1,1]@1"] == ("0", "1e-100000")
    assert bounds["dE_dout[1,1]@1"] == ("-Infinity", "-1e100000")
    loops = run_problem(LoopsEngine(), problem, {0}, "loops")
    assert loops.trace[0]["out[1,1]@1"] == 0.0 and loops.trace[0]["dE_dout[1,1]@1"] == -math.inf
    assert "out[1,1]@1" not in {d.quantity for d in disagreements([certified, loops])}
