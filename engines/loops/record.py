"""Writing a step's values under their canonical names (bpcheck.model.quantities).

Plain functions of what the engine computed: each takes the numbers and the
``values`` dict of the step and adds names to it, nothing more.
"""

from __future__ import annotations

from bpcheck.engines.loops.formulas import Matrix, Vector
from bpcheck.engines.loops.params import Forward, Params
from bpcheck.model import quantities as q
from bpcheck.model.problem import Layer, Problem

Values = dict[str, float]


def bias_index(layer: Layer, j: int) -> int | None:
    """The 1-based neuron of bias ``j`` (0-based), or None for a layer's one shared bias."""
    return None if layer.bias_kind == "shared" else j + 1


def parameters(problem: Problem, params: Params, values: Values) -> None:
    """Every weight and bias as they are at the step."""
    for index, layer in enumerate(problem.layers):
        number = index + 1
        for j, row in enumerate(params.weights[index]):
            for i, w in enumerate(row):
                values[q.weight(number, j + 1, i + 1)] = w
        for j, b in enumerate(params.biases[index]):
            values[q.bias(number, bias_index(layer, j))] = b


def changes(problem: Problem, params: Params, values: Values) -> None:
    """``dw`` and ``db``: what the step's update added to each weight and trainable bias."""
    for index, layer in enumerate(problem.layers):
        number = index + 1
        for j, row in enumerate(params.change_w[index]):
            for i, c in enumerate(row):
                values[q.weight_change(number, j + 1, i + 1)] = c
        if layer.bias_trainable:
            for j, c in enumerate(params.change_b[index]):
                values[q.bias_change(number, bias_index(layer, j))] = c


def sample_forward(
    problem: Problem,
    params: Params,
    fwd: Forward,
    slopes: list[Vector],
    sample: int,
    values: Values,
) -> None:
    """One sample's inputs, and per neuron: net, out, dout_dnet, net_term, weighted_sum.

    ``slopes[L]`` holds dout_dnet of layer L's neurons (index 0 unused).  The weighted
    sum is taken as the net is (:meth:`LoopsEngine.forward`), from 0 instead of the bias.
    """
    for i, x in enumerate(fwd.outs[0]):
        values[q.neuron("out", 0, i + 1, sample)] = x
    for index, layer in enumerate(problem.layers):
        number = index + 1
        below = fwd.outs[index]
        for j in range(layer.size):
            values[q.neuron("net", number, j + 1, sample)] = fwd.nets[number][j]
            values[q.neuron("out", number, j + 1, sample)] = fwd.outs[number][j]
            values[q.neuron("dout_dnet", number, j + 1, sample)] = slopes[number][j]
            weighted_sum = 0.0
            for i, (w, o) in enumerate(zip(params.weights[index][j], below, strict=True)):
                term = w * o
                values[q.net_term(number, j + 1, i + 1, sample)] = term
                weighted_sum += term
            values[q.neuron("weighted_sum", number, j + 1, sample)] = weighted_sum


def sample_loss(
    problem: Problem, target: Vector, outs: Vector, terms: Vector, sample: int, values: Values
) -> None:
    """One sample's loss terms ``E[k]``, their sum ``E@s`` and its errors ``t - o``."""
    for k, value in enumerate(terms):
        values[q.term(k + 1, sample)] = value
    values[q.sample_loss(sample)] = sum(terms)
    if problem.has_targets:
        for k, (t, o) in enumerate(zip(target, outs, strict=True)):
            values[q.output_error(k + 1, sample)] = t - o


def backward(
    layer_index: int,
    batch: tuple[int, ...],
    d_outs: list[Vector],
    deltas: list[Vector],
    values: Values,
) -> None:
    """dE/dout, delta and its sign-flipped twin (the error term) of each sample."""
    number = layer_index + 1
    for s, d_out, delta in zip(batch, d_outs, deltas, strict=True):
        for j, (g_out, g_net) in enumerate(zip(d_out, delta, strict=True)):
            values[q.neuron("dE_dout", number, j + 1, s + 1)] = g_out
            values[q.neuron("delta", number, j + 1, s + 1)] = g_net
            values[q.neuron("error_term", number, j + 1, s + 1)] = -g_net


def input_gradients(batch: tuple[int, ...], d_outs: list[Vector], values: Values) -> None:
    """dE/d input: what back-propagation hands to the layer below the first."""
    for s, d_out in zip(batch, d_outs, strict=True):
        for i, g in enumerate(d_out):
            values[q.neuron("dE_dout", 0, i + 1, s + 1)] = g


def term_partials(
    layer_index: int,
    batch: tuple[int, ...],
    term_d_outs: list[list[Vector]],
    term_deltas: list[list[Vector]],
    values: Values,
) -> None:
    """``dE[k]_dout`` and ``dE[k]_dnet``: each output's loss term carried down on its own."""
    number = layer_index + 1
    for s, d_outs, deltas in zip(batch, term_d_outs, term_deltas, strict=True):
        for k, (d_out, delta) in enumerate(zip(d_outs, deltas, strict=True)):
            for j, (g_out, g_net) in enumerate(zip(d_out, delta, strict=True)):
                values[q.term_partial(k + 1, "out", number, j + 1, s + 1)] = g_out
                values[q.term_partial(k + 1, "net", number, j + 1, s + 1)] = g_net


def gradients(
    layer: Layer, layer_index: int, grad_w: Matrix, grad_b: Vector, values: Values
) -> None:
    """The gradients the update uses: summed over the batch, weight decay included."""
    number = layer_index + 1
    for j, row in enumerate(grad_w):
        for i, g in enumerate(row):
            values[q.weight_grad(number, j + 1, i + 1)] = g
    for j, g in enumerate(grad_b):
        values[q.bias_grad(number, bias_index(layer, j))] = g


def sample_gradients(
    layer: Layer,
    layer_index: int,
    batch: tuple[int, ...],
    passes: list[Forward],
    deltas: list[Vector],
    bias_grads: list[Vector],
    values: Values,
) -> None:
    """Each sample's own gradients: ``delta_j * out_i`` and its bias gradient, no decay."""
    number = layer_index + 1
    for s, fwd, delta, grad_b in zip(batch, passes, deltas, bias_grads, strict=True):
        below = fwd.outs[layer_index]
        for j, d in enumerate(delta):
            for i, o in enumerate(below):
                values[q.at_sample(q.weight_grad(number, j + 1, i + 1), s + 1)] = d * o
        for j, g in enumerate(grad_b):
            values[q.at_sample(q.bias_grad(number, bias_index(layer, j)), s + 1)] = g
