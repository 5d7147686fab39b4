"""Every ball of a step under its canonical name (:mod:`bpcheck.model.quantities`).

What a step computed, gathered by ``network.py``, is named here and nowhere else:
the names the problem model lists for the step (``names_at_step``), the extended ones
included (the inputs' gradient, each sample's loss and own gradients, the terms of a
net input, the error ``t - o`` and the error term ``-delta``, the changes of an update).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flint import arb, arb_mat

from bpcheck.engines.certified.balls import ZERO
from bpcheck.engines.certified.functions import Activation, Grid, slope
from bpcheck.engines.certified.optimizer import Change
from bpcheck.model import quantities as q
from bpcheck.model.problem import Problem

Record = dict[str, arb]
"""Canonical name -> ball, for one step."""


@dataclass
class Pass:
    """One step's batch through the network, every layer's values as grids.

    ``outs[0]`` is the input; ``sums[0]`` and ``nets[0]`` are empty.  ``sums`` are the
    weighted sums (the net inputs without their biases).
    """

    batch: tuple[int, ...]
    sums: list[Grid]
    nets: list[Grid]
    outs: list[Grid]


@dataclass(frozen=True)
class Backward:
    """What one layer's backward pass found, to be named."""

    d_out: Grid
    delta: Grid
    term_d_outs: list[Grid]
    term_deltas: list[Grid]
    grad_w: arb_mat
    grad_b: list[arb]


def _bias_index(problem: Problem, number: int, j: int) -> int | None:
    """The ``j`` of a bias's name: None for a layer's one shared bias."""
    return None if problem.layers[number - 1].bias_kind == "shared" else j


def parameters(
    problem: Problem, weights: list[arb_mat], biases: list[list[arb]], record: Record
) -> None:
    for number in range(1, len(problem.layers) + 1):
        for j, row in enumerate(weights[number - 1].tolist(), start=1):
            for i, w in enumerate(row, start=1):
                record[q.weight(number, j, i)] = w
        for j, b in enumerate(biases[number - 1], start=1):
            record[q.bias(number, _bias_index(problem, number, j))] = b


def forward(
    problem: Problem,
    went: Pass,
    targets: Grid,
    terms: Grid,
    weights: list[arb_mat],
    activations: list[Activation],
    record: Record,
) -> None:
    """The forward values of every sample: inputs, net inputs and their parts, outputs,
    the loss terms, the errors ``t - o`` (where there are targets) and ``E@s``."""
    for column, s in enumerate(went.batch):
        sample = s + 1
        for i, row in enumerate(went.outs[0], start=1):
            record[q.neuron("out", 0, i, sample)] = row[column]
        for number in range(1, len(problem.layers) + 1):
            _layer_forward(problem, went, number, column, (weights, activations), record)
        for k, (ts, os, es) in enumerate(zip(targets, went.outs[-1], terms), start=1):
            record[q.term(k, sample)] = es[column]
            if problem.has_targets:
                record[q.output_error(k, sample)] = ts[column] - os[column]
        record[q.sample_loss(sample)] = sum((es[column] for es in terms), ZERO)


def _layer_forward(
    problem: Problem,
    went: Pass,
    number: int,
    column: int,
    layers: tuple[list[arb_mat], list[Activation]],
    record: Record,
) -> None:
    layer, sample = problem.layers[number - 1], went.batch[column] + 1
    weights, f = layers[0][number - 1], layers[1][number - 1]
    below = went.outs[number - 1]
    for j in range(layer.size):
        net, out = went.nets[number][j][column], went.outs[number][j][column]
        record[q.neuron("net", number, j + 1, sample)] = net
        record[q.neuron("weighted_sum", number, j + 1, sample)] = went.sums[number][j][column]
        record[q.neuron("out", number, j + 1, sample)] = out
        record[q.neuron("dout_dnet", number, j + 1, sample)] = slope(f, net, out)
        for i in range(layer.fan_in):
            term = weights[j, i] * below[i][column]
            record[q.net_term(number, j + 1, i + 1, sample)] = term


def loss(batch: Sequence[int], terms: Grid, decay_term: arb, record: Record) -> None:
    """``E``: every sample's loss, summed in batch order, plus weight decay's part."""
    samples = (record[q.sample_loss(s + 1)] for s in batch)
    record[q.LOSS] = sum(samples, ZERO) + decay_term


def backward(problem: Problem, number: int, went: Pass, found: Backward, record: Record) -> None:
    """One layer's gradients: per neuron and sample, each sample's own, and the batch's."""
    below = went.outs[number - 1]
    for column, s in enumerate(went.batch):
        sample = s + 1
        for j, (g_out, g_net) in enumerate(zip(found.d_out, found.delta), start=1):
            record[q.neuron("dE_dout", number, j, sample)] = g_out[column]
            record[q.neuron("delta", number, j, sample)] = g_net[column]
            record[q.neuron("error_term", number, j, sample)] = -g_net[column]
            for i, row in enumerate(below, start=1):
                record[q.at_sample(q.weight_grad(number, j, i), sample)] = (
                    g_net[column] * row[column]
                )
        _sample_bias_gradients(problem, number, found.delta, column, sample, record)
        for k, (one_out, one_net) in enumerate(zip(found.term_d_outs, found.term_deltas), start=1):
            for j, (g_out, g_net) in enumerate(zip(one_out, one_net), start=1):
                record[q.term_partial(k, "out", number, j, sample)] = g_out[column]
                record[q.term_partial(k, "net", number, j, sample)] = g_net[column]
    for j, row in enumerate(found.grad_w.tolist(), start=1):
        for i, g in enumerate(row, start=1):
            record[q.weight_grad(number, j, i)] = g
    for j, g in enumerate(found.grad_b, start=1):
        record[q.bias_grad(number, _bias_index(problem, number, j))] = g


def _sample_bias_gradients(
    problem: Problem, number: int, delta: Grid, column: int, sample: int, record: Record
) -> None:
    """``dE_db[L,j]@s`` (a neuron's delta) or ``dE_db[L]@s`` (the layer's deltas summed)."""
    kind = problem.layers[number - 1].bias_kind
    if kind == "per_neuron":
        for j, row in enumerate(delta, start=1):
            record[q.at_sample(q.bias_grad(number, j), sample)] = row[column]
    elif kind == "shared":
        total = sum((row[column] for row in delta), ZERO)
        record[q.at_sample(q.bias_grad(number, None), sample)] = total


def input_gradient(batch: Sequence[int], d_out: Grid, record: Record) -> None:
    """``dE_dout[0,i]@s``: the gradient with respect to the inputs."""
    for column, s in enumerate(batch):
        for i, row in enumerate(d_out, start=1):
            record[q.neuron("dE_dout", 0, i, s + 1)] = row[column]


def changes(problem: Problem, number: int, change: Change, record: Record) -> None:
    """``dw`` and ``db``: what the update at this step added (a frozen bias has none)."""
    for j, row in enumerate(change.weights.tolist(), start=1):
        for i, c in enumerate(row, start=1):
            record[q.weight_change(number, j, i)] = c
    for j, c in enumerate(change.biases, start=1):
        record[q.bias_change(number, _bias_index(problem, number, j))] = c
