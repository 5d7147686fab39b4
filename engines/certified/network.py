"""One training step in ball arithmetic: forward, backward, update.

Values of a layer are a :data:`~bpcheck.engines.certified.functions.Grid`: one row
per neuron, one column per sample of the batch.  Products with the weights go
through :class:`flint.arb_mat` (FLINT multiplies ball matrices in C, with rigorous
error bounds); everything element-wise is a Python loop over balls
(``functions.py``).  The backward pass is written from the definitions::

    delta      = dE/dnet = dE/dout * f'(net)         (softmax: its full Jacobian)
    dE/dW      = delta @ out_below^T + decay * W     (summed over the batch's columns)
    dE/dout_-1 = W^T @ delta                         (down to the inputs, dE_dout[0,i])

with no shortcut a float engine might take, and no code shared with any other engine.
The update is ``optimizer.py``'s; ``naming.py`` gives every value its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flint import arb, arb_mat

from bpcheck.engines.certified import naming
from bpcheck.engines.certified.balls import ZERO, checked, printed
from bpcheck.engines.certified.functions import (
    Activation,
    Grid,
    Loss,
    gradient,
    terms,
    through_activation,
)
from bpcheck.engines.certified.functions import activate as activate_grid
from bpcheck.engines.certified.naming import Backward, Pass, Record
from bpcheck.engines.certified.optimizer import Rule, Velocity, update
from bpcheck.model.problem import Layer, Problem, batch_of_step, layer_rate

__all__ = ["Data", "Params", "Record", "start", "train_step"]


@dataclass
class Params:
    """Weights (one ball matrix per layer), biases (a list of balls per layer), velocities."""

    weights: list[arb_mat]
    biases: list[list[arb]]
    velocity: Velocity


@dataclass(frozen=True)
class Data:
    """The problem's decimals as balls at the working precision, read once per attempt."""

    inputs: list[list[arb]]
    targets: list[list[arb]]
    activations: list[Activation]
    rule: Rule
    decay: arb


def start(problem: Problem) -> tuple[Params, Data]:
    """The parameters and data of a problem as balls of the printed decimals.

    Every number is read the way the learning rate always was (:func:`printed`):
    slopes, alphas, momentum, weight decay and each layer's rate too.  A rate no update
    uses (no steps) is not read: a fixture that trains nothing need not print one.
    """
    weights = [
        arb_mat([[printed(w) for w in row] for row in layer.weights]) for layer in problem.layers
    ]
    biases = [[printed(b) for b in layer.bias] for layer in problem.layers]
    velocity = Velocity(
        [arb_mat(layer.size, layer.fan_in) for layer in problem.layers],
        [[ZERO] * len(layer.bias) for layer in problem.layers],
    )
    data = Data(
        inputs=[[printed(x) for x in row] for row in problem.inputs],
        targets=_targets(problem),
        activations=[_activation(layer) for layer in problem.layers],
        rule=_rule(problem),
        decay=printed(problem.weight_decay),
    )
    return Params(weights, biases, velocity), data


def _targets(problem: Problem) -> list[list[arb]]:
    """The targets; zeros where the loss has none (``output``: they take no part)."""
    if not problem.has_targets:
        return [[ZERO] * problem.n_outputs for _ in problem.inputs]
    return [[printed(t) for t in row] for row in problem.targets]


def _activation(layer: Layer) -> Activation:
    slope = printed(layer.slope) if layer.activation == "leaky_relu" else ZERO
    alpha = printed(layer.alpha) if layer.activation == "elu" else ZERO
    return Activation(layer.activation, slope, alpha)


def _rule(problem: Problem) -> Rule:
    count = len(problem.layers)
    rates = [printed(layer_rate(problem, i)) if problem.steps else ZERO for i in range(count)]
    return Rule(rates, printed(problem.momentum), problem.nesterov)


def columns(rows: Sequence[Sequence[arb]], batch: Sequence[int]) -> Grid:
    """Per-sample vectors (``rows[s][i]``) as a grid with one column per sample of the batch."""
    width = len(rows[batch[0]])
    return [[rows[s][i] for s in batch] for i in range(width)]


def product(matrix: arb_mat, grid: Grid) -> Grid:
    return (matrix * arb_mat(grid)).tolist()


def biases_of(layer: Layer, biases: list[arb]) -> list[arb]:
    """The bias each neuron adds: none, the layer's one shared bias, or its own."""
    if layer.bias_kind == "none":
        return [ZERO] * layer.size
    if layer.bias_kind == "shared":
        return biases * layer.size
    return biases


def forward(problem: Problem, params: Params, data: Data, batch: tuple[int, ...]) -> Pass:
    went = Pass(batch, [[]], [[]], [columns(data.inputs, batch)])
    for index, layer in enumerate(problem.layers):
        sums = product(params.weights[index], went.outs[-1])
        biases = biases_of(layer, params.biases[index])
        net = [[checked(v + b) for v in row] for row, b in zip(sums, biases, strict=True)]
        went.sums.append(sums)
        went.nets.append(net)
        went.outs.append(activate_grid(data.activations[index], net))
    return went


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
    through its new weights (the inputs' gradient too).
    """
    batch = batch_of_step(problem, number)
    loss = Loss(problem.loss, problem.n_outputs * len(batch), problem.objective - 1)
    went = forward(problem, params, data, batch)
    targets = columns(data.targets, batch)
    d_out = gradient(loss, targets, went.outs[-1])
    record: Record | None = None
    term_d_outs: list[Grid] = []
    if recording:
        record = {}
        naming.parameters(problem, params.weights, params.biases, record)
        found = terms(loss, targets, went.outs[-1])
        naming.forward(problem, went, targets, found, params.weights, data.activations, record)
        naming.loss(went.batch, found, _decay_term(params, data), record)
        zeros = [ZERO] * len(batch)
        term_d_outs = [
            [r if j == k else zeros for j, r in enumerate(d_out)] for k in range(len(d_out))
        ]
    _backward(problem, params, data, went, (d_out, term_d_outs), update, record)
    return record or {}


def _decay_term(params: Params, data: Data) -> arb:
    """``decay / 2 * sum of every squared weight``: the part of E weight decay adds."""
    if data.decay.is_zero():
        return ZERO
    squares = sum((w * w for m in params.weights for row in m.tolist() for w in row), ZERO)
    return data.decay * squares / 2


def _backward(
    problem: Problem,
    params: Params,
    data: Data,
    went: Pass,
    d_outs: tuple[Grid, list[Grid]],
    update: bool,
    record: Record | None,
) -> None:
    """From the output's dE/dout down to the inputs', updating as the order says."""
    d_out, term_d_outs = d_outs
    pending: list[tuple[int, tuple[arb_mat, list[arb]]]] = []
    for index in reversed(range(len(problem.layers))):
        f, net, out = data.activations[index], went.nets[index + 1], went.outs[index + 1]
        delta = through_activation(f, net, out, d_out)
        term_deltas = [through_activation(f, net, out, d) for d in term_d_outs]
        gradients = _gradients(problem, params, data, index, delta, went.outs[index])
        if record is not None:
            found = Backward(d_out, delta, term_d_outs, term_deltas, *gradients)
            naming.backward(problem, index + 1, went, found, record)
        if update and problem.update_order == "sequential":
            _apply(problem, params, data, index, gradients, record)
        else:
            pending.append((index, gradients))
        if index or record is not None:
            weights_t = params.weights[index].transpose()
            d_out = product(weights_t, delta)
            term_d_outs = [product(weights_t, d) for d in term_deltas] if index else []
    if record is not None:
        naming.input_gradient(went.batch, d_out, record)
    if update:
        for index, gradients in pending:
            _apply(problem, params, data, index, gradients, record)


def _gradients(
    problem: Problem, params: Params, data: Data, index: int, delta: Grid, below: Grid
) -> tuple[arb_mat, list[arb]]:
    """dE/dW (with coupled weight decay) and dE/db of one layer, summed over the batch."""
    grad_w = arb_mat(delta) * arb_mat(below).transpose()
    if not data.decay.is_zero():
        grad_w = grad_w + params.weights[index] * data.decay
    return grad_w, bias_gradient(problem.layers[index], delta)


def _apply(
    problem: Problem,
    params: Params,
    data: Data,
    index: int,
    gradients: tuple[arb_mat, list[arb]],
    record: Record | None,
) -> None:
    """One layer's update (``optimizer.py``); its change is named when recording."""
    layer = problem.layers[index]
    change = update(data.rule, params.velocity, index, gradients, layer.bias_trainable)
    params.weights[index] = params.weights[index] + change.weights
    if layer.bias_trainable:
        params.biases[index] = [
            b + c for b, c in zip(params.biases[index], change.biases, strict=True)
        ]
    if record is not None:
        naming.changes(problem, index + 1, change, record)
