"""Tests of the autodiff engine against the problem model and an independent NumPy loss."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

jax = pytest.importorskip("jax", reason="jax not installed: the autodiff engine is optional")

import numpy as np  # noqa: E402  (after the skip: numpy comes with the jax extra)

from bpcheck.engines.autodiff import AutodiffEngine  # noqa: E402
from bpcheck.engines.autodiff import network as autodiff  # noqa: E402
from bpcheck.engines.autodiff.forward import activate  # noqa: E402
from bpcheck.model import quantities as q  # noqa: E402
from bpcheck.model.engine import ALL_CAPABILITIES, Engine  # noqa: E402
from bpcheck.model.examples import mazur  # noqa: E402
from bpcheck.model.problem import Layer, Problem, batch_of_step  # noqa: E402
from bpcheck.testing import strategies as bst  # noqa: E402

pytestmark = pytest.mark.slow  # JAX compiles a function per shape: seconds, not milliseconds

ENGINE = AutodiffEngine()
REPO = Path(__file__).resolve().parents[2]


# --- problems ------------------------------------------------------------------


def random_problem(
    seed: int,
    sizes: tuple[int, ...],
    activations: tuple[str, ...],
    bias_kinds: tuple[str, ...],
    loss: str,
    batch: str = "full",
    order: str = "simultaneous",
    n_samples: int = 3,
    steps: int = 3,
) -> Problem:
    """A named case drawn by :func:`bpcheck.testing.strategies.seeded_problem`; every other
    layer's bias frozen, so both kinds are covered."""
    trainable = tuple(n % 2 == 0 for n in range(len(activations)))
    arch = bst.Architecture(
        sizes, activations, bias_kinds, trainable, loss, n_samples, batch, order
    )
    return bst.seeded_problem(arch, seed, steps=steps)


# Every activation, loss and bias kind, both batch modes, three layers of weights.
CASES = {
    "half_sse/sigmoid/per_sample": random_problem(
        1, (3, 4, 3, 2), ("tanh", "relu", "sigmoid"), ("none", "per_neuron", "shared"),
        "half_sse", batch="per_sample",
    ),
    "sse/identity": random_problem(
        2, (2, 3, 3, 2), ("relu", "sigmoid", "identity"), ("shared", "none", "per_neuron"), "sse"
    ),
    "mse/tanh": random_problem(
        3, (3, 3, 2, 3), ("identity", "tanh", "tanh"), ("per_neuron", "shared", "none"), "mse"
    ),
    "bce/sigmoid/per_sample": random_problem(
        4, (2, 4, 3, 2), ("sigmoid", "tanh", "sigmoid"), ("per_neuron", "per_neuron", "shared"),
        "bce", batch="per_sample",
    ),
    "softmax_ce/softmax/sequential": random_problem(
        5, (3, 3, 4, 3), ("tanh", "relu", "softmax"), ("shared", "per_neuron", "per_neuron"),
        "softmax_ce", order="sequential",
    ),
}  # fmt: skip


# --- an independent NumPy forward pass and loss, for finite differences --------


def np_activate(name: str, net: np.ndarray) -> np.ndarray:
    if name == "identity":
        return net
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-net))
    if name == "tanh":
        return np.tanh(net)
    if name == "relu":
        return np.where(net > 0.0, net, 0.0)
    exps = np.exp(net - net.max())
    return exps / exps.sum()


def np_terms(
    problem: Problem,
    params: list[tuple[np.ndarray, np.ndarray]],
    sample: int,
    batch_size: int,
    nudge: tuple[str, int, int, float] | None = None,
) -> np.ndarray:
    """E[k] of one 0-based sample; ``nudge`` = (net|out, layer, 1-based j, amount)."""
    out = np.array(problem.inputs[sample])
    for number, (layer, (weights, bias)) in enumerate(zip(problem.layers, params), start=1):
        net = weights @ out + (bias if layer.bias_kind != "none" else 0.0)
        if nudge and nudge[0] == "net" and nudge[1] == number:
            net[nudge[2] - 1] += nudge[3]
        out = np_activate(layer.activation, net)
        if nudge and nudge[0] == "out" and nudge[1] == number:
            out[nudge[2] - 1] += nudge[3]
    t = np.array(problem.targets[sample])
    if problem.loss == "half_sse":
        return 0.5 * (t - out) ** 2
    if problem.loss == "sse":
        return (t - out) ** 2
    if problem.loss == "mse":
        return (t - out) ** 2 / (len(out) * batch_size)
    if problem.loss == "bce":
        return -(t * np.log(out) + (1 - t) * np.log(1 - out))
    return -t * np.log(out)


def np_loss(problem: Problem, params: list[tuple[np.ndarray, np.ndarray]], step: int) -> float:
    batch = batch_of_step(problem, step)
    return float(sum(np_terms(problem, params, s, len(batch)).sum() for s in batch))


def params_in(problem: Problem, values: dict[str, float]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The parameters a trace reports, as NumPy arrays (biases of kind none: empty)."""
    params = []
    for number, layer in enumerate(problem.layers, start=1):
        weights = np.array(
            [
                [values[q.weight(number, j, i)] for i in range(1, layer.fan_in + 1)]
                for j in range(1, layer.size + 1)
            ]
        )
        if layer.bias_kind == "shared":
            bias = np.array([values[q.bias(number, None)]])
        elif layer.bias_kind == "per_neuron":
            bias = np.array([values[q.bias(number, j)] for j in range(1, layer.size + 1)])
        else:
            bias = np.zeros(0)
        params.append((weights, bias))
    return params


STEP = 1e-6
"""Half the spacing of the central differences."""


def loss_slope(
    problem: Problem,
    params: list[tuple[np.ndarray, np.ndarray]],
    step: int,
    where: tuple[int, int, tuple[int, ...]],
) -> float:
    """dE / d(one parameter) by central differences; ``where`` = (layer index, 0 w | 1 b, index)."""
    layer_index, part, index = where
    losses = []
    for h in (STEP, -STEP):
        moved = [(w.copy(), b.copy()) for w, b in params]
        moved[layer_index][part][index] += h
        losses.append(np_loss(problem, moved, step))
    return (losses[0] - losses[1]) / (2 * STEP)


def term_slopes(
    problem: Problem,
    params: list[tuple[np.ndarray, np.ndarray]],
    sample: int,
    batch_size: int,
    nudged: tuple[str, int, int],
) -> np.ndarray:
    """d E[k] / d(net or out of one neuron) for every k, by central differences."""
    kind, number, j = nudged
    plus = np_terms(problem, params, sample, batch_size, (kind, number, j, STEP))
    minus = np_terms(problem, params, sample, batch_size, (kind, number, j, -STEP))
    return (plus - minus) / (2 * STEP)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b)) + 1e-9


# --- the contract ----------------------------------------------------------------


def test_engine_contract() -> None:
    assert isinstance(ENGINE, Engine)
    assert ENGINE.name == "autodiff"
    assert jax.__version__ in ENGINE.version
    assert ENGINE.capabilities == ALL_CAPABILITIES
    assert ENGINE.available().available


def test_imports_and_reports_unavailable_without_jax() -> None:
    code = (
        "import sys; sys.modules['jax'] = None\n"
        "from bpcheck.engines.autodiff import AutodiffEngine\n"
        "print(AutodiffEngine().available().reason)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "pip install 'bpcheck[jax]'" in result.stdout


@pytest.mark.parametrize("case", CASES)
def test_trace_has_exactly_the_names_of_each_recorded_step(case: str) -> None:
    problem = CASES[case]
    record = {0, 1, 2, problem.steps, problem.steps + 5}  # a step beyond the run is ignored
    trace = ENGINE.run(problem, record)
    assert set(trace) == {0, 1, 2, problem.steps}
    for step, values in trace.items():
        names = q.names_at_step(problem, step)
        assert set(values) == set(names)
        assert all(type(value) is float for value in values.values())


def test_mazur_example() -> None:
    """Mazur's printed numbers, each to half a unit of its last printed place.

    Two of his numbers need a reading: his error after the first round,
    0.291027924, is what the *sequential* order gives (simultaneous:
    0.2910277737); and his 0.0000351085 "after 10,000 rounds" is E after 9,999
    updates (after 10,000 it is 0.0000351019).
    """
    trace = ENGINE.run(mazur(steps=1), {0, 1})
    assert trace[0]["out[2,1]@1"] == pytest.approx(0.75136507, abs=0.5e-8)
    assert trace[0]["E"] == pytest.approx(0.298371109, abs=0.5e-9)
    assert trace[0]["dE_dw[2,1,1]"] == pytest.approx(0.082167041, abs=0.5e-9)
    assert trace[1]["w[2,1,1]"] == pytest.approx(0.35891648, abs=0.5e-8)
    assert trace[1]["w[1,1,1]"] == pytest.approx(0.149780716, abs=0.5e-9)
    assert trace[1]["E"] == pytest.approx(0.2910277737, abs=0.5e-10)
    assert trace[1]["E"] == pytest.approx(np_loss(mazur(), params_in(mazur(), trace[1]), 1))

    sequential = ENGINE.run(mazur(steps=1, order="sequential"), {1})
    assert sequential[1]["E"] == pytest.approx(0.291027924, abs=0.5e-9)

    long = ENGINE.run(mazur(steps=10_000), {9_999, 10_000})
    assert long[9_999]["E"] == pytest.approx(0.0000351085, abs=0.5e-10)
    assert long[10_000]["E"] == pytest.approx(0.0000351019, abs=0.5e-10)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("step", [0, 1])
def test_derivatives_match_central_differences(case: str, step: int) -> None:
    """Every parameter gradient, dE/dout, delta and per-term partial, by finite differences.

    The sequential case is checked at the final step, where no update follows
    and its derivatives are the plain ones.
    """
    problem = CASES[case]
    if problem.update_order == "sequential":
        problem = replace(problem, steps=step)
    values = ENGINE.run(problem, {step})[step]
    params = params_in(problem, values)
    batch = batch_of_step(problem, step)

    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                fd = loss_slope(problem, params, step, (number - 1, 0, (j - 1, i - 1)))
                assert close(values[q.weight_grad(number, j, i)], fd)
        for index in range(len(params[number - 1][1])):
            fd = loss_slope(problem, params, step, (number - 1, 1, (index,)))
            j_or_none = None if layer.bias_kind == "shared" else index + 1
            assert close(values[q.bias_grad(number, j_or_none)], fd)

    for s in batch:
        for number, layer in enumerate(problem.layers, start=1):
            for j in range(1, layer.size + 1):
                for kind, total in (("net", "delta"), ("out", "dE_dout")):
                    fd_terms = term_slopes(problem, params, s, len(batch), (kind, number, j))
                    assert close(values[q.neuron(total, number, j, s + 1)], float(fd_terms.sum()))
                    for k in range(1, problem.n_outputs + 1):
                        name = q.term_partial(k, kind, number, j, s + 1)
                        assert close(values[name], float(fd_terms[k - 1]))


def test_frozen_bias_gradient_is_reported_but_not_applied() -> None:
    trace = ENGINE.run(mazur(steps=1), {0, 1})
    assert trace[0]["dE_db[2]"] != 0.0
    assert trace[1]["b[2]"] == trace[0]["b[2]"] == 0.60


# --- update orders ------------------------------------------------------------------


def test_sequential_equals_simultaneous_for_one_layer() -> None:
    one_layer = random_problem(7, (3, 2), ("sigmoid",), ("per_neuron",), "half_sse", steps=3)
    record = {0, 1, 2, 3}
    simultaneous = ENGINE.run(one_layer, record)
    sequential = ENGINE.run(replace(one_layer, update_order="sequential"), record)
    for step in record:
        for name, value in simultaneous[step].items():
            if name.startswith("dE_dout[0,") and step < one_layer.steps:
                # The inputs' gradient is the layer below the first: reached through the
                # updated weights, as every lower layer is in this order.
                assert sequential[step][name] != pytest.approx(value, rel=1e-6)
                continue
            assert sequential[step][name] == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_sequential_differs_for_two_layers() -> None:
    simultaneous = ENGINE.run(mazur(steps=1), {0, 1})
    sequential = ENGINE.run(mazur(steps=1, order="sequential"), {0, 1})
    for name in ("dE_dw[2,1,1]", "delta[2,1]@1", "dE[1]_dout[2,1]@1"):  # the top layer agrees
        assert sequential[0][name] == pytest.approx(simultaneous[0][name], rel=1e-14)
    for name in ("dE_dw[1,1,1]", "dE_dout[1,1]@1", "delta[1,2]@1", "dE[2]_dnet[1,1]@1"):
        assert sequential[0][name] != pytest.approx(simultaneous[0][name], rel=1e-6)
    assert sequential[1]["w[1,1,1]"] != pytest.approx(simultaneous[1]["w[1,1,1]"], rel=1e-9)
    assert sequential[1]["w[2,1,1]"] == pytest.approx(simultaneous[1]["w[2,1,1]"], rel=1e-14)


def test_sequential_lower_gradient_flows_through_the_updated_weights() -> None:
    """The sequential rule written out by hand for Mazur's network, in NumPy."""
    problem = mazur(order="sequential")
    w1, w2 = (np.array(layer.weights) for layer in problem.layers)
    x, t = np.array(problem.inputs[0]), np.array(problem.targets[0])
    hidden = 1 / (1 + np.exp(-(w1 @ x + 0.35)))
    out = 1 / (1 + np.exp(-(w2 @ hidden + 0.60)))
    delta_out = (out - t) * out * (1 - out)
    new_w2 = w2 - problem.learning_rate * np.outer(delta_out, hidden)
    delta_hidden = (new_w2.T @ delta_out) * hidden * (1 - hidden)
    values = ENGINE.run(problem, {0})[0]
    for j in (1, 2):
        assert values[f"delta[1,{j}]@1"] == pytest.approx(delta_hidden[j - 1], rel=1e-12)
        for i in (1, 2):
            expected = delta_hidden[j - 1] * x[i - 1]
            assert values[f"dE_dw[1,{j},{i}]"] == pytest.approx(expected, rel=1e-12)


def test_sequential_final_step_has_no_update_to_flow_through() -> None:
    simultaneous = ENGINE.run(mazur(steps=0), {0})[0]
    sequential = ENGINE.run(mazur(steps=0, order="sequential"), {0})[0]
    assert sequential == pytest.approx(simultaneous, rel=1e-14)


# --- compilation and conventions ------------------------------------------------------


def test_same_shape_does_not_recompile() -> None:
    first = random_problem(11, (2, 3, 1), ("tanh", "identity"), ("shared", "none"), "sse")
    other = random_problem(12, (2, 3, 1), ("tanh", "identity"), ("shared", "none"), "sse")
    same_shape_layers = tuple(
        replace(layer, weights=new.weights, bias=new.bias)
        for layer, new in zip(first.layers, other.layers, strict=True)
    )
    second = replace(
        first,
        layers=same_shape_layers,
        inputs=other.inputs,
        targets=other.targets,
        learning_rate=0.05,
        steps=9,
    )
    ENGINE.run(first, {0, first.steps})
    traced = dict(autodiff.TRACE_COUNTS)
    hits = autodiff.compiled_for.cache_info().hits
    trace = ENGINE.run(second, {2, 5, 9})
    assert dict(autodiff.TRACE_COUNTS) == traced
    assert autodiff.compiled_for.cache_info().hits == hits + 1
    assert trace[2]["w[1,1,1]"] != ENGINE.run(first, {2})[2]["w[1,1,1]"]


def test_relu_derivative_at_zero_is_zero() -> None:
    autodiff.enable_float64()
    zeros = jax.numpy.zeros(3)
    slope = jax.grad(lambda net: activate("relu", net).sum())(zeros)
    assert slope.tolist() == [0.0, 0.0, 0.0]

    # Neuron 1 of layer 1 gets a net input of exactly 0.
    problem = Problem(
        layers=(
            Layer(((0.0, 0.0), (0.3, -0.2)), "relu"),
            Layer(((0.5, 0.7),), "sigmoid"),
        ),
        inputs=((0.4, 0.9),),
        targets=((1.0,),),
    )
    values = ENGINE.run(problem, {0})[0]
    assert values["net[1,1]@1"] == 0.0
    assert values["dout_dnet[1,1]@1"] == 0.0
    assert values["delta[1,1]@1"] == 0.0
    assert values["dE_dw[1,1,1]"] == values["dE_dw[1,1,2]"] == 0.0
