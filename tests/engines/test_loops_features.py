"""The loops engine on issue 17's features, each against something it does not share code with.

Activations and their derivatives against mpmath (the definition at 50 digits and its
numerical derivative); whole-problem gradients, for losses paired with any output and
for the objective ``output k``, against central differences of a forward pass written
here in mpmath; the optimizer against a two-step computation written out by hand;
float32 against NumPy's float32 arithmetic; the names against
:func:`bpcheck.model.quantities.names_at_step`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.engines.loops import LoopsEngine
from bpcheck.engines.loops import engine as loops_engine
from bpcheck.engines.loops.formulas import Activation
from bpcheck.engines.loops.single import Single, in_float32, to_float32
from bpcheck.model import quantities as q
from bpcheck.model.problem import Layer, Problem, batch_of_step, epoch_batches
from bpcheck.testing import minimal_problems as mp

ENGINE = LoopsEngine()
DIGITS = 50


def mpf(x: float) -> Any:
    return mpmath.mpf(x)


# --- activations and their derivatives -----------------------------------------------------


def mp_activation(name: str, x: Any, slope: float, alpha: float) -> Any:
    """The definitions of problem.ACTIVATIONS, in mpmath."""
    if name == "leaky_relu":
        return x if x > 0 else mpf(slope) * x
    if name == "softplus":
        return mpmath.log(1 + mpmath.exp(x))
    assert name == "elu"
    return x if x > 0 else mpf(alpha) * (mpmath.exp(x) - 1)


def named(name: str, slope: float = 0.2, alpha: float = 0.7) -> str:
    return Activation(Layer(((1.0,),), name, slope=slope, alpha=alpha))


POINTS = (-745.5, -40.0, -3.5, -1e-9, 1e-12, 0.3, 2.0, 37.0, 800.0)
NEW = ("leaky_relu", "softplus", "elu")


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("x", POINTS)
def test_each_new_activation_is_its_definition(name: str, x: float) -> None:
    with mpmath.workdps(DIGITS):
        expected = float(mp_activation(name, mpf(x), 0.2, 0.7))
    (found,) = ENGINE.activate(named(name), [x])
    assert found == pytest.approx(expected, rel=4e-16, abs=1e-320)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("x", [p for p in POINTS if abs(p) > 1e-6 and abs(p) < 700])
def test_each_new_derivative_is_the_numerical_derivative(name: str, x: float) -> None:
    with mpmath.workdps(DIGITS):
        expected = float(mpmath.diff(lambda v: mp_activation(name, v, 0.2, 0.7), mpf(x)))
    assert ENGINE.net_derivative(named(name), x) == pytest.approx(expected, rel=1e-14, abs=1e-300)


@pytest.mark.parametrize(("name", "left"), [("leaky_relu", 0.2), ("elu", 0.7)])
def test_at_the_kink_the_derivative_is_the_left_branch(name: str, left: float) -> None:
    with mpmath.workdps(DIGITS):
        h = mpf("1e-30")
        f = lambda v: mp_activation(name, v, 0.2, 0.7)  # noqa: E731
        left_quotient = float((f(mpf(0)) - f(-h)) / h)
        right_quotient = float((f(h) - f(mpf(0))) / h)
    assert ENGINE.net_derivative(named(name), 0.0) == pytest.approx(left_quotient, rel=1e-12)
    assert left_quotient != pytest.approx(right_quotient)  # a kink: the branches differ


def test_the_derivatives_read_the_layers_slope_and_alpha() -> None:
    assert ENGINE.net_derivative(named("leaky_relu", slope=0.05), -1.0) == 0.05
    assert ENGINE.net_derivative(named("elu", alpha=2.5), 0.0) == 2.5
    assert ENGINE.activate(named("leaky_relu", slope=0.05), [-2.0]) == [-0.1]
    assert ENGINE.activate("leaky_relu", [-2.0]) == [-0.02]  # a plain name: the default slope


@pytest.mark.parametrize("name", ["leaky_relu", "elu"])
def test_nan_passes_with_slope_one_like_relu(name: str) -> None:
    (out,) = ENGINE.activate(named(name), [math.nan])
    assert math.isnan(out) and ENGINE.net_derivative(named(name), math.nan) == 1.0


def test_softplus_never_overflows() -> None:
    assert ENGINE.activate("softplus", [1000.0, -1000.0]) == [1000.0, 0.0]
    assert ENGINE.net_derivative("softplus", 1000.0) == 1.0


# --- whole problems: losses on any output, the objective, against central differences --------


def mp_loss(problem: Problem, outs: list[Any], target: tuple[float, ...], count: int) -> Any:
    """E of one sample from its outputs, by problem.LOSS_TERMS."""
    t = [mpf(v) for v in target]
    if problem.loss == "output":
        return outs[problem.objective - 1]
    if problem.loss == "half_sse":
        return sum((a - o) ** 2 for a, o in zip(t, outs)) / 2
    if problem.loss == "mse":
        return sum((a - o) ** 2 for a, o in zip(t, outs)) / count
    if problem.loss == "bce":
        return -sum(a * mpmath.log(o) + (1 - a) * mpmath.log(1 - o) for a, o in zip(t, outs))
    assert problem.loss == "softmax_ce"
    return -sum(a * mpmath.log(o) for a, o in zip(t, outs) if a != 0)


def mp_forward(problem: Problem, weights: list[list[list[Any]]], x: list[Any]) -> list[Any]:
    """The outputs of one sample (every layer here has its own bias per neuron)."""
    for layer, matrix in zip(problem.layers, weights, strict=True):
        nets = [b + sum(w * o for w, o in zip(row, x)) for row, b in zip(matrix, layer.bias)]
        if layer.activation == "softmax":
            exps = [mpmath.exp(n) for n in nets]
            x = [e / sum(exps) for e in exps]
        elif layer.activation == "sigmoid":
            x = [1 / (1 + mpmath.exp(-n)) for n in nets]
        elif layer.activation == "tanh":
            x = [mpmath.tanh(n) for n in nets]
        elif layer.activation == "identity":
            x = nets
        else:
            x = [mp_activation(layer.activation, n, layer.slope, layer.alpha) for n in nets]
    return x


def mp_error(problem: Problem, weights: list[list[list[Any]]], inputs: list[list[Any]]) -> Any:
    count = problem.n_outputs * problem.n_samples
    return sum(
        mp_loss(problem, mp_forward(problem, weights, x), t, count)
        for x, t in zip(inputs, problem.targets)
    )


def numerical_gradients(problem: Problem) -> dict[str, float]:
    """dE/dw of every weight and dE/d input of sample 1, by mpmath's numerical derivative."""
    with mpmath.workdps(DIGITS):
        weights = [[[mpf(w) for w in row] for row in layer.weights] for layer in problem.layers]
        inputs = [[mpf(v) for v in row] for row in problem.inputs]
        found: dict[str, float] = {}

        def slope(put: Callable[[Any], None], value: Any) -> float:
            def error(v: Any) -> Any:
                put(v)
                return mp_error(problem, weights, inputs)

            result = float(mpmath.diff(error, value))
            put(value)
            return result

        for number, matrix in enumerate(weights, start=1):
            for j, row in enumerate(matrix):
                for i, w in enumerate(row):
                    found[q.weight_grad(number, j + 1, i + 1)] = slope(
                        lambda v, row=row, i=i: row.__setitem__(i, v), w
                    )
        for i, v in enumerate(inputs[0]):
            found[q.neuron("dE_dout", 0, i + 1, 1)] = slope(
                lambda u, i=i: inputs[0].__setitem__(i, u), v
            )
    return found


def two_layer(hidden: str, output: str, loss: str, **fields: Any) -> Problem:
    """2-2-2 with per-neuron biases, two samples; outputs inside (0, 1) for any output."""
    return Problem(
        layers=(
            Layer(((0.3, -0.4), (0.25, 0.5)), hidden, "per_neuron", (0.1, -0.2), slope=0.2),
            Layer(((0.2, -0.3), (0.35, 0.15)), output, "per_neuron", (0.3, 0.4), alpha=0.7),
        ),
        inputs=((0.5, -0.8), (-0.6, 0.9)),
        targets=((0.2, 0.8), (1.0, 0.0)) if loss != "output" else ((0.0, 0.0), (0.0, 0.0)),
        loss=loss,
        learning_rate=0.5,
        steps=0,
        **fields,
    )


PAIRINGS = [
    ("leaky_relu", "softmax", "bce", {}),
    ("softplus", "identity", "bce", {}),
    ("elu", "softmax", "mse", {}),
    ("tanh", "sigmoid", "softmax_ce", {}),
    ("elu", "softplus", "half_sse", {}),
    ("softplus", "leaky_relu", "mse", {}),
    ("leaky_relu", "tanh", "output", {"objective": 2}),
    ("sigmoid", "softmax", "output", {"objective": 1}),
]


@pytest.mark.parametrize(("hidden", "output", "loss", "fields"), PAIRINGS)
def test_gradients_of_any_loss_on_any_output_are_the_numerical_ones(
    hidden: str, output: str, loss: str, fields: dict[str, Any]
) -> None:
    problem = two_layer(hidden, output, loss, **fields)
    trace = ENGINE.run(problem, {0})[0]
    for name, expected in numerical_gradients(problem).items():
        assert trace[name] == pytest.approx(expected, rel=1e-12, abs=1e-15), name


def test_the_objective_output_is_the_loss_with_upstream_gradient_one() -> None:
    problem = two_layer("tanh", "sigmoid", "output", objective=2)
    values = ENGINE.run(problem, {0})[0]
    for s in (1, 2):
        assert values[q.term(1, s)] == 0.0
        assert values[q.term(2, s)] == values[q.neuron("out", 2, 2, s)]
        assert values[q.neuron("dE_dout", 2, 1, s)] == 0.0
        assert values[q.neuron("dE_dout", 2, 2, s)] == 1.0
    outs = [values[q.neuron("out", 2, 2, s)] for s in (1, 2)]
    assert values[q.LOSS] == outs[0] + outs[1]
    assert not [name for name in values if name.startswith("error[")]


# --- the optimizer against two steps written out by hand ------------------------------------


def one_weight(**fields: Any) -> Problem:
    """out = w x + b (identity), half_sse: dE/dw = -(t - out) x (+ decay w), dE/db = -(t - out)."""
    layer = Layer(
        ((0.8,),), "identity", "per_neuron", (0.1,), learning_rate=fields.pop("rate", None)
    )
    return Problem((layer,), ((1.5,),), ((0.25,),), learning_rate=0.2, steps=2, **fields)


def by_hand(problem: Problem, rate: float) -> list[dict[str, float]]:
    """w, b, dE_dw, dE_db, dw, db and E at steps 0 and 1, and w, b at step 2."""
    mu, lam, x, t = problem.momentum, problem.weight_decay, 1.5, 0.25
    w, b, v_w, v_b = 0.8, 0.1, 0.0, 0.0
    steps = []
    for _ in range(2):
        error = t - (w * x + b)
        g_w, g_b = -error * x + lam * w, -error
        v_w, v_b = mu * v_w - rate * g_w, mu * v_b - rate * g_b
        dw = mu * v_w - rate * g_w if problem.nesterov else v_w
        db = mu * v_b - rate * g_b if problem.nesterov else v_b
        loss = 0.5 * error * error + lam / 2 * w * w
        steps.append({"w": w, "b": b, "dE_dw": g_w, "dE_db": g_b, "dw": dw, "db": db, "E": loss})
        w, b = w + dw, b + db
    steps.append({"w": w, "b": b})
    return steps


OPTIMIZERS = {
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "weight decay": {"weight_decay": 0.01},
    "all three": {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1},
    "a layer's own rate": {"rate": 0.05, "momentum": 0.9},
    "plain": {},
}
NAMES = {"w": "w[1,1,1]", "b": "b[1,1]", "dE_dw": "dE_dw[1,1,1]", "dE_db": "dE_db[1,1]"}
NAMES |= {"dw": "dw[1,1,1]", "db": "db[1,1]", "E": "E"}


@pytest.mark.parametrize("fields", OPTIMIZERS.values(), ids=OPTIMIZERS)
def test_two_updates_of_one_weight_are_the_hand_computation(fields: dict[str, Any]) -> None:
    problem = one_weight(**fields)
    expected = by_hand(problem, problem.layers[0].learning_rate or problem.learning_rate)
    trace = ENGINE.run(problem, {0, 1, 2})
    for step, values in enumerate(expected):
        for key, value in values.items():
            assert trace[step][NAMES[key]] == pytest.approx(value, rel=1e-15), (step, key)


def test_per_sample_values_leave_weight_decay_out() -> None:
    problem = one_weight(weight_decay=0.5)
    values = ENGINE.run(problem, {0})[0]
    assert values["dE_dw[1,1,1]@1"] == pytest.approx(values["dE_dw[1,1,1]"] - 0.5 * 0.8)
    assert values["E@1"] == pytest.approx(values["E"] - 0.25 * 0.8 * 0.8)


def test_each_layer_descends_at_its_own_rate() -> None:
    problem = two_layer("elu", "sigmoid", "half_sse")
    layers = (replace(problem.layers[0], learning_rate=0.05), problem.layers[1])
    problem = replace(problem, layers=layers, steps=1)
    before, after = (ENGINE.run(problem, {0, 1})[s] for s in (0, 1))
    for name, rate in (("w[1,2,1]", 0.05), ("b[1,1]", 0.05), ("w[2,1,2]", 0.5), ("b[2,2]", 0.5)):
        assert after[name] == before[name] - rate * before["dE_d" + name]


def test_a_frozen_bias_keeps_still_under_momentum() -> None:
    problem = one_weight(momentum=0.9)
    layer = replace(problem.layers[0], bias_trainable=False)
    trace = ENGINE.run(replace(problem, layers=(layer,)), {0, 2})
    assert trace[2]["b[1,1]"] == trace[0]["b[1,1]"] and "db[1,1]" not in trace[0]


def test_without_plain_descent_the_lean_paths_are_not_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("the inline path trained a problem that is not plain descent")

    monkeypatch.setattr(loops_engine, "train", refuse)
    monkeypatch.setattr(LoopsEngine, "_simultaneous_step", refuse)
    for fields in OPTIMIZERS.values():
        if fields:
            ENGINE.run(one_weight(**fields), {2})
    with pytest.raises(AssertionError, match="inline path"):
        ENGINE.run(one_weight(), {2})


# --- mini-batches ---------------------------------------------------------------------------


def three_samples(**fields: Any) -> Problem:
    problem = two_layer("softplus", "sigmoid", "mse", **fields)
    return replace(
        problem,
        inputs=(*problem.inputs, (0.1, 0.2)),
        targets=(*problem.targets, (0.5, 0.5)),
        batch="mini",
        batch_size=2,
        sample_order=(2, 0, 1),
        steps=4,
    )


def test_a_mini_batch_sums_its_samples_in_the_stated_order() -> None:
    problem = three_samples()
    assert epoch_batches(problem) == ((2, 0), (1,))
    trace = ENGINE.run(problem, set(range(5)))
    for step, values in trace.items():
        batch = batch_of_step(problem, step)
        samples = {n.partition("@")[2] for n in values if "@" in n}
        assert samples == {str(s + 1) for s in batch}
        per_sample = sum(values[f"dE_dw[2,1,2]@{s + 1}"] for s in batch)
        assert values["dE_dw[2,1,2]"] == pytest.approx(per_sample, rel=1e-15)
        # mse divides by the outputs times the samples of this batch, not of the data
        terms = [(values[q.output_error(k, s + 1)]) ** 2 for s in batch for k in (1, 2)]
        assert values["E"] == pytest.approx(sum(terms) / (2 * len(batch)), rel=1e-15)


def test_a_mini_batch_step_is_one_update_from_the_parameters_before_it() -> None:
    problem = three_samples()
    trace = ENGINE.run(problem, {0, 1})
    for name in ("w[1,1,2]", "b[2,2]", "w[2,2,1]"):
        gradient = trace[0]["dE_d" + name]
        assert trace[1][name] == trace[0][name] - 0.5 * gradient


# --- float32 --------------------------------------------------------------------------------


def test_rounding_to_float32_is_numpys() -> None:
    for x in (0.1, -1 / 3, 3.4028235677973362e38, 1e-40, 2.0**-150, 3 * 2.0**-150, 0.0):
        assert to_float32(x) == float(np.float32(x))
    assert to_float32(3.4028235677973362e38) == float(np.finfo(np.float32).max)
    # at and past float32's largest finite value plus half an ulp: an infinity, not an error
    assert to_float32(3.4028235677973366e38) == math.inf and to_float32(-1e39) == -math.inf
    assert math.isnan(to_float32(math.nan))


finite32 = st.floats(-(2.0**100), 2.0**100, allow_nan=False, width=32)


@given(finite32, finite32)
def test_single_arithmetic_is_float32_arithmetic(a: float, b: float) -> None:
    x, y = Single(a), Single(b)
    f, g = np.float32(a), np.float32(b)
    with np.errstate(all="ignore"):
        pairs = [(x + y, f + g), (x - y, f - g), (x * y, f * g), (-x, -f), (1.0 - x, 1 - f)]
        if b != 0.0:
            pairs.append((x / y, f / g))
    for found, expected in pairs:
        assert type(found) is Single and (found == float(expected) or math.isnan(found))


def float32_problems() -> list[Problem]:
    covering = mp.covering_problems(2, float32=True)
    return [p for p in covering if p.precision == "float32"] + [
        replace(p, precision="float32") for p in (three_samples(momentum=0.9), one_weight())
    ]


@pytest.mark.parametrize("problem", float32_problems())
def test_float32_values_are_float32_and_near_the_float64_ones(problem: Problem) -> None:
    single = ENGINE.run(problem, {0, problem.steps})
    double = ENGINE.run(replace(problem, precision="float64"), {0})
    for values in single.values():
        for name, value in values.items():
            assert type(value) is float and value == float(np.float32(value)), name
    for name, value in double[0].items():
        assert single[0][name] == pytest.approx(value, rel=1e-4, abs=1e-5), name


def test_a_float32_net_input_rounds_each_operation() -> None:
    layer = Layer(((0.1, 0.7),), "sigmoid", "shared", (0.3,))
    problem = Problem((layer,), ((1.9, -0.35),), ((0.6,),), precision="float32", steps=0)
    values = ENGINE.run(problem, {0})[0]
    w1, w2, b, x1, x2 = (np.float32(v) for v in (0.1, 0.7, 0.3, 1.9, -0.35))
    net = b + w1 * x1 + w2 * x2  # left to right from the bias, as the engine sums
    out = np.float32(1) / (np.float32(1) + np.float32(math.exp(-float(net))))
    assert values["net[1,1]@1"] == float(net)
    assert values["out[1,1]@1"] == float(out)
    assert values["net[1,1]@1"] != 0.3 + 0.1 * 1.9 + 0.7 * -0.35  # not the float64 sum


def test_float32_rounds_the_problem_first() -> None:
    problem = in_float32(one_weight(momentum=0.9, weight_decay=0.01))
    numbers = [problem.learning_rate, problem.momentum, problem.weight_decay]
    numbers += [problem.layers[0].weights[0][0], problem.inputs[0][0], problem.targets[0][0]]
    assert all(type(n) is Single and n == float(np.float32(n)) for n in numbers)


# --- every name, and the extended ones' identities ------------------------------------------


def featured_problems() -> list[Problem]:
    everything = three_samples(momentum=0.9, nesterov=True, weight_decay=0.01)
    layers = (replace(everything.layers[0], learning_rate=0.1), everything.layers[1])
    return [
        *mp.covering_problems(2, float32=True),
        replace(everything, layers=layers),
        replace(everything, layers=layers, update_order="sequential"),
        replace(two_layer("elu", "softmax", "output", objective=1), steps=2, momentum=0.5),
    ]


@pytest.mark.parametrize("problem", featured_problems())
def test_the_trace_holds_exactly_the_names_at_each_step(problem: Problem) -> None:
    trace = ENGINE.run(problem, set(range(problem.steps + 1)))
    for step, values in trace.items():
        names = q.names_at_step(problem, step)
        assert len(names) == len(values) and set(names) == set(values), step


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
def test_the_extended_names_are_what_they_say(order: str) -> None:
    problem = replace(featured_problems()[-2], update_order=order)
    trace = ENGINE.run(problem, {0, 1})
    values, after = trace[0], trace[1]
    for s in batch_of_step(problem, 0):
        at = s + 1
        for number, layer in enumerate(problem.layers, start=1):
            for j in range(1, layer.size + 1):
                delta = values[q.neuron("delta", number, j, at)]
                assert values[q.neuron("error_term", number, j, at)] == -delta
                terms = [values[q.net_term(number, j, i, at)] for i in range(1, layer.fan_in + 1)]
                for i, term in enumerate(terms, start=1):
                    below = values[q.neuron("out", number - 1, i, at)]
                    assert term == values[q.weight(number, j, i)] * below
                weighted = values[q.neuron("weighted_sum", number, j, at)]
                assert weighted == pytest.approx(sum(terms), rel=1e-15)
                net = values[q.neuron("net", number, j, at)]
                with_bias = weighted + values[q.bias(number, j)]
                assert net == pytest.approx(with_bias, rel=1e-14, abs=1e-15)
        for k in (1, 2):
            target, out = problem.targets[s][k - 1], values[q.neuron("out", 2, k, at)]
            assert values[q.output_error(k, at)] == target - out
        assert values[q.sample_loss(at)] == values[q.term(1, at)] + values[q.term(2, at)]
    for name in ("w[1,1,2]", "b[1,2]", "w[2,2,1]", "b[2,1]"):
        change = values["d" + name]
        assert after[name] == pytest.approx(values[name] + change, rel=1e-15)
