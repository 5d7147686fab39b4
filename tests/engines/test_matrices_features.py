"""The matrices engine on the features of issue 17, against independent computations.

New activations against their formulas written with ``math`` and their slopes against
mpmath's numerical derivative; every derivative of the trace (losses on any output, the
objective ``output k``, weight decay, gradients by the inputs) against central differences
of an mpmath forward pass written here; the update rule against a hand-written step in
plain Python floats; float32 traces checked for float32 values and dtypes; the trace's
names against :func:`~bpcheck.model.quantities.names_at_step`; the per-sample quantities
against the batch ones; the lean path against the recorded one; and every value against
the loops engine's, within the agreement tolerance of ``bpcheck run``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import mpmath
import numpy as np
import pytest

from bpcheck.checking.check import agree, agreement_floor, agreement_tolerance
from bpcheck.engines.loops import LoopsEngine
from bpcheck.engines.matrices import MatricesEngine
from bpcheck.engines.matrices import activations as mx_activations
from bpcheck.engines.matrices import network as mx_network
from bpcheck.engines.matrices.update import Optimizer
from bpcheck.model import quantities as q
from bpcheck.model.problem import Layer, Problem, batch_of_step, layer_rate
from bpcheck.testing.paths import path_differences

ENGINE = MatricesEngine()
Trace = dict[int, dict[str, float]]

# --------------------------------------------------------------------------
# Problems: a 2-3-2-2 network whose layers the features replace
# --------------------------------------------------------------------------

HIDDEN = Layer(
    weights=((0.1, -0.2), (0.3, 0.4), (-0.5, 0.2)),
    activation="leaky_relu",
    slope=0.2,
    bias_kind="per_neuron",
    bias=(0.1, 0.05, -0.1),
)
MIDDLE = Layer(
    weights=((0.2, -0.3, 0.1), (0.5, 0.1, -0.4)),
    activation="elu",
    alpha=0.7,
    bias_kind="shared",
    bias=(0.05,),
)
OUTPUT = Layer(
    weights=((0.3, 0.2), (0.1, -0.6)), activation="softmax", bias_kind="per_neuron", bias=(0.0, 0.1)
)
BASE = Problem(
    layers=(HIDDEN, MIDDLE, OUTPUT),
    inputs=((0.5, -1.0), (1.0, 0.2), (-0.3, 0.7)),
    targets=((0.9, 0.1), (0.2, 0.8), (0.7, 0.3)),
    loss="half_sse",
    learning_rate=0.1,
    steps=3,
)


def with_output(activation: str, loss: str, **changes: Any) -> Problem:
    layers = (HIDDEN, MIDDLE, dataclasses.replace(OUTPUT, activation=activation))
    return dataclasses.replace(BASE, layers=layers, loss=loss, **changes)


def objective(k: int, **changes: Any) -> Problem:
    """Loss ``output k``: targets of zeros, as the loader builds them."""
    return with_output("tanh", "output", objective=k, targets=((0.0, 0.0),) * 3, **changes)


FEATURES: dict[str, Problem] = {
    "softplus-hidden": dataclasses.replace(
        BASE, layers=(dataclasses.replace(HIDDEN, activation="softplus"), MIDDLE, OUTPUT)
    ),
    "bce-on-softmax": with_output("softmax", "bce"),
    "bce-on-identity": with_output("identity", "bce", targets=((0.0, 0.0),) * 3),
    "mse-on-softmax": with_output("softmax", "mse"),
    "softmax_ce-on-sigmoid": with_output("sigmoid", "softmax_ce"),
    "objective-1": objective(1),
    "objective-2-per-sample": objective(2, batch="per_sample", steps=4),
    "mini-batch-order": dataclasses.replace(
        BASE, batch="mini", batch_size=2, sample_order=(2, 0, 1), steps=5
    ),
    "momentum": dataclasses.replace(BASE, momentum=0.9),
    "nesterov": dataclasses.replace(BASE, momentum=0.8, nesterov=True),
    "weight-decay": dataclasses.replace(BASE, weight_decay=0.05),
    "layer-rates": dataclasses.replace(
        BASE,
        layers=(
            dataclasses.replace(HIDDEN, learning_rate=0.3),
            MIDDLE,
            dataclasses.replace(OUTPUT, learning_rate=0.02, bias_trainable=False),
        ),
    ),
    "everything": with_output(
        "sigmoid",
        "bce",
        batch="mini",
        batch_size=2,
        sample_order=(1, 2, 0),
        momentum=0.9,
        nesterov=True,
        weight_decay=0.01,
        steps=4,
    ),
}

# --------------------------------------------------------------------------
# New activations: values against math, slopes against mpmath, kinks
# --------------------------------------------------------------------------


def formula(name: str, x: float, parameter: float) -> float:
    """The activations as Problem's docstring defines them, in plain Python."""
    if name == "leaky_relu":
        return x if x > 0 else parameter * x
    if name == "softplus":
        return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x))
    return x if x > 0 else parameter * math.expm1(x)


def mp_formula(name: str, x: Any, parameter: float) -> Any:
    if name == "leaky_relu":
        return x if x > 0 else parameter * x
    if name == "softplus":
        return mpmath.log(1 + mpmath.exp(x))
    return x if x > 0 else parameter * (mpmath.exp(x) - 1)


NETS = (-30.0, -3.5, -1.0, -0.3, -1e-9, 1e-9, 0.25, 1.0, 2.5, 40.0)
PARAMETERS = {"leaky_relu": 0.2, "softplus": 0.0, "elu": 0.7}


def one_neuron(activation: str, net: float, parameter: float) -> Problem:
    """A 1-1 network whose only net input is ``net`` (weight 1 on input ``net``)."""
    layer = Layer(weights=((1.0,),), activation=activation, slope=parameter or 0.01)
    layer = dataclasses.replace(layer, alpha=parameter or 1.0)
    return Problem(layers=(layer,), inputs=((net,),), targets=((0.0,),), steps=0)


@pytest.mark.parametrize("activation", sorted(PARAMETERS))
def test_new_activations_match_their_formulas_and_mpmath_slopes(activation: str) -> None:
    parameter = PARAMETERS[activation]
    with mpmath.workdps(40):
        for net in NETS:
            entries = ENGINE.run(one_neuron(activation, net, parameter), {0})[0]
            assert entries["net[1,1]@1"] == net
            expected = formula(activation, net, parameter)
            assert entries["out[1,1]@1"] == pytest.approx(expected, rel=1e-15, abs=1e-300)
            slope = mpmath.diff(lambda x: mp_formula(activation, x, parameter), mpmath.mpf(net))
            assert entries["dout_dnet[1,1]@1"] == pytest.approx(float(slope), rel=1e-14), net


def test_softplus_does_not_overflow() -> None:
    entries = ENGINE.run(one_neuron("softplus", 800.0, 0.0), {0})[0]
    assert entries["out[1,1]@1"] == 800.0
    assert entries["dout_dnet[1,1]@1"] == 1.0
    entries = ENGINE.run(one_neuron("softplus", -800.0, 0.0), {0})[0]
    assert entries["out[1,1]@1"] == 0.0
    assert entries["dout_dnet[1,1]@1"] == 0.0


@pytest.mark.parametrize(
    ("activation", "parameter", "slope"),
    [("relu", 0.0, 0.0), ("leaky_relu", 0.2, 0.2), ("elu", 0.7, 0.7)],
)
def test_kinks_take_the_left_branch(activation: str, parameter: float, slope: float) -> None:
    entries = ENGINE.run(one_neuron(activation, 0.0, parameter), {0})[0]
    assert entries["out[1,1]@1"] == 0.0
    assert entries["dout_dnet[1,1]@1"] == slope


def test_nan_takes_the_right_branch_like_relu() -> None:
    for activation in ("relu", "leaky_relu", "elu"):
        entries = ENGINE.run(one_neuron(activation, math.nan, 0.5), {0})[0]
        assert math.isnan(entries["out[1,1]@1"])
        assert entries["dout_dnet[1,1]@1"] == 1.0, activation


# --------------------------------------------------------------------------
# An mpmath reference: forward pass, loss with its weight-decay penalty
# --------------------------------------------------------------------------

Params = list[tuple[list[list[Any]], list[Any]]]
Nudge = tuple[str, int, int, int, Any]  # ("net" | "out", layer, j, sample, eps); layer 0: input


def mp_activate(layer: Layer, nets: list[Any]) -> list[Any]:
    name = layer.activation
    if name == "softmax":
        exps = [mpmath.exp(v) for v in nets]
        return [e / sum(exps) for e in exps]
    if name in PARAMETERS:
        return [
            mp_formula(name, v, layer.slope if name == "leaky_relu" else layer.alpha) for v in nets
        ]
    functions = {
        "identity": lambda v: v,
        "sigmoid": lambda v: 1 / (1 + mpmath.exp(-v)),
        "tanh": mpmath.tanh,
        "relu": lambda v: v if v > 0 else 0 * v,
    }
    return [functions[name](v) for v in nets]


def mp_term(problem: Problem, k: int, t: Any, o: Any, scale: int) -> Any:
    loss = problem.loss
    if loss == "output":
        return o if k == problem.objective else mpmath.mpf(0)
    if loss == "half_sse":
        return (t - o) ** 2 / 2
    if loss == "sse":
        return (t - o) ** 2
    if loss == "mse":
        return (t - o) ** 2 / scale
    ce = -(t * mpmath.log(o) if t else 0)
    if loss == "softmax_ce":
        return ce
    return ce - ((1 - t) * mpmath.log(1 - o) if t != 1 else 0)


def mp_reference(
    problem: Problem,
    params: Params,
    batch: tuple[int, ...],
    nudge: Nudge | None = None,
    only: int | None = None,
) -> tuple[dict[tuple[int, int, int], Any], dict[tuple[int, int], Any]]:
    """Outputs ``{(layer, j, sample): out}`` and terms ``{(k, sample): E[k]@s}``.

    ``only``: sample ``only`` alone (1-based), as a nudge of one sample's neuron
    does: nothing else moves, so nothing else is computed.
    """
    outs: dict[tuple[int, int, int], Any] = {}
    terms: dict[tuple[int, int], Any] = {}
    scale = problem.n_outputs * len(batch)  # mse: the whole batch's count, whatever is computed
    sample = only or (nudge[3] if nudge else None)
    for index in batch if sample is None else (sample - 1,):
        sample = index + 1
        below = nudged([mpmath.mpf(v) for v in problem.inputs[index]], "out", 0, sample, nudge)
        for number, (layer, (weights, biases)) in enumerate(
            zip(problem.layers, params, strict=True), start=1
        ):
            nets = [mpmath.fsum(w * o for w, o in zip(row, below, strict=True)) for row in weights]
            if biases:
                nets = [v + biases[j if len(biases) > 1 else 0] for j, v in enumerate(nets)]
            nets = nudged(nets, "net", number, sample, nudge)
            below = nudged(mp_activate(layer, nets), "out", number, sample, nudge)
            outs.update({(number, j, sample): v for j, v in enumerate(below, start=1)})
        for k, (t, o) in enumerate(zip(problem.targets[index], below, strict=True), start=1):
            terms[(k, sample)] = mp_term(problem, k, mpmath.mpf(t), o, scale)
    return outs, terms


def nudged(values: list[Any], kind: str, layer: int, sample: int, nudge: Nudge | None) -> list[Any]:
    if nudge is None or nudge[:2] != (kind, layer) or nudge[3] != sample:
        return values
    values = list(values)
    values[nudge[2] - 1] += nudge[4]
    return values


def mp_loss(problem: Problem, params: Params, batch: tuple[int, ...]) -> Any:
    """E: the terms plus ``weight_decay / 2 * sum(w^2)`` (weights only)."""
    squares = mpmath.fsum(w * w for weights, _ in params for row in weights for w in row)
    terms = mp_reference(problem, params, batch)[1]
    return mpmath.fsum(terms.values()) + mpmath.mpf(problem.weight_decay) / 2 * squares


def sample_loss(problem: Problem, params: Params, batch: tuple[int, ...], sample: int) -> Any:
    return mpmath.fsum(mp_reference(problem, params, batch, only=sample)[1].values())


def params_from(problem: Problem, entries: dict[str, float]) -> Params:
    params: Params = []
    for number, layer in enumerate(problem.layers, start=1):
        weights = [
            [mpmath.mpf(entries[q.weight(number, j, i)]) for i in range(1, layer.fan_in + 1)]
            for j in range(1, layer.size + 1)
        ]
        js: list[int | None] = (
            [None] if layer.bias_kind == "shared" else list(range(1, layer.size + 1))
        )
        biases = (
            [mpmath.mpf(entries[q.bias(number, j)]) for j in js]
            if layer.bias_kind != "none"
            else []
        )
        params.append((weights, biases))
    return params


def moved(params: Params, what: str, layer: int, a: int, b: int | None, e: Any) -> Params:
    copy: Params = [([list(row) for row in w], list(bias)) for w, bias in params]
    weights, biases = copy[layer - 1]
    if what == "w":
        weights[a - 1][(b or 1) - 1] += e
    else:
        biases[a - 1] += e
    return copy


_PARAM = re.compile(r"dE_d([wb])\[(\d+)(?:,(\d+))?(?:,(\d+))?\](?:@(\d+))?")
_NEURON = re.compile(r"(dE_dout|delta|error_term|dout_dnet)\[(\d+),(\d+)\]@(\d+)")
_TERM_PARTIAL = re.compile(r"dE\[(\d+)\]_d(out|net)\[(\d+),(\d+)\]@(\d+)")


def mp_derivative(problem: Problem, params: Params, batch: tuple[int, ...], name: str) -> Any:
    """The derivative one name of the trace holds, by a central difference (None: not one)."""

    def at(x: Any, f: Any) -> Any:
        """A central difference at 40 digits: truncation ~1e-24, rounding ~1e-28."""
        h = mpmath.mpf("1e-12")
        return (f(x + h) - f(x - h)) / (2 * h)

    zero = mpmath.mpf(0)
    if match := _PARAM.fullmatch(name):
        what, number = match[1], int(match[2])
        a, b, sample = match[3], match[4], match[5]
        index = int(a) if a else 1
        other = int(b) if b else None
        if sample is None:
            return at(
                zero,
                lambda e: mp_loss(problem, moved(params, what, number, index, other, e), batch),
            )
        # E@s: sample s's terms of the batch's loss (mse keeps the batch's divisor)
        return at(
            zero,
            lambda e: sample_loss(
                problem, moved(params, what, number, index, other, e), batch, int(sample)
            ),
        )
    if match := _NEURON.fullmatch(name):
        kind, layer, j, s = match[1], int(match[2]), int(match[3]), int(match[4])
        if kind == "dout_dnet":
            return at(
                zero,
                lambda e: mp_reference(problem, params, batch, ("net", layer, j, s, e))[0][
                    (layer, j, s)
                ],
            )
        wrt = "out" if kind == "dE_dout" else "net"
        sign = -1 if kind == "error_term" else 1
        return sign * at(
            zero,
            lambda e: mpmath.fsum(
                mp_reference(problem, params, batch, (wrt, layer, j, s, e))[1].values()
            ),
        )
    if match := _TERM_PARTIAL.fullmatch(name):
        k, wrt, layer, j, s = int(match[1]), match[2], int(match[3]), int(match[4]), int(match[5])
        return at(
            zero, lambda e: mp_reference(problem, params, batch, (wrt, layer, j, s, e))[1][(k, s)]
        )
    return None


TRAINED = ("mini-batch-order", "momentum", "nesterov", "weight-decay", "everything")


@pytest.mark.parametrize("key", sorted(FEATURES))
def test_every_derivative_matches_mpmath(key: str) -> None:
    """dE_dw (with decay), dE_dw@s, dE_dout[0,i]@s, deltas, term partials, at one step: 2 where
    the updates so far matter (velocities, batches), else 0 (the gradient is the gradient)."""
    problem = FEATURES[key]
    trace = ENGINE.run(problem, {2 if key in TRAINED else 0})
    with mpmath.workdps(40):
        for step, entries in trace.items():
            params = params_from(problem, entries)
            batch = batch_of_step(problem, step)
            assert entries["E"] == pytest.approx(float(mp_loss(problem, params, batch)), rel=1e-12)
            checked = 0
            for name, value in entries.items():
                expected = mp_derivative(problem, params, batch, name)
                if expected is None:
                    continue
                checked += 1
                assert value == pytest.approx(float(expected), rel=1e-9, abs=1e-12), (step, name)
            assert checked > 50


# --------------------------------------------------------------------------
# The update rule against a hand-written step
# --------------------------------------------------------------------------


def hand_written_updates(problem: Problem, trace: Trace) -> None:
    """From each step's parameters and gradients, the next step's parameters, in Python floats.

    ``v <- mu v - eta g``; change ``v`` or ``mu v - eta g`` (Nesterov); ``p <- p + change``.
    NumPy's elementwise float64 operations round like Python's, so the match is exact.
    """
    velocity: dict[str, float] = {}
    mu = problem.momentum
    for step in range(problem.steps):
        now, after = trace[step], trace[step + 1]
        for name, value in now.items():
            parameter = re.fullmatch(r"([wb])\[(\d+)[^\]]*\]", name)
            if not parameter:
                continue
            layer = problem.layers[int(parameter[2]) - 1]
            if parameter[1] == "b" and not layer.bias_trainable:
                assert after[name] == value
                assert "d" + name not in now
                continue
            eta = layer_rate(problem, int(parameter[2]) - 1)
            gradient = now["dE_d" + name]
            if mu == 0.0:
                change = -(eta * gradient)
            else:
                velocity[name] = mu * velocity.get(name, 0.0) - eta * gradient
                change = (
                    mu * velocity[name] - eta * gradient if problem.nesterov else velocity[name]
                )
            assert now["d" + name] == change, (step, name)
            assert after[name] == value + change, (step, name)


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
@pytest.mark.parametrize(
    "key", ["momentum", "nesterov", "weight-decay", "layer-rates", "everything"]
)
def test_updates_follow_the_hand_written_rule(key: str, order: str) -> None:
    problem = dataclasses.replace(FEATURES[key], update_order=order)
    trace = ENGINE.run(problem, set(range(problem.steps + 1)))
    hand_written_updates(problem, trace)


def test_weight_decay_is_in_the_gradient_and_the_loss_but_not_per_sample() -> None:
    problem = FEATURES["weight-decay"]
    entries = ENGINE.run(problem, {1})[1]
    decay = problem.weight_decay
    squares = sum(v * v for n, v in entries.items() if n.startswith("w["))
    assert entries["E"] == pytest.approx(
        sum(entries[f"E@{s}"] for s in (1, 2, 3)) + decay / 2 * squares, rel=1e-14
    )
    for name in (n for n in entries if n.startswith("w[")):
        per_sample = sum(entries[f"dE_d{name}@{s}"] for s in (1, 2, 3))
        assert entries["dE_d" + name] == pytest.approx(
            per_sample + decay * entries[name], rel=1e-12
        )


def test_momentum_without_momentum_is_plain_descent_to_the_bit() -> None:
    """The general path (a per-layer rate equal to the problem's) trains as the lean path."""
    plain = BASE
    layers = tuple(
        dataclasses.replace(layer, learning_rate=plain.learning_rate) for layer in plain.layers
    )
    general = dataclasses.replace(plain, layers=layers)
    steps = set(range(plain.steps + 1))
    assert ENGINE.run(plain, steps) == ENGINE.run(general, steps)


# --------------------------------------------------------------------------
# Per-sample quantities, mini-batches, objectives
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(FEATURES))
def test_per_sample_quantities_add_up(key: str) -> None:
    problem = FEATURES[key]
    for step, entries in ENGINE.run(problem, {0, problem.steps}).items():
        batch = [index + 1 for index in batch_of_step(problem, step)]
        for s in batch:
            terms = [entries[q.term(k, s)] for k in range(1, problem.n_outputs + 1)]
            assert entries[q.sample_loss(s)] == pytest.approx(sum(terms), rel=1e-15)
            for number, layer in enumerate(problem.layers, start=1):
                for j in range(1, layer.size + 1):
                    parts = [
                        entries[q.net_term(number, j, i, s)] for i in range(1, layer.fan_in + 1)
                    ]
                    weighted = entries[q.neuron("weighted_sum", number, j, s)]
                    assert weighted == pytest.approx(sum(parts), rel=1e-14, abs=1e-15)
                    net = entries[q.neuron("net", number, j, s)]
                    if layer.bias_kind == "none":
                        assert net == weighted
                    else:
                        shared = layer.bias_kind == "shared"
                        assert net == weighted + entries[q.bias(number, None if shared else j)]
                    delta = entries[q.neuron("delta", number, j, s)]
                    assert entries[q.neuron("error_term", number, j, s)] == -delta
            if problem.has_targets:
                for k in range(1, problem.n_outputs + 1):
                    out = entries[q.neuron("out", len(problem.layers), k, s)]
                    target = problem.targets[s - 1][k - 1]
                    assert entries[q.output_error(k, s)] == target - out


def test_objective_terms_are_the_output_and_zeros() -> None:
    problem = FEATURES["objective-2-per-sample"]
    for step, entries in ENGINE.run(problem, range(problem.steps + 1)).items():
        (s,) = (index + 1 for index in batch_of_step(problem, step))
        assert entries[q.term(1, s)] == 0.0
        assert entries[q.term(2, s)] == entries[q.neuron("out", 3, 2, s)] == entries["E"]
        assert entries[q.neuron("dE_dout", 3, 2, s)] == 1.0
        assert entries[q.neuron("dE_dout", 3, 1, s)] == 0.0
        assert not any(name.startswith("error[") for name in entries)


def test_mini_batches_take_the_samples_of_their_step() -> None:
    problem = FEATURES["mini-batch-order"]
    trace = ENGINE.run(problem, range(problem.steps + 1))
    for step, entries in trace.items():
        batch = batch_of_step(problem, step)
        samples = {int(n.partition("@")[2]) for n in entries if "@" in n}
        assert samples == {index + 1 for index in batch}
        for index in batch:
            for i, value in enumerate(problem.inputs[index], start=1):
                assert entries[q.neuron("out", 0, i, index + 1)] == value
    assert [len(batch_of_step(problem, step)) for step in trace] == [2, 1, 2, 1, 2, 1]


def test_mse_divides_by_the_mini_batch_not_the_data_set() -> None:
    problem = dataclasses.replace(FEATURES["mini-batch-order"], loss="mse")
    entries = ENGINE.run(problem, {1})[1]  # the batch of one sample: 2 outputs
    (index,) = batch_of_step(problem, 1)
    out = [entries[q.neuron("out", 3, k, index + 1)] for k in (1, 2)]
    expected = sum((t - o) ** 2 for t, o in zip(problem.targets[index], out, strict=True)) / 2
    assert entries["E"] == pytest.approx(expected, rel=1e-15)


# --------------------------------------------------------------------------
# Names, paths, float32
# --------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
@pytest.mark.parametrize("key", sorted(FEATURES))
def test_trace_names_are_names_at_step(key: str, order: str) -> None:
    problem = dataclasses.replace(FEATURES[key], update_order=order)
    trace = ENGINE.run(problem, range(problem.steps + 1))
    for step, entries in trace.items():
        assert sorted(entries) == sorted(q.names_at_step(problem, step)), step
        assert all(type(value) is float for value in entries.values())


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
@pytest.mark.parametrize("key", sorted(FEATURES))
def test_lean_path_equals_recorded_path(key: str, order: str) -> None:
    for precision in ("float64", "float32"):
        problem = dataclasses.replace(FEATURES[key], update_order=order, precision=precision)
        assert path_differences(ENGINE, problem) == []


@pytest.mark.parametrize("key", sorted(FEATURES))
def test_float32_traces_hold_float32_values(key: str) -> None:
    problem = dataclasses.replace(FEATURES[key], precision="float32")
    single = ENGINE.run(problem, range(problem.steps + 1))
    double = ENGINE.run(FEATURES[key], range(problem.steps + 1))
    differs = 0
    for step, entries in single.items():
        for name, value in entries.items():
            assert float(np.float32(value)) == value or math.isnan(value), (step, name)
            assert value == pytest.approx(double[step][name], rel=2e-5, abs=2e-6), (step, name)
            differs += value != double[step][name]
    assert differs, "float32 gave float64's values"


def test_float32_inputs_are_rounded_first() -> None:
    """0.1 is not a float32: the trace shows the float32 nearest to it, not 0.1."""
    entries = ENGINE.run(dataclasses.replace(BASE, precision="float32"), {0})[0]
    assert entries["w[1,1,1]"] == float(np.float32(0.1)) != 0.1
    assert entries["out[0,1]@1"] == 0.5


ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax", "leaky_relu", "softplus", "elu")
LOSSES = ("half_sse", "sse", "mse", "bce", "softmax_ce", "output 2")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activations_keep_float32(activation: str) -> None:
    net = np.array([[-2.0, 0.0, 1.5]], dtype=np.float32)
    activate, slope = mx_activations.bound_activation(activation, np.float32(0.2), np.float32(0.7))
    out = activate(net)
    assert out.dtype == np.float32
    assert slope(net, out).dtype == np.float32
    grad = np.array([[0.5, -1.0, 2.0]], dtype=np.float32)
    assert mx_activations.to_delta(activation, grad, out, slope(net, out)).dtype == np.float32


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_keep_float32(loss: str) -> None:
    out = np.array([[0.25, 0.75], [0.5, 0.125]], dtype=np.float32)
    target = np.array([[0.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    assert mx_network._loss_terms(loss, out, target).dtype == np.float32
    assert mx_network._loss_slopes(loss, out, target).dtype == np.float32


def test_optimizer_keeps_float32() -> None:
    problem = dataclasses.replace(FEATURES["everything"], precision="float32")
    layers = [mx_network.DenseLayer.of(layer, np.float32) for layer in problem.layers]
    optimizer = Optimizer.of(problem, layers)
    penalty = optimizer.penalty(layers)
    assert penalty is not None and penalty.dtype == np.float32
    for index, layer in enumerate(layers):
        grad_w = optimizer.gradient(layer, np.ones_like(layer.weights))
        change_w, change_b = optimizer.apply(index, layer, grad_w, np.ones_like(layer.bias))
        assert grad_w.dtype == change_w.dtype == layer.weights.dtype == np.float32
        assert change_b is None or change_b.dtype == np.float32
        assert layer.bias.dtype == np.float32


# --------------------------------------------------------------------------
# Agreement with the loops engine (plain Python, written independently)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
@pytest.mark.parametrize("key", sorted(FEATURES))
def test_agrees_with_loops(key: str, order: str, precision: str) -> None:
    """Same names, and every value within the tolerance ``bpcheck run`` holds engines to."""
    problem = dataclasses.replace(FEATURES[key], update_order=order, precision=precision)
    steps = set(range(problem.steps + 1))
    ours, theirs = ENGINE.run(problem, steps), LoopsEngine().run(problem, steps)
    floor = agreement_floor(precision)
    for step in steps:
        assert set(ours[step]) == set(theirs[step])
        tolerance = agreement_tolerance(step, precision)
        for name, value in ours[step].items():
            pair = [value, theirs[step][name]]
            assert agree(pair, tolerance, floor), (step, name, pair)
