"""The loops engine's formulas on single floats: activations, loss derivatives, precision.

Written as a tutorial writes them, one number at a time; NaN and infinities follow
IEEE 754 and never raise (docs/engines.md, "NaN and infinity").  The functions
``exp``, ``expm1``, ``log``, ``log1p`` and ``tanh`` give their result in the
precision of their argument: a float32 :class:`~.single.Single` in, a Single out.
"""

from __future__ import annotations

import math

from bpcheck.engines.loops.single import like
from bpcheck.model.problem import Layer

Vector = list[float]
Matrix = list[list[float]]


def exp(x: float) -> float:
    return like(x, math.exp(x))


def expm1(x: float) -> float:
    return like(x, math.expm1(x))


def log(x: float) -> float:
    return like(x, math.log(x))


def log1p(x: float) -> float:
    return like(x, math.log1p(x))


def tanh(x: float) -> float:
    return like(x, math.tanh(x))


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x); below -700 e^-x overflows, and sigmoid(x) is e^x to float64 precision."""
    if x < -700.0:
        return exp(x)
    return 1.0 / (1.0 + exp(-x))


# --- the activations with a parameter, or written from the net input ---------------------------

NET_WRITTEN = ("leaky_relu", "softplus", "elu")
"""Activations whose derivative is written from the net input, as their tutorials write it
(from the output it cannot always be told: elu's ``out + alpha`` cancels, leaky_relu's sign
is the slope's)."""


class Activation(str):
    """An activation's name that carries its parameters: leaky_relu's slope, elu's alpha.

    It is a ``str``, so the seams keep their signature (``activate(name, nets)``) and a
    subclass that compares ``name == "relu"`` or passes ``name`` on still works.  A plain
    name stands for the model's defaults (:class:`~bpcheck.model.problem.Layer`).
    """

    slope: float
    alpha: float

    def __new__(cls, layer: Layer) -> Activation:
        name = super().__new__(cls, layer.activation)
        name.slope, name.alpha = layer.slope, layer.alpha
        return name


def activation_of(layer: Layer) -> str:
    """The name the seams are given for ``layer``: with its parameters if it has any."""
    return Activation(layer) if layer.activation in ("leaky_relu", "elu") else layer.activation


def slope_of(name: str) -> float:
    return name.slope if isinstance(name, Activation) else Layer.slope


def alpha_of(name: str) -> float:
    return name.alpha if isinstance(name, Activation) else Layer.alpha


def leaky_relu(x: float, slope: float) -> float:
    """x above 0, ``slope * x`` at and below; NaN is not <= 0, so it passes with slope 1."""
    return slope * x if x <= 0.0 else x


def softplus(x: float) -> float:
    """log(1 + e^x), as ``x + log(1 + e^-x)`` above 0 so that e^x never overflows."""
    if x > 0.0:
        return x + log1p(exp(-x))
    return log1p(exp(x))


def elu(x: float, alpha: float) -> float:
    """x above 0, ``alpha * (e^x - 1)`` at and below (e^x - 1 without cancellation near 0)."""
    return alpha * expm1(x) if x <= 0.0 else x


def derivative_from_net(name: str, net: float) -> float:
    """d out / d net of a :data:`NET_WRITTEN` activation; at the kink 0, the left branch."""
    if name == "leaky_relu":
        return slope_of(name) if net <= 0.0 else 1.0
    if name == "softplus":
        return sigmoid(net)
    if name == "elu":
        return alpha_of(name) * exp(net) if net <= 0.0 else 1.0
    raise ValueError(f"activation {name!r} is not written from its net input")


# --- losses ------------------------------------------------------------------------------------


def t_log(t: float, o: float) -> float:
    """``t log o``, 0 when t is 0 (the cross-entropies' limit); log 0 is -inf, never an error."""
    log_o = log(o) if o > 0.0 else -math.inf if o == 0.0 else math.nan
    return 0.0 if t == 0.0 else t * log_o


def t_over(t: float, o: float) -> float:
    """``t / o``, 0 when t is 0 (the derivative of ``t log o``); t / 0 is an infinity."""
    infinity = math.copysign(math.inf, t) * math.copysign(1.0, o)
    return 0.0 if t == 0.0 else t / o if o != 0.0 else infinity


def loss_term_derivative(loss: str, target: float, out: float, scale: int) -> float:
    """d term / d out for one output (loss ``output`` is not per output: see :func:`one_hot`)."""
    if loss == "half_sse":
        return -(target - out)
    if loss == "sse":
        return -2.0 * (target - out)
    if loss == "mse":
        return -2.0 * (target - out) / scale
    if loss == "bce":
        return -t_over(target, out) + t_over(1.0 - target, 1.0 - out)
    if loss == "softmax_ce":
        return -t_over(target, out)
    raise ValueError(f"unknown loss {loss!r}")


def one_hot(n: int, k: int, value: float) -> Vector:
    """A vector of zeros with ``value`` at ``k``: one output's gradient alone."""
    return [value if i == k else 0.0 for i in range(n)]
