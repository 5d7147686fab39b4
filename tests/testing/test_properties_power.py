"""Each property can fail: Hypothesis finds the counterexample a broken engine, verdict
function, loader or saver gives it.

A property no broken implementation can fail checks nothing.  Every ``check_*``
of ``tests/test_properties.py`` is run here, through :func:`hypothesis.find`,
against one planted mistake; the test passes when Hypothesis finds an example
on which the check raises ``AssertionError``.  For the engine properties the
failure message must also hold a fixture that loads and that, run by the
plugin's own machinery, fails the broken engine and passes the reference one:
the counterexample really is a ready regression fixture.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from bpcheck.checking.check import OK, check_fixture
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import FixtureError, build_problem, load, read_json
from bpcheck.model import verdicts
from bpcheck.model.engine import Availability
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.quantities import Trace
from bpcheck.testing import fixture_strategies as bfs
from bpcheck.testing import strategies as bst
from tests.support import laws as props
from tests.support.broken_engines import broken_engine, mutant

pytestmark = pytest.mark.property

T = TypeVar("T")

POWER = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
"""Fixed and reproducible, not the profile's: a power test must not depend on luck.

No shrinking: finding a counterexample is what is tested, and shrinking one
costs far more runs than finding it."""

LOOPS = props.REFERENCE
CHEAP_PROBLEMS = props.problems_for([LOOPS])
"""Free architectures, honest numbers: every broken engine here is a cheap loops copy."""


def counterexample(strategy: SearchStrategy[T], check: Callable[[T], None]) -> tuple[T, str]:
    """The first example on which ``check`` fails, with its failure message."""

    def fails(example: T) -> bool:
        try:
            check(example)
        except AssertionError:
            return True
        return False

    example = find(strategy, fails, settings=POWER)
    try:
        check(example)
    except AssertionError as error:
        return example, str(error)
    raise AssertionError(f"the counterexample no longer fails: {example!r}")  # pragma: no cover


def fixture_in(message: str, folder: Path) -> Fixture:
    """The fixture a failure message carries, saved and loaded as a user would."""
    assert props.FIXTURE_START in message, f"no fixture in the message:\n{message}"
    text = message.split(props.FIXTURE_START, 1)[1].split(props.FIXTURE_END, 1)[0]
    text = text.split("\n", 1)[1]
    path = folder / "counterexample.json"
    path.write_text(text, "utf-8")
    return load(path)


def assert_fixture_catches(message: str, folder: Path, broken: Any) -> None:
    """The message's fixture fails ``broken`` and passes the reference engine."""
    fixture = fixture_in(message, folder)
    assert fixture.claims, "the counterexample fixture has no claims"
    good = check_fixture(fixture, {LOOPS.name: LOOPS})
    assert all(c.outcome == OK for c in good.claims), [c.message for c in good.claims]
    bad = check_fixture(fixture, {broken.name: broken})
    assert any(c.outcome != OK for c in bad.claims), "the fixture does not catch the engine"


# --- fakes: engines with one planted mistake ---------------------------------------------


class Wrapped:
    """The loops engine with its problem or trace changed on the way: a planted mistake."""

    version = "0"

    def __init__(
        self,
        name: str,
        problem: Callable[[Problem], Problem] = lambda p: p,
        trace: Callable[[Problem, Trace], Trace] = lambda p, t: t,
    ) -> None:
        self.name = name
        self.capabilities = LOOPS.capabilities
        self.change_problem = problem
        self.change_trace = trace

    def available(self) -> Availability:
        return Availability(True)

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        return self.change_trace(problem, LOOPS.run(self.change_problem(problem), record))


def negated_loss(problem: Problem, trace: Trace) -> Trace:
    """Cross-entropy written without its minus sign: every loss term negated."""
    return {
        step: {n: -v if n == "E" or n.startswith("E[") else v for n, v in values.items()}
        for step, values in trace.items()
    }


def ascending(problem: Problem) -> Problem:
    """p + rate * g: the update's sign flipped."""
    return replace(problem, learning_rate=-problem.learning_rate)


def online_when_sequential(problem: Problem) -> Problem:
    """'sequential' read as online learning: one sample per update."""
    if problem.update_order != "sequential":
        return problem
    return replace(problem, batch="per_sample", update_order="simultaneous")


def averaged_batch(problem: Problem, trace: Trace) -> Trace:
    """The batch gradient divided by the batch size for every loss (only mse is a mean)."""
    if problem.batch != "full":
        return trace
    n = problem.n_samples
    return {
        step: {k: v / n if k.startswith("dE_d") else v for k, v in values.items()}
        for step, values in trace.items()
    }


class UpdatedBeforeRecording(Wrapped):
    """Records each step after its update: step 0 already moved."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        later = replace(problem, steps=problem.steps + 1)
        trace = LOOPS.run(later, {step + 1 for step in record})
        return {step - 1: values for step, values in trace.items()}


class SharedBiasFromFirstNeuron(LoopsEngine):
    """A shared bias's gradient taken from the layer's first delta instead of their sum."""

    def bias_gradient(self, layer: Layer, per_neuron: list[float]) -> list[float]:
        if layer.bias_kind == "shared":
            return [per_neuron[0]]
        return super().bias_gradient(layer, per_neuron)


# --- engine properties -------------------------------------------------------------------


def test_agreement_catches_a_float32_engine(tmp_path: Path) -> None:
    broken = broken_engine("float32")
    engines = {"loops": LOOPS, "float32": broken}
    _, message = counterexample(CHEAP_PROBLEMS, lambda p: props.check_engines_agree(engines, p))
    assert "float32 disagrees with loops" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_finite_differences_catch_a_forgotten_output_derivative(tmp_path: Path) -> None:
    broken = broken_engine("no-output-derivative")
    picks = st.lists(st.integers(0, 10**6), min_size=1, max_size=4)
    _, message = counterexample(
        st.tuples(CHEAP_PROBLEMS, picks),
        lambda case: props.check_gradients_match_finite_differences(broken, *case),
    )
    assert "differs from finite differences" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_central_differences_catch_a_forgotten_output_derivative(tmp_path: Path) -> None:
    broken = broken_engine("no-output-derivative")
    picks = st.lists(st.integers(0, 10**6), min_size=1, max_size=4)
    _, message = counterexample(
        st.tuples(CHEAP_PROBLEMS, picks, st.just("central")),
        lambda case: props.check_gradients_match_finite_differences(broken, *case),
    )
    assert "differs from finite differences" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_the_loss_law_catches_a_negated_loss(tmp_path: Path) -> None:
    broken = Wrapped("negated-loss", trace=negated_loss)
    _, message = counterexample(
        CHEAP_PROBLEMS, lambda p: props.check_loss_is_never_negative(broken, p)
    )
    assert "negative loss" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_the_descent_law_catches_an_ascending_update(tmp_path: Path) -> None:
    broken = Wrapped("ascending", problem=ascending)
    _, message = counterexample(
        CHEAP_PROBLEMS, lambda p: props.check_small_step_does_not_increase_loss(broken, p)
    )
    assert "increased E" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_the_one_layer_law_catches_sequential_read_as_online(tmp_path: Path) -> None:
    broken = Wrapped("online-when-sequential", problem=online_when_sequential)
    one_layer = props.problems_for([LOOPS], props.one_layer)
    _, message = counterexample(
        one_layer, lambda p: props.check_orders_agree_with_one_layer(broken, p)
    )
    assert "sequential differs from simultaneous" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_the_batch_law_catches_an_averaged_sum(tmp_path: Path) -> None:
    broken = Wrapped("averaged-batch", trace=averaged_batch)
    _, message = counterexample(
        CHEAP_PROBLEMS, lambda p: props.check_batch_gradient_is_sum_of_samples(broken, p)
    )
    assert "of per-sample gradients" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_the_permutation_law_catches_a_shared_bias_from_one_neuron(tmp_path: Path) -> None:
    broken = mutant("shared-bias-first-neuron", SharedBiasFromFirstNeuron)
    problems = props.problems_for([LOOPS], props.with_hidden_layer)

    @st.composite
    def cases(draw: st.DrawFn) -> tuple[Problem, int, list[int]]:
        problem = draw(problems)
        layer = draw(st.integers(1, len(problem.layers) - 1))
        order = draw(st.permutations(range(problem.layers[layer - 1].size)))
        return problem, layer, order

    _, message = counterexample(
        cases(), lambda case: props.check_hidden_permutation_permutes_gradients(broken, *case)
    )
    assert "permuting layer" in message
    assert_fixture_catches(message, tmp_path, broken)


def test_the_zero_step_law_catches_an_update_before_recording(tmp_path: Path) -> None:
    broken = UpdatedBeforeRecording("updated-before-recording")
    _, message = counterexample(
        CHEAP_PROBLEMS, lambda p: props.check_zero_steps_change_nothing(broken, p)
    )
    assert "without a training step" in message
    assert_fixture_catches(message, tmp_path, broken)


# --- verdict properties --------------------------------------------------------------------


def too_tight(value: float, printed: str) -> str:
    """A twentieth of a unit instead of a half: correctly rounded prints become mismatches."""
    tolerance = Decimal(5).scaleb(-verdicts.decimals(printed) - 2)
    close = abs(Decimal(value) - Decimal(printed)) <= tolerance
    return verdicts.MATCH if close else verdicts.MISMATCH


def without_truncation(value: float, printed: str) -> str:
    """Forgets the truncated verdict: a cut print that is not a match becomes a mismatch."""
    return verdicts.MATCH if verdicts.is_match(value, printed) else verdicts.MISMATCH


def places_by_splitting(value: float, printed: str) -> str:
    """Counts decimals by splitting at the point: '1' and '3.5e-05' break it."""
    places = len(printed.split(".")[1])
    tolerance = 0.5 * 10.0**-places
    return verdicts.MATCH if abs(value - float(printed)) <= tolerance else verdicts.MISMATCH


def test_the_rounding_law_catches_a_tolerance_too_tight() -> None:
    cases = st.tuples(bst.reals(1e6), st.integers(0, 12))
    _, message = counterexample(
        cases, lambda c: props.check_rounded_print_is_a_match(too_tight, *c)
    )
    assert "expected 'match'" in message, message


def test_the_cutting_law_catches_a_forgotten_truncated_verdict() -> None:
    cases = st.tuples(bst.reals(1e6), st.integers(0, 12))
    _, message = counterexample(
        cases, lambda c: props.check_cut_print_is_match_or_truncated(without_truncation, *c)
    )
    assert "expected 'match' or 'truncated'" in message


def test_the_totality_law_catches_a_crash_on_an_integer_print() -> None:
    cases = st.tuples(bst.reals(1e6), bst.printed_numbers())
    _, message = counterexample(
        cases, lambda c: props.check_verdict_is_total(places_by_splitting, *c)
    )
    assert "raised IndexError" in message


# --- loader properties ------------------------------------------------------------------------


def careless_load(path: Path) -> Fixture:
    """Builds the problem before the schema has checked it: KeyError and TypeError escape."""
    document = read_json(path)
    build_problem(document["problem"])
    return load(path)


def plain_json_load(path: Path) -> Fixture:
    """Parses with json.loads itself: JSONDecodeError escapes."""
    json.loads(path.read_text("utf-8"))
    return load(path)


def test_the_loader_law_catches_a_loader_without_the_schema_first() -> None:
    _, message = counterexample(
        bfs.mutated_documents(),
        lambda d: props.check_loader_raises_only_fixture_error(careless_load, props.save(d)),
    )
    assert "--- file ---" in message


def test_the_loader_law_catches_a_json_error_let_out() -> None:
    _, message = counterexample(
        bfs.mutated_texts(),
        lambda text: props.check_loader_raises_only_fixture_error(plain_json_load, text),
    )
    assert "raised JSONDecodeError" in message


def rounded_floats(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, list):
        return [rounded_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded_floats(v) for k, v in value.items()}
    return value


def save_with_12_digits(document: Any) -> str:
    """Writes every float with 12 significant digits, as %g-style code does."""
    return props.save(rounded_floats(document))


def test_the_round_trip_law_catches_a_lossy_save() -> None:
    _, message = counterexample(
        bfs.fixture_documents(),
        lambda d: props.check_fixture_survives_save_and_load(load, save_with_12_digits, d),
    )
    assert "differs from the saved one" in message


def load_ignoring_order(path: Path) -> Fixture:
    """Drops update_order on the way in: every fixture trains simultaneously."""
    fixture = load(path)
    return replace(fixture, problem=replace(fixture.problem, update_order="simultaneous"))


def test_the_problem_round_trip_law_catches_a_dropped_field() -> None:
    _, message = counterexample(
        bst.problems(),
        lambda p: props.check_problem_survives_fixture(load_ignoring_order, p),
    )
    assert "update_order='sequential'" in message


def test_a_fixture_error_is_not_a_failure_of_the_loader_law() -> None:
    """The law accepts the loader's own error: an empty file is a FixtureError, not a bug."""
    props.check_loader_raises_only_fixture_error(load, "")
    assert isinstance(props.loaded_from_text(load, ""), FixtureError)


def test_pins_round_trip_through_the_fixture() -> None:
    """A pin holds its value to the last bit: %.17g reads back as the same float."""
    value = math.pi / 3
    claim = bfs.pinned_claim("pin", "E", 0, value, 1e-12)
    assert float(claim["pinned"]) == value
