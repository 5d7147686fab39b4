"""The loops engine's formulas on single floats: the logistic function, the loss derivatives.

Written as a tutorial writes them, one number at a time; NaN and infinities follow
IEEE 754 and never raise (docs/engines.md, "NaN and infinity").
"""

from __future__ import annotations

import math

Vector = list[float]
Matrix = list[list[float]]


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x); below -700 e^-x overflows, and sigmoid(x) is e^x to float64 precision."""
    if x < -700.0:
        return math.exp(x)
    return 1.0 / (1.0 + math.exp(-x))


def t_log(t: float, o: float) -> float:
    """``t log o``, 0 when t is 0 (the cross-entropies' limit); log 0 is -inf, never an error."""
    log_o = math.log(o) if o > 0.0 else -math.inf if o == 0.0 else math.nan
    return 0.0 if t == 0.0 else t * log_o


def t_over(t: float, o: float) -> float:
    """``t / o``, 0 when t is 0 (the derivative of ``t log o``); t / 0 is an infinity."""
    infinity = math.copysign(math.inf, t) * math.copysign(1.0, o)
    return 0.0 if t == 0.0 else t / o if o != 0.0 else infinity


def loss_term_derivative(loss: str, target: float, out: float, scale: int) -> float:
    """d term / d out for one output."""
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
