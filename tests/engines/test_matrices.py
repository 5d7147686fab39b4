"""Tests of the matrices engine against the problem's definitions, not against other engines.

The finite-difference reference below is written in plain Python (``math``,
lists) on purpose: it shares no code with the engine, so a gradient that
matches it is right by definition rather than by agreement of two copies of
one mistake.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

import pytest

from bpcheck.engines.matrices import MatricesEngine
from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Engine
from bpcheck.model.examples import mazur
from bpcheck.model.problem import Problem, batch_of_step
from bpcheck.testing import strategies as bst

ENGINE = MatricesEngine()

# --------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------


def random_problem(
    sizes: tuple[int, ...],
    activations: tuple[str, ...],
    bias_kinds: tuple[str, ...],
    loss: str,
    *,
    samples: int = 3,
    batch: str = "full",
    order: str = "simultaneous",
    steps: int = 3,
    seed: int = 0,
) -> Problem:
    """A named case drawn by :func:`bpcheck.testing.strategies.seeded_problem`; biases
    trainable for even seeds, frozen for odd ones."""
    trainable = tuple(seed % 2 == 0 for _ in activations)
    arch = bst.Architecture(sizes, activations, bias_kinds, trainable, loss, samples, batch, order)
    return bst.seeded_problem(arch, seed, steps=steps)


PROBLEMS = {
    "mazur": mazur(steps=2),
    "deep-half_sse": random_problem(
        (2, 3, 3, 2), ("tanh", "relu", "sigmoid"), ("per_neuron", "none", "shared"), "half_sse"
    ),
    "deep-sse-per_sample": random_problem(
        (3, 4, 2, 2),
        ("relu", "identity", "tanh"),
        ("shared", "per_neuron", "none"),
        "sse",
        batch="per_sample",
        steps=4,
        seed=1,
    ),
    "mse-identity": random_problem(
        (2, 3, 2), ("sigmoid", "identity"), ("none", "per_neuron"), "mse", seed=2
    ),
    "bce": random_problem(
        (3, 3, 2), ("tanh", "sigmoid"), ("per_neuron", "per_neuron"), "bce", seed=3
    ),
    "softmax_ce": random_problem(
        (3, 4, 3), ("sigmoid", "softmax"), ("shared", "per_neuron"), "softmax_ce", seed=4
    ),
    "softmax_ce-per_sample-4-layers": random_problem(
        (2, 3, 3, 3, 3),
        ("relu", "tanh", "identity", "softmax"),
        ("none", "shared", "per_neuron", "none"),
        "softmax_ce",
        batch="per_sample",
        seed=5,
    ),
}

# --------------------------------------------------------------------------
# The trace has exactly the canonical names
# --------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["simultaneous", "sequential"])
@pytest.mark.parametrize("key", sorted(PROBLEMS))
def test_trace_names_are_exactly_the_canonical_ones(key: str, order: str) -> None:
    problem = dataclasses.replace(PROBLEMS[key], update_order=order)
    record = {0, 1, problem.steps}
    trace = ENGINE.run(problem, record)
    assert set(trace) == record
    for step, entries in trace.items():
        assert set(entries) == set(q.names_at_step(problem, step))
        assert all(type(value) is float for value in entries.values())
        assert all(math.isfinite(value) for value in entries.values())


def test_unrecorded_steps_are_not_stored() -> None:
    trace = ENGINE.run(mazur(steps=5), {2})
    assert set(trace) == {2}
    assert ENGINE.run(mazur(steps=5), ()) == {}


def test_engine_contract() -> None:
    assert isinstance(ENGINE, Engine)
    assert ENGINE.name == "matrices"
    assert ENGINE.capabilities == ALL_CAPABILITIES
    assert ENGINE.available().available


# --------------------------------------------------------------------------
# Mazur's printed numbers
# --------------------------------------------------------------------------


def assert_printed(value: float, printed: str) -> None:
    """``value`` rounds to ``printed``: within half a unit of its last printed digit."""
    decimals = len(printed.partition(".")[2])
    assert abs(value - float(printed)) <= 0.5 * 10.0**-decimals * (1 + 1e-9), (value, printed)


def test_mazur_forward_and_first_gradient() -> None:
    trace = ENGINE.run(mazur(), {0, 1})
    assert_printed(trace[0]["out[2,1]@1"], "0.75136507")
    assert_printed(trace[0]["E"], "0.298371109")
    assert_printed(trace[0]["dE_dw[2,1,1]"], "0.082167041")
    assert_printed(trace[1]["w[2,1,1]"], "0.35891648")
    assert_printed(trace[1]["w[1,1,1]"], "0.149780716")


def test_mazur_error_after_one_step_is_the_sequential_one() -> None:
    """The printed 0.291027924 is what the sequential order gives; simultaneous gives ...774."""
    assert_printed(ENGINE.run(mazur(order="sequential"), {1})[1]["E"], "0.291027924")
    assert_printed(ENGINE.run(mazur(order="simultaneous"), {1})[1]["E"], "0.291027774")


def test_mazur_after_10000_steps() -> None:
    """The printed outputs are the sequential order's; the printed error fits no order at 10,000.

    After 10,000 updates the loss is 0.0000351019 (simultaneous) or 0.0000350848
    (sequential, and consistent with the printed outputs).  The printed
    0.0000351085 is the simultaneous loss at step 9999, as if printed before the
    last update; near here E moves by ~6.7e-11 a step, so that match is weak.
    """
    sequential = ENGINE.run(mazur(order="sequential", steps=10_000), {10_000})[10_000]
    assert_printed(sequential["out[2,1]@1"], "0.015912196")
    assert_printed(sequential["out[2,2]@1"], "0.984065734")
    assert_printed(sequential["E"], "0.0000350848")
    simultaneous = ENGINE.run(mazur(steps=10_000), {9_999, 10_000})
    assert_printed(simultaneous[9_999]["E"], "0.0000351085")
    assert_printed(simultaneous[10_000]["E"], "0.0000351019")


# --------------------------------------------------------------------------
# An independent reference: plain-Python forward pass and loss
# --------------------------------------------------------------------------

Params = list[tuple[list[list[float]], list[float]]]  # per layer: weights[j][i], biases
Nudge = tuple[str, int, int, int, float]  # ("net" | "out", layer, j, sample, eps), 1-based


def _activate(name: str, nets: list[float]) -> list[float]:
    if name == "identity":
        return list(nets)
    if name == "sigmoid":
        return [1.0 / (1.0 + math.exp(-v)) for v in nets]
    if name == "tanh":
        return [math.tanh(v) for v in nets]
    if name == "relu":
        return [max(v, 0.0) for v in nets]
    exps = [math.exp(v) for v in nets]
    return [e / sum(exps) for e in exps]


def _term(loss: str, t: float, o: float, scale: int) -> float:
    if loss == "half_sse":
        return 0.5 * (t - o) ** 2
    if loss == "sse":
        return (t - o) ** 2
    if loss == "mse":
        return (t - o) ** 2 / scale
    if loss == "bce":
        return -(t * math.log(o) + (1 - t) * math.log(1 - o))
    return -t * math.log(o) if t else 0.0


def reference(
    problem: Problem, params: Params, batch: tuple[int, ...], nudge: Nudge | None = None
) -> tuple[dict[tuple[int, int, int], float], dict[tuple[int, int], float]]:
    """Outputs ``{(layer, j, sample): out}`` and terms ``{(k, sample): E[k]@s}``.

    ``nudge`` adds ``eps`` to the net or out of one neuron of one sample before the
    forward pass goes on, which is how a derivative by a net or out is probed.
    """
    outs: dict[tuple[int, int, int], float] = {}
    terms: dict[tuple[int, int], float] = {}
    scale = problem.n_outputs * len(batch)
    for index in batch:
        sample = index + 1
        below = _nudged(list(problem.inputs[index]), "out", 0, sample, nudge)  # dE_dout[0,i]
        for number, (layer, (weights, biases)) in enumerate(
            zip(problem.layers, params, strict=True), start=1
        ):
            nets = [sum(w * o for w, o in zip(row, below, strict=True)) for row in weights]
            if biases:
                nets = [v + biases[j if len(biases) > 1 else 0] for j, v in enumerate(nets)]
            nets = _nudged(nets, "net", number, sample, nudge)
            below = _nudged(_activate(layer.activation, nets), "out", number, sample, nudge)
            outs.update({(number, j, sample): v for j, v in enumerate(below, start=1)})
        for k, (t, o) in enumerate(zip(problem.targets[index], below, strict=True), start=1):
            terms[(k, sample)] = _term(problem.loss, t, o, scale)
    return outs, terms


def _nudged(
    values: list[float], kind: str, layer: int, sample: int, nudge: Nudge | None
) -> list[float]:
    if nudge is None or nudge[:2] != (kind, layer) or nudge[3] != sample:
        return values
    values = list(values)
    values[nudge[2] - 1] += nudge[4]
    return values


def params_from(problem: Problem, entries: dict[str, float]) -> Params:
    """The parameters a trace reports for its step, as plain lists."""
    params: Params = []
    for number, layer in enumerate(problem.layers, start=1):
        weights = [
            [entries[q.weight(number, j, i)] for i in range(1, layer.fan_in + 1)]
            for j in range(1, layer.size + 1)
        ]
        if layer.bias_kind == "shared":
            biases = [entries[q.bias(number, None)]]
        elif layer.bias_kind == "per_neuron":
            biases = [entries[q.bias(number, j)] for j in range(1, layer.size + 1)]
        else:
            biases = []
        params.append((weights, biases))
    return params


def central(f: Callable[[float], float], eps: float = 1e-5) -> float:
    return (f(eps) - f(-eps)) / (2 * eps)


# --------------------------------------------------------------------------
# Every derivative in the trace against central differences
# --------------------------------------------------------------------------

_PARAM_GRAD = re.compile(r"^dE_d([wb])\[(\d+)(?:,(\d+))?(?:,(\d+))?\]$")
_NEURON = re.compile(r"^(dE_dout|delta|dout_dnet)\[(\d+),(\d+)\]@(\d+)$")
_TERM_PARTIAL = re.compile(r"^dE\[(\d+)\]_d(out|net)\[(\d+),(\d+)\]@(\d+)$")


def expected_derivative(
    problem: Problem, params: Params, batch: tuple[int, ...], name: str
) -> float:
    """The finite-difference value of one derivative name of the trace."""

    def outs(nudge: Nudge) -> dict[tuple[int, int, int], float]:
        return reference(problem, params, batch, nudge)[0]

    def terms(nudge: Nudge | None, moved: Params = params) -> dict[tuple[int, int], float]:
        return reference(problem, moved, batch, nudge)[1]

    if match := _PARAM_GRAD.match(name):
        what, number, a, b = match[1], int(match[2]), match[3], match[4]
        return central(lambda e: sum(terms(None, _shifted(params, what, number, a, b, e)).values()))
    if match := _NEURON.match(name):
        kind, layer, j, s = match[1], int(match[2]), int(match[3]), int(match[4])
        if kind == "dout_dnet":
            return central(lambda e: outs(("net", layer, j, s, e))[(layer, j, s)])
        wrt = "out" if kind == "dE_dout" else "net"
        return central(lambda e: sum(terms((wrt, layer, j, s, e)).values()))
    match = _TERM_PARTIAL.match(name)
    assert match, name
    k, wrt, layer, j, s = int(match[1]), match[2], int(match[3]), int(match[4]), int(match[5])
    return central(lambda e: terms((wrt, layer, j, s, e))[(k, s)])


def _shifted(
    params: Params, what: str, layer: int, a: str | None, b: str | None, e: float
) -> Params:
    """A copy of ``params`` with one weight, one per-neuron bias or the shared bias moved by e."""
    copy: Params = [([list(row) for row in w], list(bias)) for w, bias in params]
    weights, biases = copy[layer - 1]
    if what == "w":
        weights[int(a or 0) - 1][int(b or 0) - 1] += e
    else:
        biases[int(a) - 1 if a else 0] += e
    return copy


def _is_derivative(name: str) -> bool:
    return bool(_PARAM_GRAD.match(name) or _NEURON.match(name) or _TERM_PARTIAL.match(name))


@pytest.mark.parametrize("key", sorted(PROBLEMS))
def test_every_derivative_matches_finite_differences(key: str) -> None:
    """Steps 0 and 2 (simultaneous order): the trace's gradients are those of its own batch."""
    problem = PROBLEMS[key]
    trace = ENGINE.run(problem, {0, 2})
    for step, entries in trace.items():
        params = params_from(problem, entries)
        batch = batch_of_step(problem, step)
        assert entries["E"] == pytest.approx(sum(reference(problem, params, batch)[1].values()))
        for name in filter(_is_derivative, entries):
            expected = expected_derivative(problem, params, batch, name)
            assert entries[name] == pytest.approx(expected, rel=1e-6, abs=1e-9), (step, name)


def test_softmax_dout_dnet_is_the_diagonal() -> None:
    problem = PROBLEMS["softmax_ce"]
    entries = ENGINE.run(problem, {0})[0]
    for j in range(1, 4):
        o = entries[q.neuron("out", 2, j, 1)]
        assert entries[q.neuron("dout_dnet", 2, j, 1)] == pytest.approx(o * (1 - o))


# --------------------------------------------------------------------------
# Update order, frozen biases, the last step
# --------------------------------------------------------------------------


def test_orders_agree_for_one_layer_of_weights() -> None:
    """Except for the gradient by the inputs, which the sequential order carries down
    through the first layer's updated weights, like every dE_dout below a layer."""
    problem = random_problem((3, 2), ("sigmoid",), ("per_neuron",), "half_sse", steps=3)
    steps = set(range(problem.steps + 1))
    simultaneous = ENGINE.run(problem, steps)
    sequential = ENGINE.run(dataclasses.replace(problem, update_order="sequential"), steps)

    def by_input(name: str) -> bool:
        return name.startswith("dE_dout[0,")

    for step in steps:
        rest = {n: v for n, v in simultaneous[step].items() if not by_input(n)}
        assert rest == {n: v for n, v in sequential[step].items() if not by_input(n)}
        updated = trace_weights_after(sequential, step, problem.steps)
        for name in filter(by_input, sequential[step]):
            i, sample = re.fullmatch(r"dE_dout\[0,(\d+)\]@(\d+)", name).groups()  # type: ignore[union-attr]
            expected = sum(
                sequential[step][f"delta[1,{j}]@{sample}"] * updated[f"w[1,{j},{i}]"]
                for j in (1, 2)
            )
            assert sequential[step][name] == pytest.approx(expected, rel=1e-12), (step, name)
    assert simultaneous[0]["dE_dout[0,1]@1"] != sequential[0]["dE_dout[0,1]@1"]
    assert simultaneous[3]["dE_dout[0,1]@1"] == sequential[3]["dE_dout[0,1]@1"]


def trace_weights_after(
    trace: dict[int, dict[str, float]], step: int, last: int
) -> dict[str, float]:
    """The weights the update at ``step`` leaves (those of ``step`` itself at the last step)."""
    return trace[step + 1] if step < last else trace[step]


def test_orders_differ_for_two_layers_of_weights() -> None:
    simultaneous = ENGINE.run(mazur(order="simultaneous"), {0, 1})
    sequential = ENGINE.run(mazur(order="sequential"), {0, 1})
    assert simultaneous[0]["dE_dw[2,1,1]"] == sequential[0]["dE_dw[2,1,1]"]
    assert simultaneous[0]["dE_dw[1,1,1]"] != pytest.approx(sequential[0]["dE_dw[1,1,1]"])
    assert simultaneous[1]["w[1,1,1]"] != pytest.approx(sequential[1]["w[1,1,1]"])
    assert simultaneous[1]["w[2,1,1]"] == sequential[1]["w[2,1,1]"]


@pytest.mark.parametrize(("order", "weights_step"), [("simultaneous", 0), ("sequential", 1)])
def test_hidden_deltas_go_through_the_weights_of_the_order(order: str, weights_step: int) -> None:
    """dE/d out_h = sum_k delta_k w_kh, with w before (simultaneous) or after (sequential) step 0.

    The term partials follow the same weights: dE[k]/d out_h = dE[k]/d net_o w_oh summed over o.
    """
    trace = ENGINE.run(mazur(order=order, steps=3), {0, 1})
    step0, weights = trace[0], trace[weights_step]
    for h in (1, 2):
        total = sum(step0[f"delta[2,{k}]@1"] * weights[f"w[2,{k},{h}]"] for k in (1, 2))
        assert step0[f"dE_dout[1,{h}]@1"] == pytest.approx(total, rel=1e-12)
        for k in (1, 2):
            term = sum(step0[f"dE[{k}]_dnet[2,{o}]@1"] * weights[f"w[2,{o},{h}]"] for o in (1, 2))
            assert step0[f"dE[{k}]_dout[1,{h}]@1"] == pytest.approx(term, rel=1e-12)


def test_last_step_computes_gradients_but_does_not_update() -> None:
    """At step == steps nothing is applied, so even sequential deltas use the current weights."""
    trace = ENGINE.run(mazur(order="sequential", steps=1), {1})[1]
    total = sum(trace[f"delta[2,{k}]@1"] * trace[f"w[2,{k},1]"] for k in (1, 2))
    assert trace["dE_dout[1,1]@1"] == pytest.approx(total, rel=1e-12)


def test_frozen_bias_is_reported_but_not_trained() -> None:
    trace = ENGINE.run(mazur(steps=2), {0, 2})
    assert trace[2]["b[1]"] == 0.35 and trace[2]["b[2]"] == 0.60
    assert trace[0]["dE_db[2]"] == pytest.approx(
        trace[0]["delta[2,1]@1"] + trace[0]["delta[2,2]@1"]
    )


def test_trainable_biases_descend_their_gradient() -> None:
    problem = PROBLEMS["softmax_ce"]  # seed 4: trainable
    trace = ENGINE.run(problem, {0, 1})
    rate = problem.learning_rate
    for name in ("b[1]", "b[2,1]", "b[2,3]"):
        grad = trace[0]["dE_db" + name[1:]]
        assert trace[1][name] == pytest.approx(trace[0][name] - rate * grad, rel=1e-12)
