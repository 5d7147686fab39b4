"""The autodiff engine on issue 17's features: new activations and losses, mini-batches,
momentum, Nesterov, weight decay, per-layer rates, float32 and the extended names.

Each feature is checked against something the engine does not share: the names of the
problem model, a NumPy forward pass differentiated by central differences, an update
written out by hand, float32 rounding, and the engine's own batched runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

jax = pytest.importorskip("jax", reason="jax not installed: the autodiff engine is optional")

import numpy as np  # noqa: E402  (after the skip: numpy comes with the jax extra)

from bpcheck.engines.autodiff import AutodiffEngine, arrays  # noqa: E402
from bpcheck.engines.autodiff import network as autodiff  # noqa: E402
from bpcheck.engines.autodiff.forward import activate  # noqa: E402
from bpcheck.model import quantities as q  # noqa: E402
from bpcheck.model.problem import Layer, Problem, batch_of_step  # noqa: E402

pytestmark = pytest.mark.slow  # JAX compiles a function per shape: seconds, not milliseconds

ENGINE = AutodiffEngine()

X = ((0.5, -1.0, 0.25), (-0.75, 0.5, 1.0), (0.3, 0.2, -0.6), (1.1, -0.4, 0.05), (0.0, 0.7, -0.9))
W1 = ((0.4, -0.3, 0.2), (-0.5, 0.6, 0.1))
W2 = ((0.7, -0.4), (0.3, 0.8))
PROBABILITIES = ((0.0, 1.0), (0.25, 0.75), (1.0, 0.0), (0.5, 0.5), (0.9, 0.1))


def features(
    hidden: str = "leaky_relu",
    out: str = "softmax",
    loss: str = "bce",
    **settings: object,
) -> Problem:
    """A 3-2-2 network on five samples; ``settings`` are Problem fields."""
    problem = Problem(
        layers=(
            Layer(W1, hidden, "per_neuron", (0.1, -0.2), slope=0.2, alpha=0.7),
            Layer(W2, out, "shared", (0.05,), bias_trainable=False),
        ),
        inputs=X,
        targets=PROBABILITIES,
        loss=loss,
        learning_rate=0.3,
        steps=4,
    )
    return replace(problem, **settings)  # type: ignore[arg-type]


CASES = {
    "leaky_relu/bce on softmax/mini 2 in an order": features(
        batch="mini", batch_size=2, sample_order=(4, 1, 0, 3, 2), steps=5
    ),
    "softplus/mse on softmax/momentum": features("softplus", loss="mse", momentum=0.9),
    "elu/softmax_ce on sigmoid/nesterov, decay": features(
        "elu", "sigmoid", "softmax_ce", momentum=0.8, nesterov=True, weight_decay=0.01
    ),
    "elu/output 2/layer rates/per sample": features(
        "elu",
        "tanh",
        "output",
        objective=2,
        targets=((0.0, 0.0),) * len(X),  # as the loader gives a problem with an objective
        batch="per_sample",
        layers=(
            replace(features().layers[0], activation="elu", learning_rate=0.05),
            features().layers[1],
        ),
    ),
    "leaky_relu/bce on identity/sequential, momentum, decay, mini 3": features(
        out="sigmoid",
        update_order="sequential",
        momentum=0.5,
        weight_decay=0.1,
        batch="mini",
        batch_size=3,
    ),
    "softplus/half_sse/float32, nesterov, decay, mini 2": features(
        "softplus",
        "identity",
        "half_sse",
        precision="float32",
        momentum=0.9,
        nesterov=True,
        weight_decay=0.001,
        batch="mini",
        batch_size=2,
        sample_order=(2, 0, 1, 4, 3),
    ),
}


def bits(trace: dict[int, dict[str, float]]) -> dict[int, dict[str, str]]:
    """Every value as its exact text (so NaN equals NaN and -0.0 differs from 0.0)."""
    return {step: {n: float(v).hex() for n, v in values.items()} for step, values in trace.items()}


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_trace_names_are_the_models_at_every_recorded_step(case: str) -> None:
    problem = CASES[case]
    record = set(range(problem.steps + 1))
    trace = ENGINE.run(problem, record)
    assert set(trace) == record
    for step, values in trace.items():
        assert sorted(values) == sorted(q.names_at_step(problem, step))
        assert all(type(value) is float for value in values.values())


# --- an independent forward pass, differentiated by central differences ----------------


def np_activate(layer: Layer, net: np.ndarray) -> Any:
    if layer.activation == "leaky_relu":
        return np.where(net > 0.0, net, layer.slope * net)
    if layer.activation == "softplus":
        return np.log1p(np.exp(net))
    if layer.activation == "elu":
        return np.where(net > 0.0, net, layer.alpha * (np.exp(net) - 1.0))
    if layer.activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-net))
    if layer.activation == "tanh":
        return np.tanh(net)
    if layer.activation == "identity":
        return net
    exps = np.exp(net - net.max())
    return exps / exps.sum()


def np_sample_loss(problem: Problem, values: dict[str, float], x: np.ndarray, s: int) -> float:
    """E@s from the parameters a trace reports, for input ``x`` (0-based sample ``s``)."""
    out = x
    for number, layer in enumerate(problem.layers, start=1):
        w = np.array([[values[q.weight(number, j, i)] for i in range(1, layer.fan_in + 1)]
                      for j in range(1, layer.size + 1)])  # fmt: skip
        bias: Any = 0.0
        if layer.bias_kind == "shared":
            bias = values[q.bias(number, None)]
        elif layer.bias_kind == "per_neuron":
            bias = np.array([values[q.bias(number, j)] for j in range(1, layer.size + 1)])
        out = np_activate(layer, w @ out + bias)
    if problem.loss == "output":
        return float(out[problem.objective - 1])
    t = np.array(problem.targets[s])
    if problem.loss == "bce":
        return float(-(t * np.log(out) + (1 - t) * np.log(1 - out)).sum())
    if problem.loss == "softmax_ce":
        return float(-(t * np.log(out)).sum())
    if problem.loss == "mse":
        return float(((t - out) ** 2).sum() / (len(out) * len(batch_of_step(problem, 0))))
    return float(0.5 * ((t - out) ** 2).sum())


def np_loss(problem: Problem, values: dict[str, float], step: int) -> float:
    batch = batch_of_step(problem, step)
    data = sum(np_sample_loss(problem, values, np.array(problem.inputs[s]), s) for s in batch)
    squares = sum(v * v for name, v in values.items() if name.startswith("w["))
    return data + problem.weight_decay / 2 * squares


H = 1e-6


@pytest.mark.parametrize("case", [c for c in CASES if "float32" not in c])
def test_gradients_match_central_differences(case: str) -> None:
    """dE_dw (weight decay included), dE_db, the inputs' gradient and E, by differences."""
    problem = replace(CASES[case], steps=1)
    values = ENGINE.run(problem, {1})[1]
    assert values[q.LOSS] == pytest.approx(np_loss(problem, values, 1), rel=1e-12)
    parameters = [n for n in values if n.startswith(("w[", "b["))]
    for name in parameters:
        moved = [dict(values, **{name: values[name] + h}) for h in (H, -H)]
        fd = (np_loss(problem, moved[0], 1) - np_loss(problem, moved[1], 1)) / (2 * H)
        assert values["dE_d" + name.split("[")[0] + "[" + name.split("[", 1)[1]] == pytest.approx(
            fd, rel=1e-6, abs=1e-8
        )
    for s in batch_of_step(problem, 1):
        x = np.array(problem.inputs[s])
        assert values[q.sample_loss(s + 1)] == pytest.approx(
            np_sample_loss(problem, values, x, s), rel=1e-12
        )
        for i in range(problem.n_inputs):
            plus, minus = x.copy(), x.copy()
            plus[i] += H
            minus[i] -= H
            fd = (np_sample_loss(problem, values, plus, s) - np_sample_loss(
                problem, values, minus, s)) / (2 * H)  # fmt: skip
            assert values[q.neuron("dE_dout", 0, i + 1, s + 1)] == pytest.approx(
                fd, rel=1e-6, abs=1e-8
            )


# --- the extended names against their definitions --------------------------------------


@pytest.mark.parametrize("case", [c for c in CASES if "float32" not in c])
def test_extended_names_are_what_they_say(case: str) -> None:
    problem = CASES[case]
    values = ENGINE.run(problem, {1})[1]
    batch = [s + 1 for s in batch_of_step(problem, 1)]
    decay = problem.weight_decay
    for name in [n for n in values if n.startswith("dE_dw[") and "@" not in n]:
        w = values["w" + name[len("dE_dw") :]]
        summed = sum(values[f"{name}@{s}"] for s in batch) + decay * w
        assert values[name] == pytest.approx(summed, rel=1e-12, abs=1e-15)
    for name in [n for n in values if n.startswith("dE_db[") and "@" not in n]:
        assert values[name] == pytest.approx(sum(values[f"{name}@{s}"] for s in batch), rel=1e-12)
    for s in batch:
        terms = [values[q.term(k, s)] for k in range(1, problem.n_outputs + 1)]
        assert values[q.sample_loss(s)] == pytest.approx(sum(terms), rel=1e-15)
        for number, layer in enumerate(problem.layers, start=1):
            for j in range(1, layer.size + 1):
                assert (
                    values[f"error_term[{number},{j}]@{s}"] == -values[f"delta[{number},{j}]@{s}"]
                )
                products = [
                    values[q.weight(number, j, i)] * values[q.neuron("out", number - 1, i, s)]
                    for i in range(1, layer.fan_in + 1)
                ]
                for i, product in enumerate(products, start=1):
                    assert values[q.net_term(number, j, i, s)] == product
                assert values[f"weighted_sum[{number},{j}]@{s}"] == pytest.approx(
                    sum(products), rel=1e-14, abs=1e-16
                )
        if problem.has_targets:
            for k in range(1, problem.n_outputs + 1):
                out = values[q.neuron("out", len(problem.layers), k, s)]
                assert values[q.output_error(k, s)] == problem.targets[s - 1][k - 1] - out
    assert values[q.LOSS] == pytest.approx(
        sum(values[q.sample_loss(s)] for s in batch)
        + decay / 2 * sum(v * v for n, v in values.items() if n.startswith("w[")),
        rel=1e-14,
    )


def test_output_objective_is_that_output_with_upstream_gradient_one() -> None:
    problem = CASES["elu/output 2/layer rates/per sample"]
    values = ENGINE.run(problem, {0})[0]
    assert values["E@1"] == values["E[2]@1"] == values["out[2,2]@1"] == values["E"]
    assert values["E[1]@1"] == 0.0
    assert values["dE_dout[2,2]@1"] == 1.0 and values["dE_dout[2,1]@1"] == 0.0
    assert not any(name.startswith("error[") for name in values)


@pytest.mark.parametrize(("activation", "value"), [("leaky_relu", 0.2), ("elu", 0.7)])
def test_kinks_take_the_left_branch(activation: str, value: float) -> None:
    """A net input of exactly 0: leaky_relu'(0) is the slope, elu'(0) is alpha."""
    problem = features(activation, steps=0)
    first = replace(problem.layers[0], weights=((0.0, 0.0, 0.0), W1[1]), bias=(0.0, -0.2))
    values = ENGINE.run(replace(problem, layers=(first, problem.layers[1])), {0})[0]
    assert values["net[1,1]@1"] == 0.0
    assert values["dout_dnet[1,1]@1"] == value
    assert values["delta[1,1]@1"] == value * values["dE_dout[1,1]@1"]


EDGES = [0.0, -0.0, 1000.0, -1000.0, float("nan")]
LOG2 = float(np.log(2.0))


@pytest.mark.parametrize(
    ("name", "shape", "values", "slopes"),
    [
        ("leaky_relu", 0.2, [0.0, -0.0, 1000.0, -200.0, np.nan], [0.2, 0.2, 1.0, 0.2, 1.0]),
        ("elu", 0.7, [0.0, -0.0, 1000.0, -0.7, np.nan], [0.7, 0.7, 1.0, 0.0, 1.0]),
        ("softplus", 0.0, [LOG2, LOG2, 1000.0, 0.0, np.nan], [0.5, 0.5, 1.0, 0.0, np.nan]),
    ],
)
def test_new_activations_and_their_derivatives_at_the_edges(
    name: str, shape: float, values: list[float], slopes: list[float]
) -> None:
    """JAX's derivative of the forward code: left branch at 0, no overflow at +-1000, and a
    NaN net input through the identity branch (slope 1) as the other engines take it."""
    autodiff.enable_float64()
    net = jax.numpy.array(EDGES)
    one = jax.vmap(jax.value_and_grad(lambda x: activate(name, x, shape)))
    found, slope = one(net)
    np.testing.assert_allclose(np.asarray(found), values, rtol=1e-15, atol=0.0)
    np.testing.assert_allclose(np.asarray(slope), slopes, rtol=1e-15, atol=0.0)


# --- the optimizer, written out by hand ------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_and_decay_match_the_update_written_out(nesterov: bool) -> None:
    """One identity layer with half_sse: dE/dW = (o - t) x^T + lambda W, by hand, two steps.

    Per-layer rates too: the bias (trainable) and weights share the layer's own rate.
    """
    mu, decay, rate = 0.9, 0.05, 0.1
    problem = Problem(
        layers=(Layer(W2, "identity", "per_neuron", (0.1, -0.3), learning_rate=rate),),
        inputs=((0.5, -1.0), (2.0, 0.25)),
        targets=((1.0, 0.0), (-0.5, 0.5)),
        learning_rate=99.0,  # the layer's own rate wins
        steps=2,
        momentum=mu,
        nesterov=nesterov,
        weight_decay=decay,
    )
    x, t = np.array(problem.inputs), np.array(problem.targets)
    w, b = np.array(W2), np.array([0.1, -0.3])
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    trace = ENGINE.run(problem, {0, 1, 2})
    for step in (0, 1):
        o = x @ w.T + b
        gw, gb = (o - t).T @ x + decay * w, (o - t).sum(axis=0)
        vw, vb = mu * vw - rate * gw, mu * vb - rate * gb
        cw, cb = (mu * vw - rate * gw, mu * vb - rate * gb) if nesterov else (vw, vb)
        for j in (1, 2):
            assert trace[step][f"dE_dw[1,{j},1]"] == pytest.approx(gw[j - 1, 0], rel=1e-13)
            assert trace[step][f"dw[1,{j},2]"] == pytest.approx(cw[j - 1, 1], rel=1e-13)
            assert trace[step][f"db[1,{j}]"] == pytest.approx(cb[j - 1], rel=1e-13)
        w, b = w + cw, b + cb
    assert trace[2]["w[1,2,1]"] == pytest.approx(w[1, 0], rel=1e-13)
    assert trace[2]["b[1,1]"] == pytest.approx(b[0], rel=1e-13)
    assert not any(name.startswith(("dw[", "db[")) for name in trace[2])


def test_a_step_applies_the_change_it_reports() -> None:
    """w(k+1) = w(k) + dw(k) and b(k+1) = b(k) + db(k); frozen biases stay, to the last bit.

    Not to the last bit for the others: training runs in its own compiled loop, where XLA
    may fuse the gradient's arithmetic otherwise than in the traced step (the lean and
    recorded paths must give the same floats, so the loop cannot take the trace's update).
    """
    for problem in CASES.values():
        trace = ENGINE.run(problem, set(range(problem.steps + 1)))
        for step in range(problem.steps):
            for name, change in trace[step].items():
                if name.startswith(("dw[", "db[")):
                    parameter = name[1:]
                    expected = trace[step][parameter] + change
                    rel = 1e-14 if problem.precision == "float64" else 2.0**-22
                    assert trace[step + 1][parameter] == pytest.approx(expected, rel=rel), name
            assert trace[step + 1]["b[2]"] == trace[step]["b[2]"]


# --- float32 --------------------------------------------------------------------------


def test_float32_values_are_float32_and_not_float64s() -> None:
    problem = CASES["softplus/half_sse/float32, nesterov, decay, mini 2"]
    record = {0, 2, problem.steps}
    single = ENGINE.run(problem, record)
    double = ENGINE.run(replace(problem, precision="float64"), record)
    for step in record:
        assert set(single[step]) == set(double[step])
        for name, value in single[step].items():
            assert float(np.float32(value)) == value, name
        assert single[step]["w[1,1,1]"] != double[step]["w[1,1,1]"] or step == 0
        assert single[step]["E"] != double[step]["E"]
        assert single[step]["E"] == pytest.approx(double[step]["E"], rel=1e-5)
    assert arrays.shape_of(problem) != arrays.shape_of(replace(problem, precision="float64"))


def test_float32_arithmetic_is_float32_throughout() -> None:
    """The first forward value, net[1,1]@s, is float32's rounding of each product and sum."""
    problem = CASES["softplus/half_sse/float32, nesterov, decay, mini 2"]
    values = ENGINE.run(problem, {0})[0]
    f = np.float32
    s = batch_of_step(problem, 0)[0]
    x = [f(v) for v in problem.inputs[s]]
    w = [f(v) for v in W1[0]]
    assert values[q.net_term(1, 1, 2, s + 1)] == float(w[1] * x[1])
    assert values[q.net_term(1, 1, 2, s + 1)] != W1[0][1] * problem.inputs[s][1]
    shape = arrays.shape_of(problem)
    params, inputs, _, hyper = arrays.device_arrays(problem, shape)
    leaves = jax.tree.leaves((params, inputs, hyper.rates, hyper.momentum, hyper.decay))
    assert {leaf.dtype for leaf in leaves} == {np.dtype(np.float32)}


# --- batches and compiles ------------------------------------------------------------


def other_values(problem: Problem, by: float) -> Problem:
    """The same shape, other numbers: weights, rates, slopes, momentum, sample order."""
    first, second = problem.layers
    first = replace(
        first,
        weights=tuple(tuple(w + by for w in row) for row in first.weights),
        slope=first.slope + by,
        alpha=first.alpha + by,
    )
    changed = replace(problem, layers=(first, second), learning_rate=problem.learning_rate + by)
    if problem.momentum:
        changed = replace(changed, momentum=problem.momentum - by)
    if problem.weight_decay:
        changed = replace(changed, weight_decay=problem.weight_decay * 2)
    if problem.sample_order:
        changed = replace(changed, sample_order=tuple(reversed(problem.sample_order)))
    return changed


@pytest.mark.parametrize("case", CASES)
def test_a_batch_is_each_problem_alone_bit_for_bit(case: str) -> None:
    problems = [other_values(CASES[case], by) for by in (0.0, 0.01, -0.02)]
    record = {0, 1, problems[0].steps}
    batched = ENGINE.run_many(problems, record)
    for problem, trace in zip(problems, batched, strict=True):
        assert bits(trace) == bits(ENGINE.run(problem, record))
    assert bits(batched[0]) != bits(batched[1])


def test_other_values_of_one_shape_compile_nothing_new() -> None:
    """Rates, slopes, alphas, momentum, decay, objective and sample order are run-time values;
    a mini-batch epoch with a shorter last batch traces once per batch length."""
    problem = CASES["leaky_relu/bce on identity/sequential, momentum, decay, mini 3"]
    ENGINE.run(problem, {0, 1, 2})  # batches of 3 and 2 samples
    traced = dict(autodiff.TRACE_COUNTS)
    ENGINE.run(other_values(problem, 0.03), {0, 1, 2})
    assert dict(autodiff.TRACE_COUNTS) == traced
    ENGINE.run(replace(problem, precision="float32"), {0, 1})
    assert autodiff.TRACE_COUNTS["trace"] == traced["trace"] + 2
    assert autodiff.TRACE_COUNTS["train"] == traced["train"] + 1
