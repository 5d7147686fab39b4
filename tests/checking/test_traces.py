"""A trace of the wrong shape makes the engine's run errored, with what is wrong and where."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any

import pytest

from bpcheck.checking.check import ERRORED, OK, run_problem
from bpcheck.checking.traces import BadTrace, _expected_names, checked_trace
from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.examples import mazur, mazur_like
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace, names_at_step
from bpcheck.testing.conformance import varied_problems

PROBLEM = mazur()


def good(record: Collection[int] = (0, 1)) -> Trace:
    return LoopsEngine().run(PROBLEM, set(record))


class Returns(LoopsEngine):
    """The loops engine, its trace changed by ``change`` before it is returned."""

    def __init__(self, change: Callable[[Trace], Any]) -> None:
        self.change = change

    def run(self, problem: Problem, record: Collection[int]) -> Any:
        return self.change(super().run(problem, record))


def with_value(name: str, value: object) -> Callable[[Trace], Any]:
    def change(trace: Trace) -> Any:
        trace[0][name] = value  # type: ignore[assignment]
        return trace

    return change


BROKEN: dict[str, tuple[Callable[[Trace], Any], str]] = {
    "a list": (lambda t: [1.0, 2.0], "run() returned a list; expected a dict of step -> values"),
    "None": (lambda t: None, "run() returned None; expected a dict"),
    "a string step": (lambda t: {"0": t[0], 1: t[1]}, "step key '0' is a str ('0')"),
    "a bool step": (lambda t: {False: t[0], 1: t[1]}, "step key False is a bool"),
    "a step not asked for": (lambda t: {**t, 7: t[0]}, "step 7 was not asked for (asked: 0, 1)"),
    "a missing step": (lambda t: {0: t[0]}, "step 1 is missing (asked: 0, 1)"),
    "values not a dict": (lambda t: {0: list(t[0].values()), 1: t[1]}, "step 0 holds a list"),
    "a string value": (with_value("E", "0.29"), "step 0: E is a str ('0.29'); expected a float"),
    "None as a value": (with_value("E", None), "step 0: E is None; expected a float"),
    "a bool value": (with_value("E", True), "step 0: E is a bool (True); expected a float"),
    "an unknown name": (
        with_value("w[9,9,9]", 1.0),
        "step 0: 'w[9,9,9]' is not a quantity of this problem",
    ),
    "a name not canonical": (with_value("out[1,1]", 1.0), "'out[1,1]' is not a quantity"),
    "a missing name": (
        lambda t: {0: {k: v for k, v in t[0].items() if k != "E"}, 1: t[1]},
        "step 0: E is missing (1 name(s) missing)",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_wrong_trace_is_errored_with_a_precise_reason(case: str) -> None:
    change, reason = BROKEN[case]
    run = run_problem(Returns(change), PROBLEM, {0, 1}, "broken")
    assert run.outcome == ERRORED
    assert run.reason is not None and run.reason.startswith("bad trace: "), run.reason
    assert reason in run.reason


def test_a_good_trace_comes_back_as_plain_floats() -> None:
    trace = checked_trace({0: {**good()[0], "E": 1}, 1: good()[1]}, PROBLEM, [0, 1])
    assert type(trace[0]["E"]) is float and trace[0]["E"] == 1.0
    assert trace[1] == good()[1]


def test_nan_and_infinities_are_values_not_errors() -> None:
    trace = good()
    trace[0]["E"], trace[1]["E"] = math.nan, -math.inf
    checked = checked_trace(trace, PROBLEM, {0, 1})
    assert math.isnan(checked[0]["E"]) and checked[1]["E"] == -math.inf


def test_numpy_floats_are_floats() -> None:
    np = pytest.importorskip("numpy")
    trace = good([0])
    trace[0]["E"] = np.float64(0.5)
    assert checked_trace(trace, PROBLEM, [0])[0]["E"] == 0.5
    trace[0]["E"] = np.float32(0.5)
    with pytest.raises(BadTrace, match="E is a float32; expected a float"):
        checked_trace(trace, PROBLEM, [0])


def test_a_good_engine_is_ok() -> None:
    assert run_problem(LoopsEngine(), PROBLEM, {0, 1}).outcome == OK


def test_the_names_memo_answers_what_listing_the_names_answers() -> None:
    """The names a trace must hold are kept by what they depend on (the layers' sizes and
    biases, the inputs, targets, the batch, an update); each problem below differs from
    another in one of those only, so a key that left one out would answer another's names."""
    base = mazur_like(steps=2)
    one, two = base.layers
    problems = [
        base,
        replace(base, loss="output"),
        replace(base, layers=(replace(one, bias_kind="shared", bias=(0.35,)), two)),
        replace(base, layers=(one, replace(two, bias_trainable=False))),
        replace(base, layers=(one, replace(two, bias_kind="none", bias=()))),
        replace(base, inputs=((0.05, 0.10), (0.2, 0.3)), targets=((0.01, 0.99), (0.5, 0.5))),
        replace(
            base,
            inputs=((0.05, 0.10), (0.2, 0.3)),
            targets=((0.01, 0.99), (0.5, 0.5)),
            batch="per_sample",
        ),
        *(problem for _, problem in varied_problems()),
    ]
    for problem in problems:  # filled first, then every answer checked against a listing
        for step in range(problem.steps + 1):
            for extended in (True, False):
                _expected_names(problem, extended)(step)
    for problem in problems:
        for step in range(problem.steps + 1):
            for extended in (True, False):
                expected = frozenset(names_at_step(problem, step, extended=extended))
                assert _expected_names(problem, extended)(step) == expected, (problem, step)
