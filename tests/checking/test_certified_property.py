"""Random small problems: the certified balls hold the truth, the float engines lie near it.

Three properties, on networks Hypothesis draws (one or two layers, decimals as
documents print them):

* every value the certified engine encloses at steps 0 and 1 contains the value an
  independent mpmath recomputation at 100 digits gives (tests/support/mp_reference.py;
  the activations, losses and plain full-batch descent it knows);
* every float64 engine lies within its derived tolerance of the certified midpoint
  (:func:`bpcheck.checking.certified.disagreements` finds nothing), on those problems
  and on problems with issue 17's features as well: leaky relu, softplus and ELU with
  their parameters, any loss on any output (where its logs are defined) and the
  objective ``output k``, mini-batches in a drawn order, momentum, Nesterov, weight
  decay, per-layer rates, sequential updates, over three steps.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import mpmath
from hypothesis import assume, given
from hypothesis import strategies as st

from bpcheck.checking.certified import disagreements
from bpcheck.checking.check import OK, run_problem
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.model.engine import Engine, encloses
from bpcheck.model.problem import Layer, Problem
from tests.support.mp_reference import recompute

HIDDEN = ("identity", "sigmoid", "tanh", "relu")
OUTPUT = {
    "half_sse": ("identity", "sigmoid", "tanh"),
    "sse": ("identity", "sigmoid", "tanh"),
    "mse": ("identity", "sigmoid", "tanh"),
    "bce": ("sigmoid",),
    "softmax_ce": ("softmax",),
}


def decimals(low: int, high: int, places: int = 2) -> st.SearchStrategy[float]:
    """A number as a document prints it, ``places`` decimals, as the float a fixture holds."""
    return st.integers(low, high).map(lambda n: float(Decimal(n).scaleb(-places)))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    loss = draw(st.sampled_from(sorted(OUTPUT)))
    n_in = draw(st.integers(1, 3))
    n_out = draw(st.integers(2 if loss == "softmax_ce" else 1, 3))
    sizes = [n_in, *draw(st.lists(st.integers(1, 3), max_size=1)), n_out]
    layers = []
    for number, (fan_in, size) in enumerate(pairwise(sizes), start=1):
        top = number == len(sizes) - 1
        activation = draw(st.sampled_from(OUTPUT[loss] if top else HIDDEN))
        weights = tuple(
            tuple(draw(decimals(-300, 300)) for _ in range(fan_in)) for _ in range(size)
        )
        kind = draw(st.sampled_from(["none", "per_neuron"]))
        bias = tuple(draw(decimals(-100, 100)) for _ in range(size)) if kind != "none" else ()
        layers.append(Layer(weights, activation, kind, bias))
    samples = draw(st.integers(1, 2))
    inputs = tuple(tuple(draw(decimals(-200, 200)) for _ in range(n_in)) for _ in range(samples))
    if loss == "softmax_ce":
        hot = [draw(st.integers(0, n_out - 1)) for _ in range(samples)]
        targets = tuple(tuple(float(k == h) for k in range(n_out)) for h in hot)
    else:
        low = 0 if loss == "bce" else -100
        targets = tuple(
            tuple(draw(decimals(low, 100)) for _ in range(n_out)) for _ in range(samples)
        )
    rate = draw(st.sampled_from([0.05, 0.1, 0.5, 1.0]))
    return Problem(tuple(layers), inputs, targets, loss=loss, learning_rate=rate, steps=1)


def _decimal(value: object) -> Decimal:
    return Decimal(mpmath.nstr(value, 110, strip_zeros=False))


@given(problems())
def test_the_certified_balls_contain_an_mpmath_recomputation_at_100_digits(
    problem: Problem,
) -> None:
    enclosed = CertifiedEngine().enclose(problem, {0, 1})
    assert enclosed.digits >= 50 or enclosed.precision >= 166
    for step, values in recompute(problem).items():
        for name, value in values.items():
            low, high = enclosed.bounds[step][name]
            exact = _decimal(value)
            assert Decimal(low) <= exact <= Decimal(high), (step, name, low, exact, high)


@given(problem=problems())
def test_every_float_engine_lies_within_its_derived_tolerance(
    available: dict[str, Engine], problem: Problem
) -> None:
    certified = run_problem(CertifiedEngine(), problem, {0, 1}, "certified")
    assert certified.outcome == OK, certified.reason
    floats = [
        run_problem(engine, problem, {0, 1}, name)
        for name, engine in available.items()
        if not encloses(engine)
    ]
    assert all(run.outcome == OK for run in floats), [run.reason for run in floats]
    found = disagreements([certified, *floats])
    assert found == [], found[:3]


ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu")
FEATURE_OUTPUT = {
    "half_sse": (*ACTIVATIONS, "softmax"),
    "sse": (*ACTIVATIONS, "softmax"),
    "mse": (*ACTIVATIONS, "softmax"),
    "output": (*ACTIVATIONS, "softmax"),
    "bce": ("sigmoid", "softmax"),  # outputs inside (0, 1): every log is of a positive number
    "softmax_ce": ("sigmoid", "softmax"),
}


def layer_settings(draw: st.DrawFn, activation: str) -> dict[str, object]:
    """A drawn slope, alpha and own rate, where the layer has them."""
    found: dict[str, object] = {}
    if activation == "leaky_relu":
        found["slope"] = draw(decimals(1, 50))
    if activation == "elu":
        found["alpha"] = draw(decimals(10, 200))
    if draw(st.booleans()):
        found["learning_rate"] = draw(st.sampled_from([0.05, 0.2, 0.5]))
    return found


def feature_layers(draw: st.DrawFn, loss: str, sizes: list[int]) -> tuple[Layer, ...]:
    layers = []
    for number, (fan_in, size) in enumerate(pairwise(sizes), start=1):
        top = number == len(sizes) - 1
        choices = FEATURE_OUTPUT[loss] if top else ACTIVATIONS
        if loss == "bce" and size == 1:  # a softmax of one output is 1: bce's log(1 - 1)
            choices = ("sigmoid",)
        activation = draw(st.sampled_from(choices))
        weights = tuple(
            tuple(draw(decimals(-300, 300)) for _ in range(fan_in)) for _ in range(size)
        )
        kind = draw(st.sampled_from(["none", "shared", "per_neuron"]))
        count = {"none": 0, "shared": 1, "per_neuron": size}[kind]
        bias = tuple(draw(decimals(-100, 100)) for _ in range(count))
        trainable = draw(st.booleans())
        settings = layer_settings(draw, activation)
        layers.append(Layer(weights, activation, kind, bias, trainable, **settings))  # type: ignore[arg-type]
    return tuple(layers)


def feature_targets(
    draw: st.DrawFn, loss: str, samples: int, n_out: int
) -> tuple[tuple[float, ...], ...]:
    if loss == "output":
        return tuple((0.0,) * n_out for _ in range(samples))
    if loss == "softmax_ce":
        hot = [draw(st.integers(0, n_out - 1)) for _ in range(samples)]
        return tuple(tuple(float(k == h) for k in range(n_out)) for h in hot)
    low = 0 if loss == "bce" else -100
    return tuple(tuple(draw(decimals(low, 100)) for _ in range(n_out)) for _ in range(samples))


def batching(draw: st.DrawFn, samples: int) -> dict[str, object]:
    mode = draw(st.sampled_from(["full", "per_sample", "mini"]))
    if mode != "mini":
        return {"batch": mode}
    order = tuple(draw(st.permutations(range(samples))))
    return {"batch": "mini", "batch_size": draw(st.integers(1, samples)), "sample_order": order}


@st.composite
def feature_problems(draw: st.DrawFn) -> Problem:
    """Problems with issue 17's features, drawn together (a problem may have all of them)."""
    loss = draw(st.sampled_from(sorted(FEATURE_OUTPUT)))
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sizes = [n_in, *draw(st.lists(st.integers(1, 3), max_size=1)), n_out]
    samples = draw(st.integers(1, 3))
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]))
    return Problem(
        feature_layers(draw, loss, sizes),
        tuple(tuple(draw(decimals(-200, 200)) for _ in range(n_in)) for _ in range(samples)),
        feature_targets(draw, loss, samples, n_out),
        loss=loss,
        learning_rate=draw(st.sampled_from([0.05, 0.1, 0.5])),
        steps=3,
        update_order=draw(st.sampled_from(["simultaneous", "sequential"])),
        objective=draw(st.integers(1, n_out)) if loss == "output" else 0,
        momentum=momentum,
        nesterov=momentum != 0.0 and draw(st.booleans()),
        weight_decay=draw(st.sampled_from([0.0, 0.001, 0.05])),
        **batching(draw, samples),  # type: ignore[arg-type]
    )


@given(problem=feature_problems())
def test_every_float_engine_lies_within_its_derived_tolerance_on_the_new_features(
    available: dict[str, Engine], problem: Problem
) -> None:
    steps = {0, 1, 2, 3}
    certified = run_problem(CertifiedEngine(), problem, steps, "certified")
    # saturated unclipped logs: a ball around 0 under a division may stay undecided
    assume(certified.outcome == OK)
    floats = [
        run_problem(engine, problem, steps, name)
        for name, engine in available.items()
        if not encloses(engine)
    ]
    assert all(run.outcome == OK for run in floats), [run.reason for run in floats]
    found = disagreements([certified, *floats])
    assert found == [], found[:3]
