"""One training step in ball arithmetic: forward, backward, update, and the values named.

Values of a layer are a :data:`Grid`: one row per neuron, one column per sample of
the batch.  Products with the weights go through :class:`flint.arb_mat` (FLINT
multiplies ball matrices in C, with rigorous error bounds); everything element-wise
is a Python loop over balls.  The backward pass is written from the definitions::

    delta      = dE/dnet = dE/dout * f'(net)         (softmax: out * (dE/dout - <dE/dout, out>))
    dE/dW      = delta @ out_below^T                 (summed over the batch's columns)
    dE/dout_-1 = W^T @ delta

with no shortcut a float engine might take, and no code shared with any other engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flint import arb, arb_mat

from bpcheck.engines.certified.balls import (
    ONE,
    ZERO,
    checked,
    printed,
    relu,
    relu_slope,
    sigmoid,
    t_log,
    t_over,
)
from bpcheck.model import quantities as q
from bpcheck.model.problem import Layer, Problem, batch_of_step

Grid = list[list[arb]]
"""Rows are neurons, columns are the samples of the batch, in batch order."""

Record = dict[str, arb]
"""Canonical name -> ball, for one step."""


@dataclass
class Params:
    """Weights (one ball matrix per layer) and biases (a list of balls per layer)."""

    weights: list[arb_mat]
    biases: list[list[arb]]


@dataclass(frozen=True)
class Data:
    """The problem's decimals as balls at the working precision, read once per attempt."""

    inputs: list[list[arb]]
    targets: list[list[arb]]
    rate: arb


def start(problem: Problem) -> tuple[Params, Data]:
    """The parameters and data of a problem as balls of the printed decimals."""
    weights = [
        arb_mat([[printed(w) for w in row] for row in layer.weights]) for layer in problem.layers
    ]
    biases = [[printed(b) for b in layer.bias] for layer in problem.layers]
    data = Data(
        inputs=[[printed(x) for x in row] for row in problem.inputs],
        targets=[[printed(t) for t in row] for row in problem.targets],
        rate=printed(problem.learning_rate),
    )
    return Params(weights, biases), data


def columns(rows: Sequence[Sequence[arb]], batch: Sequence[int]) -> Grid:
    """Per-sample vectors (``rows[s][i]``) as a grid with one column per sample of the batch."""
    width = len(rows[batch[0]])
    return [[rows[s][i] for s in batch] for i in range(width)]


def product(matrix: arb_mat, grid: Grid) -> Grid:
    return (matrix * arb_mat(grid)).tolist()


# --- activations --------------------------------------------------------------------


def activate(name: str, net: Grid) -> Grid:
    if name == "identity":
        return [list(row) for row in net]
    if name == "sigmoid":
        return [[sigmoid(x) for x in row] for row in net]
    if name == "tanh":
        return [[x.tanh() for x in row] for row in net]
    if name == "relu":
        return [[relu(x) for x in row] for row in net]
    if name == "softmax":
        exps = [[x.exp() for x in row] for row in net]
        totals = [sum((row[b] for row in exps), ZERO) for b in range(len(net[0]))]
        return [[e / totals[b] for b, e in enumerate(row)] for row in exps]
    raise ValueError(f"unknown activation {name!r}")


def slope(name: str, net: arb, out: arb) -> arb:
    """d out / d net of one neuron (softmax: the diagonal of its Jacobian)."""
    if name == "identity":
        return ONE
    if name in ("sigmoid", "softmax"):
        return out * (ONE - out)
    if name == "tanh":
        return ONE - out * out
    if name == "relu":
        return relu_slope(net)
    raise ValueError(f"unknown activation {name!r}")


def through_activation(name: str, net: Grid, out: Grid, d_out: Grid) -> Grid:
    """dE/dnet from dE/dout, the chain rule through the activation, column by column."""
    if name != "softmax":
        return [
            [g * slope(name, n, o) for g, n, o in zip(gs, ns, os, strict=True)]
            for gs, ns, os in zip(d_out, net, out, strict=True)
        ]
    width = len(out[0])
    inner = [sum((d_out[a][b] * out[a][b] for a in range(len(out))), ZERO) for b in range(width)]
    return [
        [o * (g - inner[b]) for b, (g, o) in enumerate(zip(gs, os))] for gs, os in zip(d_out, out)
    ]


# --- losses -------------------------------------------------------------------------


def loss_term(loss: str, t: arb, o: arb, scale: int) -> arb:
    error = t - o
    if loss == "half_sse":
        return error * error / 2
    if loss == "sse":
        return error * error
    if loss == "mse":
        return error * error / scale
    if loss == "bce":
        return -(t_log(t, o) + t_log(ONE - t, ONE - o))
    if loss == "softmax_ce":
        return -t_log(t, o)
    raise ValueError(f"unknown loss {loss!r}")


def loss_slope(loss: str, t: arb, o: arb, scale: int) -> arb:
    """d term / d out of one output."""
    if loss == "half_sse":
        return o - t
    if loss == "sse":
        return 2 * (o - t)
    if loss == "mse":
        return 2 * (o - t) / scale
    if loss == "bce":
        return t_over(ONE - t, ONE - o) - t_over(t, o)
    if loss == "softmax_ce":
        return -t_over(t, o)
    raise ValueError(f"unknown loss {loss!r}")


# --- one step -----------------------------------------------------------------------


def biases_of(layer: Layer, biases: list[arb]) -> list[arb]:
    """The bias each neuron adds: none, the layer's one shared bias, or its own."""
    if layer.bias_kind == "none":
        return [ZERO] * layer.size
    if layer.bias_kind == "shared":
        return biases * layer.size
    return biases


@dataclass
class Pass:
    """One step's batch through the network: net inputs and outputs of every layer.

    ``outs[0]`` is the input; ``nets[0]`` is empty.
    """

    batch: tuple[int, ...]
    nets: list[Grid]
    outs: list[Grid]


def forward(problem: Problem, params: Params, data: Data, batch: tuple[int, ...]) -> Pass:
    outs: list[Grid] = [columns(data.inputs, batch)]
    nets: list[Grid] = [[]]
    for index, layer in enumerate(problem.layers):
        biases = biases_of(layer, params.biases[index])
        net = [
            [checked(v + b) for v in row]
            for row, b in zip(product(params.weights[index], outs[-1]), biases, strict=True)
        ]
        nets.append(net)
        outs.append(activate(layer.activation, net))
    return Pass(batch, nets, outs)


def bias_gradient(layer: Layer, delta: Grid) -> list[arb]:
    """dE/db from the deltas summed over the batch: one value for a shared bias."""
    per_neuron = [sum(row, ZERO) for row in delta]
    if layer.bias_kind == "shared":
        return [sum(per_neuron, ZERO)]
    return per_neuron if layer.bias_kind == "per_neuron" else []


def train_step(
    problem: Problem, params: Params, data: Data, number: int, update: bool, recording: bool
) -> Record:
    """Step ``number``: forward and backward over its batch, then (if ``update``) the update.

    When ``recording``, every quantity of the step comes back by name (an empty
    record otherwise), and each output's loss term is also carried down on its own
    (row k of dE/dout alone) for the ``dE[k]_d...`` partials.  In ``sequential`` order
    a layer is updated as soon as its gradient is known and the layer below is reached
    through its new weights.
    """
    batch = batch_of_step(problem, number)
    scale = problem.n_outputs * len(batch)
    record: Record = {}
    if recording:
        _record_parameters(problem, params, record)
    went = forward(problem, params, data, batch)
    pairs = list(zip(columns(data.targets, batch), went.outs[-1], strict=True))
    d_out = [[loss_slope(problem.loss, t, o, scale) for t, o in zip(*row)] for row in pairs]
    term_d_outs: list[Grid] = []
    if recording:
        terms = [[loss_term(problem.loss, t, o, scale) for t, o in zip(*row)] for row in pairs]
        _record_forward(problem, went, terms, record)
        zeros = [ZERO] * len(batch)
        term_d_outs = [
            [row if j == k else zeros for j, row in enumerate(d_out)] for k in range(len(d_out))
        ]
    pending: list[tuple[int, arb_mat, list[arb]]] = []
    for index in reversed(range(len(problem.layers))):
        layer, number_of_layer = problem.layers[index], index + 1
        net, out = went.nets[number_of_layer], went.outs[number_of_layer]
        delta = through_activation(layer.activation, net, out, d_out)
        term_deltas = [through_activation(layer.activation, net, out, d) for d in term_d_outs]
        grad_w = arb_mat(delta) * arb_mat(went.outs[index]).transpose()
        grad_b = bias_gradient(layer, delta)
        if recording:
            named = Backward(d_out, delta, term_d_outs, term_deltas, grad_w, grad_b)
            _record_backward(problem, number_of_layer, batch, named, record)
        if update and problem.update_order == "sequential":
            _update(problem, params, data, index, grad_w, grad_b)
        else:
            pending.append((index, grad_w, grad_b))
        if index:
            weights_t = params.weights[index].transpose()
            d_out = product(weights_t, delta)
            term_d_outs = [product(weights_t, d) for d in term_deltas]
    if update:
        for index, grad_w, grad_b in pending:
            _update(problem, params, data, index, grad_w, grad_b)
    return record


def _update(
    problem: Problem, params: Params, data: Data, index: int, grad_w: arb_mat, grad_b: list[arb]
) -> None:
    """Gradient descent on one layer: p <- p - rate * dE/dp; a frozen bias stays."""
    params.weights[index] = params.weights[index] - grad_w * data.rate
    if problem.layers[index].bias_trainable:
        params.biases[index] = [b - data.rate * g for b, g in zip(params.biases[index], grad_b)]


# --- naming -------------------------------------------------------------------------


def _record_parameters(problem: Problem, params: Params, record: Record) -> None:
    for number, layer in enumerate(problem.layers, start=1):
        rows = params.weights[number - 1].tolist()
        for j, row in enumerate(rows, start=1):
            for i, w in enumerate(row, start=1):
                record[q.weight(number, j, i)] = w
        shared = layer.bias_kind == "shared"
        for j, b in enumerate(params.biases[number - 1], start=1):
            record[q.bias(number, None if shared else j)] = b


def _record_forward(problem: Problem, went: Pass, terms: Grid, record: Record) -> None:
    total = ZERO
    for column, s in enumerate(went.batch):
        sample = s + 1
        for i, row in enumerate(went.outs[0], start=1):
            record[q.neuron("out", 0, i, sample)] = row[column]
        for number, layer in enumerate(problem.layers, start=1):
            for j in range(layer.size):
                net, out = went.nets[number][j][column], went.outs[number][j][column]
                record[q.neuron("net", number, j + 1, sample)] = net
                record[q.neuron("out", number, j + 1, sample)] = out
                record[q.neuron("dout_dnet", number, j + 1, sample)] = slope(
                    layer.activation, net, out
                )
        for k, row in enumerate(terms, start=1):
            record[q.term(k, sample)] = row[column]
            total += row[column]
    record[q.LOSS] = total


@dataclass(frozen=True)
class Backward:
    """What one layer's backward pass found, to be named."""

    d_out: Grid
    delta: Grid
    term_d_outs: list[Grid]
    term_deltas: list[Grid]
    grad_w: arb_mat
    grad_b: list[arb]


def _record_backward(
    problem: Problem, number: int, batch: Sequence[int], found: Backward, record: Record
) -> None:
    for column, s in enumerate(batch):
        sample = s + 1
        for j, (g_out, g_net) in enumerate(zip(found.d_out, found.delta), start=1):
            record[q.neuron("dE_dout", number, j, sample)] = g_out[column]
            record[q.neuron("delta", number, j, sample)] = g_net[column]
        for k, (one_out, one_net) in enumerate(zip(found.term_d_outs, found.term_deltas), start=1):
            for j, (g_out, g_net) in enumerate(zip(one_out, one_net), start=1):
                record[q.term_partial(k, "out", number, j, sample)] = g_out[column]
                record[q.term_partial(k, "net", number, j, sample)] = g_net[column]
    for j, row in enumerate(found.grad_w.tolist(), start=1):
        for i, g in enumerate(row, start=1):
            record[q.weight_grad(number, j, i)] = g
    shared = problem.layers[number - 1].bias_kind == "shared"
    for j, g in enumerate(found.grad_b, start=1):
        record[q.bias_grad(number, None if shared else j)] = g
