"""Gradient checks against the certified gradient (issue 18), and the certified one by mpmath."""

from __future__ import annotations

from bpcheck.checking.check import Outcome
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.gradcheck.fixture_check import gradcheck_fixture
from bpcheck.gradcheck.result import Status
from bpcheck.io.loader import load
from bpcheck.model.problem import Layer
from tests.support.paths import ROOT

BABIN = ROOT / "fixtures" / "babin" / "babin.json"
SATURATED = ROOT / "tests" / "certified" / "saturated-sigmoid.json"


class SharedBiasGradientOff(LoopsEngine):
    """dE/db of a shared bias 1e-12 too large (relative): far inside any finite difference's
    tolerance at these scales, far outside float64's rounding."""

    def bias_gradient(self, layer: Layer, per_neuron: list[float]) -> list[float]:
        return [g * (1 + 1e-12) for g in super().bias_gradient(layer, per_neuron)]


def test_float_engines_are_checked_against_the_certified_gradient_and_it_by_mpmath() -> None:
    results = gradcheck_fixture(load(BABIN), {"loops": LoopsEngine(), "c": CertifiedEngine()})
    methods = {(r.engine, r.step): (r.method, r.outcome) for r in results}
    assert methods == {
        ("loops", 0): ("certified", Outcome.OK),
        ("certified", 0): ("mpmath", Outcome.OK),
    }
    loops = results[0]
    assert [r.parameter for r in loops.rows][-1] == "b[2]" and len(loops.rows) == 10
    # float64's rounding (8 radii of the 53-bit ball, FLOAT64_SAFETY), not a finite step's 1e-9
    assert all(r.tolerance < 1e-14 for r in loops.rows)


def test_a_gradient_off_by_1e_12_is_caught_only_by_the_certified_reference() -> None:
    engines = {"loops": SharedBiasGradientOff(), "c": CertifiedEngine()}
    [loops, _] = gradcheck_fixture(load(BABIN), engines)
    failed = {r.parameter for r in loops.rows if r.status == Status.FAIL}
    assert loops.outcome == Outcome.FAILED and failed == {"b[1]", "b[2]"}
    [richardson] = gradcheck_fixture(load(BABIN), {"loops": SharedBiasGradientOff()})
    assert richardson.method == "richardson" and richardson.outcome == Outcome.OK


def test_the_saturated_sigmoid_is_within_what_float64_can_do() -> None:
    """1.7e6 ULPs off, but float64's 53-bit run says its rounding can do that much."""
    [loops, _] = gradcheck_fixture(
        load(SATURATED), {"loops": LoopsEngine(), "c": CertifiedEngine()}
    )
    [row] = loops.rows
    assert loops.outcome == Outcome.OK and row.rel_error > 1e-10


def test_the_certified_method_without_a_certified_engine_is_skipped_with_its_reason() -> None:
    [result] = gradcheck_fixture(load(BABIN), {"loops": LoopsEngine()}, method="certified")
    assert result.outcome == Outcome.SKIPPED
    assert result.reason and "no engine that certifies its values" in result.reason
