"""The report's view of certified values: a ULPs column per claim, a histogram per engine."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("pandas", reason="the report extra is not installed")

from bpcheck.checking.check import check_fixture
from bpcheck.checking.results import run_result
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine
from bpcheck.report.markdown import markdown
from bpcheck.report.tables import Report, build_report, ulp_bucket
from tests.support.mp_reference import saturated_slope_ulps
from tests.support.paths import ROOT

SATURATED = ROOT / "tests" / "certified" / "saturated-sigmoid.json"


def report_of(engines: dict[str, Engine]) -> Report:
    result = check_fixture(load(SATURATED), engines)
    run = run_result(engines, [result])
    return build_report(run, list(engines), {}, [])


def test_the_histogram_counts_each_float_engines_claims_by_their_ulps() -> None:
    report = report_of({"loops": LoopsEngine(), "certified": CertifiedEngine()})
    assert report.ulps is not None
    table = report.ulps.frame
    counts = dict(zip(table["|ULPs|"], table["loops"], strict=True))
    # out is within 1 ULP; the slope and the gradient, two claims each, 1.7e6 ULPs off
    assert counts == {
        "0": 0,
        "≤ 1": 1,
        "≤ 4": 0,
        "≤ 16": 0,
        "≤ 256": 0,
        "≤ 65536": 0,
        "over 65536": 4,
    }
    claims = report.fixtures[0].claims.frame
    slope = claims[claims["claim"] == "slope-certified"]["ULPs off"].item()
    assert slope == pytest.approx(saturated_slope_ulps(), abs=2)
    assert "## Float engines against the certified values" in markdown(report)


def test_without_certified_values_there_is_no_histogram_and_no_ulps() -> None:
    report = report_of({"loops": LoopsEngine()})
    assert report.ulps is None
    claims = report.fixtures[0].claims.frame
    assert all(math.isnan(v) for v in claims["ULPs off"])
    assert "No engine certified its values in this run" in markdown(report)


@pytest.mark.parametrize(
    ("ulps", "label"), [(0.0, "0"), (-0.5, "≤ 1"), (4.0, "≤ 4"), (1e6, "over 65536")]
)
def test_bins(ulps: float, label: str) -> None:
    assert ulp_bucket(ulps) == label
