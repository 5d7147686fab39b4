"""Running one engine: every call guarded, results under the registered name, no step too many."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import replace
from types import SimpleNamespace

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import ERRORED, OK, check_fixture, run_problem, trained_as_far_as
from bpcheck.checking.isolation import IsolatedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.engine import Availability
from bpcheck.model.examples import mazur
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from tests.support.paths import ROOT

PROBLEM = mazur()


class Exits(LoopsEngine):
    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise SystemExit(0)


class AvailableRaises(LoopsEngine):
    def available(self) -> Availability:
        raise RuntimeError("cannot tell")


class Spy(LoopsEngine):
    """Remembers the problem it was given; runs it only if it is short."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        self.given = problem
        if problem.steps > 1000:
            raise AssertionError(f"asked to train {problem.steps} steps")
        return super().run(problem, record)


def test_sys_exit_in_an_engine_is_its_error_not_bpchecks() -> None:
    run = run_problem(Exits(), PROBLEM, {0}, "exits")
    assert (run.outcome, run.reason) == (ERRORED, "SystemExit: 0")


def test_available_raising_is_an_error_not_a_crash() -> None:
    run = run_problem(AvailableRaises(), PROBLEM, {0}, "broken")
    assert (run.outcome, run.reason) == (ERRORED, "RuntimeError: cannot tell")


def test_results_are_filed_under_the_registered_name_not_the_engines_own() -> None:
    fixture = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    impostor = LoopsEngine()  # its own name is "loops" too
    result = check_fixture(fixture, {"loops": LoopsEngine(), "impostor": impostor})
    assert [run.engine for run in result.runs] == ["loops", "impostor"]
    assert all(set(claim.values) == {"loops", "impostor"} for claim in result.claims)


def test_an_engine_trains_only_as_far_as_the_last_step_recorded() -> None:
    spy = Spy()
    run = run_problem(spy, replace(PROBLEM, steps=10**12), {0, 1})
    assert run.outcome == OK, run.reason
    assert spy.given.steps == 2  # the last step recorded is trained too
    assert trained_as_far_as(replace(PROBLEM, steps=5), set()).steps == 0
    assert trained_as_far_as(replace(PROBLEM, steps=5), {4}).steps == 5
    assert trained_as_far_as(replace(PROBLEM, steps=5), {9}).steps == 5  # never more


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
def test_values_at_a_step_are_those_of_the_full_training(order: str) -> None:
    """Cutting the training must not change a recorded value: with sequential updates a
    hidden delta at step k is taken after step k updated the output layer."""
    problem = replace(PROBLEM, steps=6, update_order=order)
    full = LoopsEngine().run(problem, {0, 1, 2})
    for step in (0, 1, 2):
        cut = run_problem(LoopsEngine(), problem, {step}, "loops")
        assert cut.outcome == OK, cut.reason
        assert cut.trace[step] == full[step], f"step {step} differs when training is cut"


def test_a_fixture_claiming_step_0_of_a_huge_run_runs_at_once() -> None:
    fixture = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    at_0 = tuple(c for c in fixture.claims if c.relation is None and c.step == 0)
    huge = replace(fixture, problem=replace(fixture.problem, steps=10**12), claims=at_0)
    spy = Spy()
    result = check_fixture(huge, {"spy": spy})
    assert spy.given.steps == 1
    assert result.runs[0].outcome == OK
    assert [c.outcome for c in result.claims] == [OK] * len(at_0)


def fake_points(*points: tuple[str, str, str]) -> list[SimpleNamespace]:
    """Entry points as importlib.metadata gives them: name, value and the distribution."""
    return [
        SimpleNamespace(name=name, value=value, dist=SimpleNamespace(name=dist, version="1.0"))
        for name, value, dist in points
    ]


def test_a_name_two_distributions_register_is_an_error_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    points = fake_points(
        ("loops", "bpcheck.engines.loops:LoopsEngine", "bpcheck"),
        ("twin", "first_plugin:Engine", "first-plugin"),
        ("twin", "second_plugin:Engine", "second-plugin"),
    )
    monkeypatch.setattr(registry, "entry_points", lambda group: points)
    assert registry.names() == ["loops", "twin"]
    engines = registry.select()
    twin = engines["twin"]
    assert isinstance(twin, IsolatedEngine)
    started = time.monotonic()
    run = run_problem(twin, PROBLEM, {0}, "twin")
    assert run.outcome == ERRORED
    assert run.reason == (
        "the engine name 'twin' is registered by first-plugin 1.0 (first_plugin:Engine) and "
        "second-plugin 1.0 (second_plugin:Engine); expected each name once (uninstall one, "
        "or rename its entry point)"
    )
    assert time.monotonic() - started < 5  # never started: nothing to wait for
    assert run_problem(engines["loops"], PROBLEM, {0}, "loops").outcome == OK


def test_the_registry_hands_out_isolated_engines_and_builds_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    points = fake_points(("boom", "module_that_would_explode:Engine", "boom"))
    monkeypatch.setattr(registry, "entry_points", lambda group: points)
    engines = registry.select()  # nothing imported: the worker would load it when asked
    assert isinstance(engines["boom"], IsolatedEngine)
    assert registry.with_timeout(engines, 3.0)["boom"].timeout == 3.0  # type: ignore[attr-defined]
