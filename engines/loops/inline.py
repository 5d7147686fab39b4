"""The loops engine's hot loop: simultaneous updates with the seams' arithmetic in place.

Plain descent only (:func:`~bpcheck.model.problem.is_plain_descent`: no momentum, no
weight decay, one rate, float64); any other problem trains through the recorded step.

A long run (Mazur's 10,000 steps) spends its time in unrecorded updates, and in
CPython a call per neuron costs more than the neuron's arithmetic.  When no seam
is overridden (:func:`seams_are_ours`), :class:`~bpcheck.engines.loops.LoopsEngine`
trains unrecorded spans of steps here instead: the same formulas, written out in
one place.  Every sum is taken in the order the seams take it (``total += w *
value`` from the bias; gradients summed from ``0.0`` sample by sample; dE/dout of
the layer below summed neuron by neuron), so the floats are the same to the last
bit; ``tests/engines/test_loops_paths.py`` shows it against the path that records
every step.  Sigmoid and half_sse are the tutorials' case and the hot one: they are
written out; the other activations and losses go through the engine's own methods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bpcheck.engines.loops.formulas import (
    Matrix,
    Vector,
    activation_of,
    loss_term_derivative,
    one_hot,
)
from bpcheck.engines.loops.params import Params, neuron_biases
from bpcheck.model.problem import Layer, Problem, batch_of_step

if TYPE_CHECKING:
    from bpcheck.engines.loops.engine import LoopsEngine

SEAMS = (
    "_simultaneous_step",
    "activate",
    "elementwise_derivative",
    "net_derivative",
    "out_net_jacobian",
    "loss_term",
    "output_gradient",
    "forward",
    "back_through_activation",
    "back_through_weights",
    "bias_gradient",
    "apply_update",
)
"""The methods a subclass may override to compute a problem another way, and the step that
calls them: overriding any of them turns this module off, so that what is overridden runs."""


_OURS: dict[tuple[type, type], bool] = {}


def seams_are_ours(engine: type, base: type) -> bool:
    """Whether ``engine`` (a subclass of ``base``, or itself) keeps every seam of ``base``."""
    if (engine, base) not in _OURS:
        _OURS[engine, base] = all(getattr(engine, n) is getattr(base, n) for n in SEAMS)
    return _OURS[engine, base]


def train(engine: LoopsEngine, problem: Problem, params: Params, steps: range) -> None:
    """Simultaneous updates ``steps`` of ``problem`` (plain descent), recording nothing.

    With one sample per step, a layer is updated as soon as the layer below has
    taken what it needs of its weights, and no gradient is kept; with several,
    gradients are summed first (:func:`batch_step`).
    """
    layers, weights, rate = problem.layers, params.weights, problem.learning_rate
    top = len(layers) - 1
    full = batch_of_step(problem, 0) if problem.batch == "full" else None
    biases = [neuron_biases(problem, params, index) for index in range(top + 1)]
    moving = [layer.bias_trainable and layer.bias_kind != "none" for layer in layers]
    sigmoid = [layer.activation == "sigmoid" for layer in layers]
    for step in steps:
        batch = full or batch_of_step(problem, step)
        scale = problem.n_outputs * len(batch)
        if len(batch) > 1:
            batch_step(engine, problem, params, biases, batch, scale)
            continue
        nets, outs = forward(engine, layers, weights, biases, problem.inputs[batch[0]])
        target = problem.targets[batch[0]]
        if problem.loss == "half_sse":  # loss_term_derivative's first case, spelt out
            d_out = [-(t - o) for t, o in zip(target, outs[-1])]
        else:
            d_out = output_gradient(problem, target, outs[-1], scale)
        for index in range(top, -1, -1):
            if sigmoid[index]:  # back_through_activation's first case, spelt out
                delta = [g * (o * (1.0 - o)) for g, o in zip(d_out, outs[index + 1])]
            else:
                delta = back_through_activation(engine, layers[index], nets, outs, d_out, index)
            matrix, below = weights[index], outs[index]
            if index:  # through the weights before they are updated
                d_out = through_weights(matrix, delta)
            for j, d in enumerate(delta):  # dE/dw is 0.0 + d * o: summed from 0, as below
                matrix[j] = [w - rate * (0.0 + d * o) for w, o in zip(matrix[j], below)]
            if moving[index]:
                update_bias(problem, params, index, [0.0 + d for d in delta])
                biases[index] = neuron_biases(problem, params, index)


def batch_step(
    engine: LoopsEngine,
    problem: Problem,
    params: Params,
    biases: list[Vector],
    batch: tuple[int, ...],
    scale: int,
) -> None:
    """One update over several samples: each sample's gradients added to the sums, then
    every layer updated (``biases``, each neuron's bias, updated with them)."""
    layers, weights, rate = problem.layers, params.weights, problem.learning_rate
    top = len(layers) - 1
    summed: list[tuple[Matrix, Vector]] = []  # per layer, from the top: dE/dw, dE/db
    for s in batch:
        nets, outs = forward(engine, layers, weights, biases, problem.inputs[s])
        d_out = output_gradient(problem, problem.targets[s], outs[-1], scale)
        grads: list[tuple[Matrix, Vector]] = []
        for index in range(top, -1, -1):
            delta = back_through_activation(engine, layers[index], nets, outs, d_out, index)
            grad_w = [[0.0 + d * o for o in outs[index]] for d in delta]
            grads.append((grad_w, [0.0 + d for d in delta]))
            if index:
                d_out = through_weights(weights[index], delta)
        summed = grads if not summed else [added(a, b) for a, b in zip(summed, grads)]
    for index, layer in enumerate(layers):
        grad_w, per_neuron = summed[top - index]
        matrix = weights[index]
        for j, grad_row in enumerate(grad_w):
            matrix[j] = [w - rate * g for w, g in zip(matrix[j], grad_row)]
        if layer.bias_trainable and layer.bias_kind != "none":
            update_bias(problem, params, index, per_neuron)
        biases[index] = neuron_biases(problem, params, index)


def output_gradient(
    problem: Problem, target: Sequence[float], outs: Sequence[float], scale: int
) -> Vector:
    """The engine's ``output_gradient``: dE/dout of one sample (loss ``output``: one-hot)."""
    if problem.loss == "output":
        return one_hot(len(outs), problem.objective - 1, 1.0)
    return [
        loss_term_derivative(problem.loss, t, o, scale) for t, o in zip(target, outs, strict=True)
    ]


def forward(
    engine: LoopsEngine,
    layers: tuple[Layer, ...],
    weights: list[Matrix],
    biases: list[Vector],
    x: Sequence[float],
) -> tuple[list[Vector], list[Sequence[float]]]:
    """The engine's ``forward``: nets and outs of every layer, ``outs[0]`` the input."""
    exp = math.exp
    outs: list[Sequence[float]] = [x]
    nets: list[Vector] = [[]]
    for index, layer in enumerate(layers):
        below = outs[-1]
        net = []
        for row, bias in zip(weights[index], biases[index]):
            total = bias
            for w, value in zip(row, below):
                total += w * value
            net.append(total)
        nets.append(net)
        if layer.activation == "sigmoid":  # formulas.sigmoid, spelt out
            outs.append([exp(v) if v < -700.0 else 1.0 / (1.0 + exp(-v)) for v in net])
        else:
            outs.append(engine.activate(activation_of(layer), net))
    return nets, outs


def back_through_activation(
    engine: LoopsEngine,
    layer: Layer,
    nets: list[Vector],
    outs: list[Sequence[float]],
    d_out: Vector,
    index: int,
) -> Vector:
    """The engine's ``back_through_activation`` at layer ``index``, sigmoid spelt out."""
    out = outs[index + 1]
    if layer.activation == "sigmoid":
        return [g * (o * (1.0 - o)) for g, o in zip(d_out, out)]
    output_layer = index == len(nets) - 2
    return engine.back_through_activation(
        activation_of(layer), nets[index + 1], list(out), d_out, output_layer
    )


def through_weights(weights: Matrix, delta: Vector) -> Vector:
    """The engine's ``back_through_weights``: dE/dout below, summed neuron by neuron."""
    total = [0.0] * len(weights[0])
    for d, row in zip(delta, weights):
        total = [t + d * w for t, w in zip(total, row)]
    return total


def added(summed: tuple[Matrix, Vector], more: tuple[Matrix, Vector]) -> tuple[Matrix, Vector]:
    """One more sample's (dE/dw, dE/db) added to the running sums."""
    grad_w = [[g + h for g, h in zip(row, other)] for row, other in zip(summed[0], more[0])]
    return grad_w, [g + h for g, h in zip(summed[1], more[1])]


def update_bias(problem: Problem, params: Params, index: int, per_neuron: Vector) -> None:
    """The engine's ``bias_gradient`` and the bias part of ``apply_update`` (trainable)."""
    rate, layer = problem.learning_rate, problem.layers[index]
    grad_b = [sum(per_neuron)] if layer.bias_kind == "shared" else per_neuron
    params.biases[index] = [b - rate * g for b, g in zip(params.biases[index], grad_b)]
