"""Activations and losses on grids of balls: the element-wise part of a step.

A :data:`Grid` has one row per neuron and one column per sample of the batch.  Each
function is written from its definition (docs/fixtures.md); the backward pass chains
the loss's derivative through the activation's full Jacobian, so any loss goes with
any output activation (bce on a softmax, mse on a softmax, ...), never through a
shortcut that holds for one pairing only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import arb

from bpcheck.engines.certified.balls import (
    ONE,
    ZERO,
    elu,
    elu_slope,
    leaky_relu,
    leaky_relu_slope,
    relu,
    relu_slope,
    sigmoid,
    softplus,
    t_log,
    t_over,
)

Grid = list[list[arb]]
"""Rows are neurons, columns are the samples of the batch, in batch order."""


@dataclass(frozen=True)
class Activation:
    """A layer's activation with its parameters as balls (leaky relu's slope, elu's alpha)."""

    name: str
    slope: arb
    alpha: arb


def activate(f: Activation, net: Grid) -> Grid:
    if f.name == "softmax":
        exps = [[x.exp() for x in row] for row in net]
        totals = [sum((row[b] for row in exps), ZERO) for b in range(len(net[0]))]
        return [[e / totals[b] for b, e in enumerate(row)] for row in exps]
    return [[value(f, x) for x in row] for row in net]


def value(f: Activation, x: arb) -> arb:
    """f(x) of one neuron (every activation but softmax, which needs the whole layer)."""
    if f.name == "identity":
        return x
    if f.name == "sigmoid":
        return sigmoid(x)
    if f.name == "tanh":
        return x.tanh()
    if f.name == "relu":
        return relu(x)
    if f.name == "leaky_relu":
        return leaky_relu(x, f.slope)
    if f.name == "softplus":
        return softplus(x)
    if f.name == "elu":
        return elu(x, f.alpha)
    raise ValueError(f"unknown activation {f.name!r}")


def slope(f: Activation, net: arb, out: arb) -> arb:
    """d out / d net of one neuron (softmax: the diagonal of its Jacobian)."""
    if f.name == "identity":
        return ONE
    if f.name in ("sigmoid", "softmax"):
        return out * (ONE - out)
    if f.name == "tanh":
        return ONE - out * out
    if f.name == "relu":
        return relu_slope(net)
    if f.name == "leaky_relu":
        return leaky_relu_slope(net, f.slope)
    if f.name == "softplus":
        return sigmoid(net)
    if f.name == "elu":
        return elu_slope(net, f.alpha)
    raise ValueError(f"unknown activation {f.name!r}")


def through_activation(f: Activation, net: Grid, out: Grid, d_out: Grid) -> Grid:
    """dE/dnet from dE/dout, the chain rule through the activation, column by column.

    Softmax's Jacobian is full: ``dE/dnet_j = out_j (dE/dout_j - sum_a dE/dout_a out_a)``.
    """
    if f.name != "softmax":
        return [
            [g * slope(f, n, o) for g, n, o in zip(gs, ns, os, strict=True)]
            for gs, ns, os in zip(d_out, net, out, strict=True)
        ]
    width = len(out[0])
    inner = [sum((d_out[a][b] * out[a][b] for a in range(len(out))), ZERO) for b in range(width)]
    return [
        [o * (g - inner[b]) for b, (g, o) in enumerate(zip(gs, os))] for gs, os in zip(d_out, out)
    ]


# --- losses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Loss:
    """The loss of a step's batch: its name, mse's divisor, the objective output (0-based)."""

    name: str
    scale: int
    objective: int


def terms(loss: Loss, targets: Grid, outs: Grid) -> Grid:
    """Each output's loss term, ``E[k]@s``, as a grid like the outputs."""
    return [
        [_term(loss, k, t, o) for t, o in zip(ts, os, strict=True)]
        for k, (ts, os) in enumerate(zip(targets, outs, strict=True))
    ]


def gradient(loss: Loss, targets: Grid, outs: Grid) -> Grid:
    """dE/dout of each output: the derivative of its term."""
    return [
        [_term_slope(loss, k, t, o) for t, o in zip(ts, os, strict=True)]
        for k, (ts, os) in enumerate(zip(targets, outs, strict=True))
    ]


def _term(loss: Loss, k: int, t: arb, o: arb) -> arb:
    if loss.name == "output":
        return o if k == loss.objective else ZERO
    error = t - o
    if loss.name == "half_sse":
        return error * error / 2
    if loss.name == "sse":
        return error * error
    if loss.name == "mse":
        return error * error / loss.scale
    if loss.name == "bce":
        return -(t_log(t, o) + t_log(ONE - t, ONE - o))
    if loss.name == "softmax_ce":
        return -t_log(t, o)
    raise ValueError(f"unknown loss {loss.name!r}")


def _term_slope(loss: Loss, k: int, t: arb, o: arb) -> arb:
    if loss.name == "output":
        return ONE if k == loss.objective else ZERO
    if loss.name == "half_sse":
        return o - t
    if loss.name == "sse":
        return 2 * (o - t)
    if loss.name == "mse":
        return 2 * (o - t) / loss.scale
    if loss.name == "bce":
        return t_over(ONE - t, ONE - o) - t_over(t, o)
    if loss.name == "softmax_ce":
        return -t_over(t, o)
    raise ValueError(f"unknown loss {loss.name!r}")
