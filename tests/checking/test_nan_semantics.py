"""NaN and infinity (see the README): what engines give, how agreement and --json treat them."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking.certified import disagreements as certified_disagreements
from bpcheck.checking.check import (
    AGREEMENT_REL,
    OK,
    SKIPPED,
    EngineRun,
    agree,
    check_fixture,
    disagreements,
    run_problem,
)
from bpcheck.checking.results import run_result
from bpcheck.checking.run_result import read_run_result, write_run_result
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine, encloses
from bpcheck.model.examples import mazur_like
from bpcheck.model.problem import Layer, Problem
from tests.support.paths import ROOT

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([NAN, NAN, NAN], True),
        ([NAN, 1.0], False),
        ([1.0, NAN], False),
        ([1.0, 1.0, NAN], False),
        ([INF, INF], True),
        ([INF, -INF], False),
        ([INF, 1e308], False),
        ([-INF, NAN], False),
        ([0.5, 0.5 * (1 + 1e-13)], True),
        ([0.5, 0.5 * (1 + 1e-11)], False),
    ],
)
def test_agreement_rules(values: list[float], expected: bool) -> None:
    assert agree(values, AGREEMENT_REL) is expected


@pytest.mark.parametrize("position", [0, 1, 2])
def test_an_engine_giving_nan_where_the_others_give_numbers_is_flagged_in_any_order(
    position: int,
) -> None:
    trace = {0: {"E": 0.25, "w[1,1,1]": 0.5}}
    runs = [EngineRun(name, OK, trace=trace) for name in ("a", "b")]
    runs.insert(position, EngineRun("nan", OK, trace={0: {"E": NAN, "w[1,1,1]": NAN}}))
    found = disagreements(runs)
    assert [d.quantity for d in found] == ["E", "w[1,1,1]"]
    assert all(math.isnan(d.values["nan"]) for d in found)


def test_engines_that_all_diverge_to_nan_agree() -> None:
    runs = [EngineRun(name, OK, trace={0: {"E": NAN, "w": INF}}) for name in ("a", "b", "c")]
    assert disagreements(runs) == []


def nan_weight(activation: str) -> Problem:
    """One neuron whose weight is NaN: its net input is NaN, whatever the activation does."""
    layer = Layer(((NAN, 0.5),), activation, "per_neuron", (0.1,))
    return Problem((layer,), ((1.0, 2.0),), ((1.0,),), loss="half_sse", steps=1)


def values(engines: dict[str, Engine], problem: Problem, step: int = 0) -> dict[str, Any]:
    """Each float engine's trace at ``step``, after checking that all of them ran and agree.

    NaN and the infinities are float64's: the certified engine computes the exact real
    numbers of the problem, where nothing overflows and no input is NaN (its own tests
    below), so it is left out here.
    """
    engines = {name: engine for name, engine in engines.items() if not encloses(engine)}
    assert len(engines) >= 2, sorted(engines)
    record = set(range(problem.steps + 1))
    runs = [run_problem(engine, problem, record, name) for name, engine in engines.items()]
    assert [r.outcome for r in runs] == [OK] * len(runs), [r.reason for r in runs]
    assert not disagreements(runs), disagreements(runs)[:3]
    return {run.engine: run.trace[step] for run in runs}


@pytest.mark.slow  # compiles the JAX engine for several shapes
def test_relu_of_nan_is_nan_with_slope_1_in_every_engine(available: dict[str, Engine]) -> None:
    for name, trace in values(available, nan_weight("relu")).items():
        assert math.isnan(trace["out[1,1]@1"]), name
        assert trace["dout_dnet[1,1]@1"] == 1.0, name
        assert math.isnan(trace["delta[1,1]@1"]) and math.isnan(trace["E"]), name


@pytest.mark.slow
def test_log_of_0_in_a_loss_is_an_infinity_not_an_error(available: dict[str, Engine]) -> None:
    saturated = Layer(((1000.0, 1000.0),), "sigmoid")  # out is exactly 1.0
    problem = Problem((saturated,), ((1.0, 1.0),), ((0.0,),), loss="bce", steps=1)
    for name, trace in values(available, problem).items():
        assert trace["E"] == INF and trace["dE_dout[1,1]@1"] == INF, name


@pytest.mark.slow
def test_overflow_gives_infinity_not_an_error(available: dict[str, Engine]) -> None:
    huge = Layer(((1e200,),), "identity")
    problem = Problem((huge,), ((1e200,),), ((0.0,),), loss="sse", steps=1)
    for name, trace in values(available, problem).items():
        assert trace["net[1,1]@1"] == INF and trace["E"] == INF, name


@pytest.mark.slow
def test_a_network_that_diverges_is_diverged_alike_in_every_engine(
    available: dict[str, Engine],
) -> None:
    tutorial = mazur_like(steps=6, learning_rate=1e300, loss="mse")
    hidden, top = tutorial.layers
    layers = (replace(hidden, activation="tanh"), replace(top, activation="identity"))
    last = values(available, replace(tutorial, layers=layers), step=6)
    assert all(math.isnan(trace["w[1,1,1]"]) and math.isnan(trace["E"]) for trace in last.values())


def test_the_certified_engine_skips_a_nan_input_with_its_reason() -> None:
    run = run_problem(CertifiedEngine(), nan_weight("relu"), {0, 1}, "certified")
    assert run.outcome == SKIPPED
    assert run.reason == "an input or parameter is not a finite number: no decimal to certify"


def test_where_float64_overflows_the_certified_value_is_finite_and_the_engines_agree() -> None:
    """net = 1e200 * 1e200 = 1e400 exactly: beyond float64, so inf is its nearest float64."""
    huge = Layer(((1e200,),), "identity")
    problem = Problem((huge,), ((1e200,),), ((0.0,),), loss="sse", steps=1)
    certified = run_problem(CertifiedEngine(), problem, {0}, "certified")
    assert certified.enclosures is not None
    low, high = certified.enclosures.bounds[0]["net[1,1]@1"]
    assert Decimal(low) <= Decimal("1e400") <= Decimal(high)
    floats = run_problem(LoopsEngine(), problem, {0}, "loops")
    assert floats.trace[0]["net[1,1]@1"] == INF
    assert certified_disagreements([certified, floats]) == []


def test_run_json_is_strict_json_and_reads_back_nan_and_infinities(tmp_path: Path) -> None:
    fixture = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    result = check_fixture(fixture, {})
    claim = result.claims[0]
    result.claims[0] = replace(claim, values={"a": NAN, "b": INF, "c": None}, reference=-INF)
    result.disagreements = disagreements(
        [EngineRun("a", OK, trace={0: {"E": NAN}}), EngineRun("b", OK, trace={0: {"E": -INF}})]
    )
    path = tmp_path / "run.json"
    write_run_result(path, run_result({}, [result]))

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not strict JSON")

    document = json.loads(path.read_text(), parse_constant=refuse)
    written = document["fixtures"][0]
    assert written["claims"][0]["values"] == {"a": "NaN", "b": "Infinity", "c": None}
    assert written["claims"][0]["value"] == "-Infinity"
    assert written["disagreements"][0]["values"] == {"a": "NaN", "b": "-Infinity"}
    read = read_run_result(path).fixtures[0]
    values_read = read.claims[0].values
    assert math.isnan(values_read["a"] or 0.0) and values_read["b"] == INF
    assert values_read["c"] is None and read.claims[0].value == -INF
    assert read.disagreements[0].values["b"] == -INF
