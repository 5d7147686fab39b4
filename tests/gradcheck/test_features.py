"""Gradient checks of issue 17's features: each passes an engine that does it and fails one
that gets it wrong.

The engine that gets a feature wrong is a real engine run on a slightly different problem
(:class:`Misreads`: the decay left out, the full batch for a mini-batch, another output,
another slope...), so what each test shows is that the finite differences of bpcheck's own
forward pass see that feature.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bpcheck.checking.check import Outcome
from bpcheck.engines.loops import LoopsEngine
from bpcheck.engines.matrices import MatricesEngine
from bpcheck.gradcheck.engine_check import (
    check_gradients,
    check_sample_gradients,
    float64_version,
    to_float32,
)
from bpcheck.gradcheck.fixture_check import gradcheck_fixture
from bpcheck.model.engine import Availability, Engine
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import Layer, Problem, batch_of_step
from bpcheck.model.quantities import EXTENDED, Trace


def small(**changes: object) -> Problem:
    """A 2-3-2 network, three samples, nothing but plain descent unless changed."""
    problem = Problem(
        layers=(
            Layer(((0.3, -0.4), (0.5, 0.2), (-0.6, 0.1)), "tanh", "per_neuron", (0.1, -0.2, 0.05)),
            Layer(((0.4, -0.3, 0.2), (-0.1, 0.6, 0.3)), "sigmoid", "shared", (0.1,)),
        ),
        inputs=((0.5, -1.0), (1.5, 0.25), (-0.75, 0.5)),
        targets=((0.2, 0.8), (0.9, 0.1), (0.4, 0.6)),
        loss="half_sse",
        learning_rate=0.5,
        steps=0,
    )
    return replace(problem, **changes)


def hidden(activation: str, **changes: object) -> tuple[Layer, ...]:
    """:func:`small`'s layers with the hidden layer's activation (and slope or alpha) changed."""
    first, second = small().layers
    return replace(first, activation=activation, **changes), second  # type: ignore[arg-type]


class Misreads:
    """``inner`` run on ``change(problem)``: an engine that gets one feature wrong."""

    name = "misreads"
    version = "1"

    def __init__(self, inner: Engine, change: Callable[[Problem], Problem]) -> None:
        self.inner, self.change = inner, change
        self.capabilities = inner.capabilities

    def available(self) -> Availability:
        return Availability(True)

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        return self.inner.run(self.change(problem), record)


FEATURES: dict[str, tuple[Problem, Callable[[Problem], Problem]]] = {
    "weight decay": (small(weight_decay=0.05), lambda p: replace(p, weight_decay=0.0)),
    "objective": (
        small(loss="output", objective=2, targets=((0.0, 0.0),) * 3),
        lambda p: replace(p, objective=1),
    ),
    "mini-batch": (
        small(batch="mini", batch_size=2, sample_order=(2, 0, 1)),
        lambda p: replace(p, sample_order=(0, 1, 2)),
    ),
    "mse mini-batch": (
        small(loss="mse", batch="mini", batch_size=2, sample_order=(1, 2, 0)),
        lambda p: replace(p, batch="full", batch_size=0, sample_order=()),
    ),
    "leaky_relu": (
        small(layers=hidden("leaky_relu", slope=0.2)),
        lambda p: replace(p, layers=hidden("leaky_relu", slope=0.25)),
    ),
    "elu": (
        small(layers=hidden("elu", alpha=0.7)),
        lambda p: replace(p, layers=hidden("elu", alpha=0.75)),
    ),
    "softplus": (small(layers=hidden("softplus")), lambda p: replace(p, layers=hidden("sigmoid"))),
    "bce on softmax": (
        small(
            loss="bce", layers=(small().layers[0], replace(small().layers[1], activation="softmax"))
        ),
        lambda p: replace(p, loss="softmax_ce"),
    ),
    "mse on softmax": (
        small(
            loss="mse", layers=(small().layers[0], replace(small().layers[1], activation="softmax"))
        ),
        lambda p: replace(p, loss="sse"),
    ),
    "softmax_ce on sigmoid": (small(loss="softmax_ce"), lambda p: replace(p, loss="bce")),
}


ENGINES = {"loops": LoopsEngine, "matrices": MatricesEngine}


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("feature", list(FEATURES))
def test_a_feature_passes_an_engine_that_does_it_and_fails_one_that_does_not(
    feature: str, engine: str
) -> None:
    problem, wrong = FEATURES[feature]
    right = check_gradients(ENGINES[engine](), problem)
    assert right.outcome == Outcome.OK, (
        right.reason,
        [r for r in right.rows if r.status != "pass"],
    )
    assert all(r.status == "pass" for r in right.rows)
    misread = check_gradients(Misreads(ENGINES[engine](), wrong), problem)
    assert misread.outcome == Outcome.FAILED, misread.rows


@pytest.mark.parametrize("method", ["central", "directional", "mpmath"])
@pytest.mark.parametrize("feature", list(FEATURES))
def test_every_method_sees_every_feature(feature: str, method: str) -> None:
    """The other references: mpmath's 40-digit loss, central differences, random directions."""
    problem, wrong = FEATURES[feature]
    assert check_gradients(LoopsEngine(), problem, method=method).outcome == Outcome.OK
    misread = check_gradients(Misreads(LoopsEngine(), wrong), problem, method=method)
    assert misread.outcome == Outcome.FAILED


@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu", "softplus"])
def test_every_hidden_activation_passes(activation: str) -> None:
    result = check_gradients(LoopsEngine(), small(layers=hidden(activation)))
    assert result.outcome == Outcome.OK and result.rows


@pytest.mark.parametrize(
    ("activation", "changes"),
    [("leaky_relu", {"slope": 0.2}), ("elu", {"alpha": 0.5}), ("elu", {"alpha": 1.0})],
)
def test_leaky_relu_and_elu_at_zero_are_kinks(activation: str, changes: dict[str, float]) -> None:
    """Neuron 1's net input is 0.5 - 0.5 = 0 exactly: its parameters are kinks, with the
    one-sided derivatives of each branch (elu with alpha 1 too: its curvature jumps)."""
    problem = Problem(
        layers=(
            Layer(((1.0, -1.0), (0.3, 0.2)), activation, "per_neuron", (0.0, 0.1), **changes),  # type: ignore[arg-type]
            Layer(((2.0, 1.0),), "identity"),
        ),
        inputs=((0.5, 0.5),),
        targets=((1.0,),),
        steps=0,
    )
    result = check_gradients(LoopsEngine(), problem, method="richardson")
    assert result.outcome == Outcome.OK
    kinks = {r.parameter: r for r in result.rows if r.status == "kink"}
    assert set(kinks) == {"w[1,1,1]", "w[1,1,2]", "b[1,1]"}
    # E = 1/2 (1 - 2 f(n1) - f(n2))^2 with f(n2) = n2 = 0.35 > 0: dE/dn1 = -1.3 f'(n1) on
    # either side of 0, f' = 1 on the right and the slope (or alpha) on the left.
    upstream = -2.0 * (1.0 - 0.35)
    left_slope = changes.get("slope", changes.get("alpha"))
    left, right = kinks["b[1,1]"].one_sided or (math.nan, math.nan)
    assert left == pytest.approx(upstream * left_slope, rel=1e-6)
    assert right == pytest.approx(upstream, rel=1e-6)


def fixture_of(problem: Problem) -> Fixture:
    return Fixture("features", "features", Path("no-such-file.json"), {}, problem, {}, ())


@pytest.mark.parametrize(
    "changes",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.5, "weight_decay": 0.01, "batch": "mini", "batch_size": 2},
        {"layers": (replace(small().layers[0], learning_rate=0.1), small().layers[1])},
    ],
    ids=["momentum", "nesterov", "momentum, decay, mini-batch", "per-layer rates"],
)
def test_training_with_a_new_update_rule_is_checked_at_its_end_point(
    changes: dict[str, object],
) -> None:
    """Momentum and per-layer rates change where training ends, not what a gradient is:
    the gradient at the parameters each engine reached is checked like step 0's."""
    problem = small(steps=5, **changes)
    engines: dict[str, Engine] = {"loops": LoopsEngine(), "matrices": MatricesEngine()}
    results = gradcheck_fixture(fixture_of(problem), engines, method="richardson")
    assert [(r.engine, r.step) for r in results] == [
        ("loops", 0),
        ("loops", 5),
        ("matrices", 0),
        ("matrices", 5),
    ]
    assert all(r.outcome == Outcome.OK for r in results), [
        (r.engine, r.step, r.reason) for r in results
    ]


def test_a_misread_momentum_is_not_what_a_gradient_check_sees() -> None:
    """What a gradient check cannot catch, stated: the conformance suite checks the update."""
    problem = small(steps=5, momentum=0.9)
    wrong = Misreads(LoopsEngine(), lambda p: replace(p, momentum=0.0))
    results = gradcheck_fixture(fixture_of(problem), {"wrong": wrong}, method="richardson")
    # step 0 passes (no update yet); at step 5 its parameters are plain descent's, and
    # its gradient there is right for them: the end point is checked at the engine's own.
    assert [r.outcome for r in results] == [Outcome.OK, Outcome.OK]


# --- float32 -------------------------------------------------------------------------------


def test_the_float64_version_of_a_float32_problem_holds_its_float32_numbers() -> None:
    problem = small(precision="float32", weight_decay=0.1, momentum=0.3)
    version = float64_version(problem)
    assert version.precision == "float64"
    assert version.inputs[0][0] == 0.5 and version.weight_decay == to_float32(0.1) != 0.1
    assert version.layers[0].weights[0][0] == to_float32(0.3) != 0.3
    assert float64_version(small()) == small()


@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_float32_engines_gradient_passes_within_float32s_rounding(engine: str) -> None:
    problem = small(precision="float32", weight_decay=0.05)
    result = check_gradients(ENGINES[engine](), problem, method="richardson")
    assert result.outcome == Outcome.OK, [r for r in result.rows if r.status != "pass"]
    # float32 rounding is really there, and really needed the wider tolerance
    assert max(r.abs_error for r in result.rows) > 1e-12
    assert all(r.tolerance > 1e-9 for r in result.rows)


def test_a_float32_engine_checked_as_float64_fails() -> None:
    """The same float32 gradient held to float64's tolerance: the scaling is what passes it."""
    problem = small(precision="float32", weight_decay=0.05)
    as_float64 = Misreads(LoopsEngine(), lambda p: replace(p, precision="float32"))
    result = check_gradients(as_float64, float64_version(problem), method="richardson")
    assert result.outcome == Outcome.FAILED


def test_a_float32_engine_that_misreads_a_feature_still_fails() -> None:
    problem = small(precision="float32", weight_decay=0.05)
    wrong = Misreads(LoopsEngine(), lambda p: replace(p, weight_decay=0.0))
    assert check_gradients(wrong, problem).outcome == Outcome.FAILED


# --- no false alarms: drawn problems with the new features ----------------------------------

FEATURE_HIDDEN = ("leaky_relu", "elu", "softplus")
FEATURE_OUTPUT = ("identity", "sigmoid", "softmax", "elu", "softplus", "leaky_relu")


@st.composite
def feature_problems(draw: st.DrawFn) -> Problem:
    """Two layers with a new activation, any loss or an objective, weight decay, a mini-batch."""
    number = st.floats(-3.0, 3.0, allow_nan=False).map(lambda x: round(x, 3))
    sizes = (2, draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    output = draw(st.sampled_from(FEATURE_OUTPUT))
    loss = draw(st.sampled_from(("half_sse", "mse", "bce", "softmax_ce", "output")))
    unit = st.floats(0.05, 0.95).map(lambda x: round(x, 2))
    layers = tuple(
        Layer(
            tuple(tuple(draw(number) for _ in range(fan_in)) for _ in range(size)),
            draw(st.sampled_from(FEATURE_HIDDEN)) if index == 0 else output,
            "per_neuron",
            tuple(draw(number) for _ in range(size)),
            slope=draw(unit),
            alpha=draw(st.sampled_from((0.5, 1.0, 1.5))),
        )
        for index, (fan_in, size) in enumerate(itertools.pairwise(sizes))
    )
    samples = 3
    return Problem(
        layers=layers,
        inputs=tuple(tuple(draw(number) for _ in range(2)) for _ in range(samples)),
        targets=tuple(tuple(draw(unit) for _ in range(sizes[-1])) for _ in range(samples)),
        loss=loss,
        objective=1 if loss == "output" else 0,
        steps=0,
        batch="mini",
        batch_size=2,
        sample_order=tuple(draw(st.permutations(range(samples)))),
        weight_decay=draw(st.sampled_from((0.0, 0.01, 1.0))),
        precision=draw(st.sampled_from(("float64", "float32"))),
    )


@given(feature_problems())
def test_a_correct_engine_passes_every_drawn_feature_problem(problem: Problem) -> None:
    """bce and softmax_ce of an output outside (0, 1) are NaN: nothing to check there."""
    result = check_gradients(MatricesEngine(), problem, method="richardson")
    assume(result.outcome != Outcome.SKIPPED)
    assert result.outcome == Outcome.OK, [r for r in result.rows if r.status == "fail"]


def test_a_float32_loss_that_saturates_where_float64_does_not_is_skipped_saying_so() -> None:
    """sigmoid(18) is 1 in float32 (1 - 1.5e-8 in float64): bce's log(1 - o) is -inf there."""
    problem = Problem(
        layers=(Layer(((-3.0, 0.0),), "leaky_relu"), Layer(((3.0,),), "sigmoid")),
        inputs=((-2.0, 0.0),),
        targets=((0.5,),),
        loss="bce",
        steps=0,
        precision="float32",
    )
    result = check_gradients(MatricesEngine(), problem)
    assert result.outcome == Outcome.SKIPPED
    assert result.reason is not None and "the float32 loss is inf" in result.reason
    assert check_gradients(MatricesEngine(), float64_version(problem)).outcome == Outcome.OK


# --- a sample's own gradient (quantity:extended) ----------------------------------------------


@pytest.mark.parametrize("method", ["richardson", "mpmath", "directional"])
@pytest.mark.parametrize("feature", ["weight decay", "objective", "mse mini-batch", "elu"])
def test_a_samples_own_gradient_is_checked_against_its_own_loss(feature: str, method: str) -> None:
    """``dE_dw@s``: the sample's terms alone (the batch's mse divisor, no weight decay)."""
    problem, _ = FEATURES[feature]
    for sample in (s + 1 for s in batch_of_step(problem, 0)):
        result = check_sample_gradients(MatricesEngine(), problem, sample, method=method)
        assert result.outcome == Outcome.OK, [r for r in result.rows if r.status != "pass"]
        if method != "directional":
            assert result.rows[0].parameter == f"w[1,1,1]@{sample}"


class SwapsSamples(MatricesEngine):
    """Reports each sample's gradient under another sample's name."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        trace = super().run(problem, record)
        for values in trace.values():
            for name in [n for n in values if n.startswith("dE_d") and n.endswith("@1")]:
                other = name[:-2] + "@3"
                values[name], values[other] = values[other], values[name]
        return trace


def test_a_samples_gradient_under_another_samples_name_fails() -> None:
    problem = small(loss="mse")
    assert check_sample_gradients(SwapsSamples(), problem, 1).outcome == Outcome.FAILED
    assert check_sample_gradients(SwapsSamples(), problem, 2).outcome == Outcome.OK


def test_an_engine_without_the_extended_names_is_skipped_for_sample_gradients() -> None:
    plain = Misreads(LoopsEngine(), lambda p: p)
    plain.capabilities = LoopsEngine().capabilities - {EXTENDED}
    result = check_sample_gradients(plain, small(), 1)
    assert result.outcome == Outcome.SKIPPED and result.reason == f"cannot do {EXTENDED}"
    with pytest.raises(ValueError, match="sample 3 is not in step 0's batch"):
        check_sample_gradients(LoopsEngine(), small(batch="mini", batch_size=2), 3)
