"""One training step recomputed in mpmath at 100 digits: the referee of the certified engine.

Written apart from every engine (and from the gradient checks' mpmath loss), from the
definitions: the forward pass, dE/dout of the loss, the chain rule through each
activation, dE/dw = delta out_below, then one simultaneous update.  Inputs and
parameters are the decimals the problem's floats print as (``repr``), as the certified
engine reads them.
"""

from __future__ import annotations

import math
from typing import Any

import mpmath

from bpcheck.model import quantities as q
from bpcheck.model.problem import Problem

DIGITS = 100


def _m(value: float) -> Any:
    return mpmath.mpf(repr(value))


def _activate(name: str, nets: list[Any]) -> list[Any]:
    if name == "identity":
        return list(nets)
    if name == "sigmoid":
        return [1 / (1 + mpmath.exp(-x)) for x in nets]
    if name == "tanh":
        return [mpmath.tanh(x) for x in nets]
    if name == "relu":
        return [x if x > 0 else mpmath.mpf(0) for x in nets]
    exps = [mpmath.exp(x) for x in nets]
    return [e / sum(exps) for e in exps]


def _back(name: str, nets: list[Any], outs: list[Any], d_out: list[Any]) -> list[Any]:
    if name == "softmax":
        return [
            sum(d_out[a] * outs[a] * ((1 if a == b else 0) - outs[b]) for a in range(len(outs)))
            for b in range(len(outs))
        ]
    slopes = {
        "identity": lambda n, o: 1,
        "sigmoid": lambda n, o: o * (1 - o),
        "tanh": lambda n, o: 1 - o * o,
        "relu": lambda n, o: 1 if n > 0 else 0,
    }[name]
    return [g * slopes(n, o) for g, n, o in zip(d_out, nets, outs, strict=True)]


def _loss(loss: str, t: Any, o: Any, count: int) -> tuple[Any, Any]:
    """(term, d term / d out)."""
    if loss == "half_sse":
        return (t - o) ** 2 / 2, o - t
    if loss == "sse":
        return (t - o) ** 2, 2 * (o - t)
    if loss == "mse":
        return (t - o) ** 2 / count, 2 * (o - t) / count
    if loss == "bce":
        term = -((t * mpmath.log(o) if t else 0) + ((1 - t) * mpmath.log(1 - o) if t != 1 else 0))
        return term, (-(t / o) if t else 0) + ((1 - t) / (1 - o) if t != 1 else 0)
    return (-(t * mpmath.log(o)) if t else 0), (-(t / o) if t else 0)


def recompute(problem: Problem) -> dict[int, dict[str, Any]]:
    """Step 0's loss, outputs, deltas and gradients, and step 1's weights and loss.

    Full batch, simultaneous order, every bias per neuron or none.
    """
    with mpmath.workdps(DIGITS):
        weights = [[[_m(w) for w in row] for row in layer.weights] for layer in problem.layers]
        biases = [[_m(b) for b in layer.bias] for layer in problem.layers]
        rate = _m(problem.learning_rate)
        found: dict[int, dict[str, Any]] = {}
        for step in (0, 1):
            values, grads = _step(problem, weights, biases)
            found[step] = values
            for index, layer in enumerate(problem.layers):
                grad_w, grad_b = grads[index]
                weights[index] = [
                    [w - rate * g for w, g in zip(wr, gr, strict=True)]
                    for wr, gr in zip(weights[index], grad_w, strict=True)
                ]
                if layer.bias_trainable and layer.bias_kind == "per_neuron":
                    biases[index] = [
                        b - rate * g for b, g in zip(biases[index], grad_b, strict=True)
                    ]
        return found


def _step(
    problem: Problem, weights: list[list[list[Any]]], biases: list[list[Any]]
) -> tuple[dict[str, Any], list[tuple[list[list[Any]], list[Any]]]]:
    count = problem.n_outputs * problem.n_samples
    values: dict[str, Any] = {}
    grads = [
        ([[mpmath.mpf(0)] * layer.fan_in for _ in range(layer.size)], [mpmath.mpf(0)] * layer.size)
        for layer in problem.layers
    ]
    total = mpmath.mpf(0)
    for s, (inputs, targets) in enumerate(zip(problem.inputs, problem.targets, strict=True)):
        outs, nets = [[_m(x) for x in inputs]], [[]]
        for index, layer in enumerate(problem.layers):
            bias = biases[index] if layer.bias_kind == "per_neuron" else [0] * layer.size
            net = [
                sum(w * o for w, o in zip(row, outs[-1], strict=True)) + b
                for row, b in zip(weights[index], bias, strict=True)
            ]
            nets.append(net)
            outs.append(_activate(layer.activation, net))
        pairs = [
            _loss(problem.loss, _m(t), o, count) for t, o in zip(targets, outs[-1], strict=True)
        ]
        total += sum(term for term, _ in pairs)
        d_out = [slope for _, slope in pairs]
        for index in reversed(range(len(problem.layers))):
            layer = problem.layers[index]
            delta = _back(layer.activation, nets[index + 1], outs[index + 1], d_out)
            for j, d in enumerate(delta):
                values[q.neuron("out", index + 1, j + 1, s + 1)] = outs[index + 1][j]
                values[q.neuron("delta", index + 1, j + 1, s + 1)] = d
                grads[index][1][j] += d
                for i, o in enumerate(outs[index]):
                    grads[index][0][j][i] += d * o
            d_out = [
                sum(weights[index][j][i] * delta[j] for j in range(layer.size))
                for i in range(layer.fan_in)
            ]
    values[q.LOSS] = total
    for index in range(len(problem.layers)):
        for j, row in enumerate(grads[index][0]):
            for i, g in enumerate(row):
                values[q.weight_grad(index + 1, j + 1, i + 1)] = g
                values[q.weight(index + 1, j + 1, i + 1)] = weights[index][j][i]
    return values, grads


def saturated_slope_ulps(net: float = 16.0) -> float:
    """How far float64's ``s·(1 - s)`` at ``net`` lies from the exact sigmoid slope, in ULPs
    of the exact one: the error every float engine makes on tests/certified/'s fixture,
    worked out here with Python floats and mpmath, apart from any engine or bpcheck code."""
    out = 1.0 / (1.0 + math.exp(-net))
    with mpmath.workprec(300):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(net)))
        exact = s * (1 - s)
        return float((mpmath.mpf(out * (1.0 - out)) - exact) / math.ulp(float(exact)))
