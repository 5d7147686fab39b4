"""The matrices engine's activations: ``out = f(net)``, the slope ``d out / d net``, and the
chain rule from ``dE/d out`` to ``dE/d net`` through each (softmax: its full Jacobian).

Every function keeps its argument's dtype: constants are Python scalars (cast to the
array's dtype, NEP 50) or scalars of that dtype (leaky relu's slope, ELU's alpha).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]
Scalar = np.floating

# --------------------------------------------------------------------------
# Activations: out = f(net) and the slope d out / d net.  A kink takes the left
# branch (net <= 0); NaN is not <= 0, so it takes the right one, slope 1 where
# that branch is the identity.
# --------------------------------------------------------------------------


def _identity(net: Array) -> Array:
    return net


def _sigmoid(net: Array) -> Array:
    # Below -700, e^-net overflows (1 / (1 + inf) would flush to 0) while the true value
    # e^net / (1 + e^net) is e^net to float64 precision: a subnormal from -708 on.
    with np.errstate(over="ignore"):
        result: Array = 1.0 / (1.0 + np.exp(-net))
        tail: Array = np.exp(np.minimum(net, 0.0))
    return np.where(net < -700.0, tail, result)


def _tanh(net: Array) -> Array:
    return np.tanh(net)


def _relu(net: Array) -> Array:
    # NaN is not <= 0, so relu(NaN) is NaN (np.maximum would agree; this says why).
    result: Array = np.where(net <= 0.0, 0.0, net)
    return result


def _leaky_relu(net: Array, leak: Scalar) -> Array:
    result: Array = np.where(net <= 0.0, leak * net, net)
    return result


def _softplus(net: Array) -> Array:
    """``log(1 + e^x)``, written ``x + log(1 + e^-x)`` for positive x so e^x cannot overflow."""
    result: Array = np.where(net > 0.0, net + np.log1p(np.exp(-net)), np.log1p(np.exp(net)))
    return result


def _elu(net: Array, alpha: Scalar) -> Array:
    # expm1 keeps e^x - 1 accurate near 0, where exp(x) - 1 would cancel.
    result: Array = np.where(net <= 0.0, alpha * np.expm1(net), net)
    return result


def _softmax(net: Array) -> Array:
    # Subtracting the row maximum changes nothing mathematically but avoids overflow.
    shifted = np.exp(net - net.max(axis=-1, keepdims=True))
    result: Array = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def _identity_slope(net: Array, out: Array) -> Array:
    return np.ones_like(net)


def _sigmoid_slope(net: Array, out: Array) -> Array:
    result: Array = out * (1.0 - out)
    return result


def _tanh_slope(net: Array, out: Array) -> Array:
    result: Array = 1.0 - out * out
    return result


def _relu_slope(net: Array, out: Array) -> Array:
    # relu'(0) is defined as 0; NaN takes relu's other branch, so its slope is 1.
    # Both branches are arrays of net's dtype: np.where(c, 0.0, 1.0) would be float64.
    result: Array = np.where(net <= 0.0, np.zeros_like(net), np.ones_like(net))
    return result


def _leaky_relu_slope(net: Array, out: Array, leak: Scalar) -> Array:
    result: Array = np.where(net <= 0.0, leak, np.ones_like(net))
    return result


def _softplus_slope(net: Array, out: Array) -> Array:
    """softplus' is the logistic function of the net input (not of the output)."""
    return _sigmoid(net)


def _elu_slope(net: Array, out: Array, alpha: Scalar) -> Array:
    # alpha * e^x rather than out + alpha: no cancellation, and elu'(0) = alpha exactly.
    result: Array = np.where(net <= 0.0, alpha * np.exp(net), np.ones_like(net))
    return result


def _softmax_diagonal_slope(net: Array, out: Array) -> Array:
    """Only the diagonal ``d o_j / d net_j``: what the trace reports as ``dout_dnet``.

    Backpropagation through softmax must not use this alone; see
    :func:`softmax_delta`.
    """
    result: Array = out * (1.0 - out)
    return result


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {  # leaky relu and ELU: bound below
    "identity": _identity,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": _relu,
    "softmax": _softmax,
    "softplus": _softplus,
}

_SLOPES: dict[str, Callable[[Array, Array], Array]] = {
    "identity": _identity_slope,
    "sigmoid": _sigmoid_slope,
    "tanh": _tanh_slope,
    "relu": _relu_slope,
    "softmax": _softmax_diagonal_slope,
    "softplus": _softplus_slope,
}


def bound_activation(
    name: str, leak: Scalar, alpha: Scalar
) -> tuple[Callable[[Array], Array], Callable[[Array, Array], Array]]:
    """The activation and its slope with the layer's parameter (leaky relu's, ELU's) bound."""
    if name == "leaky_relu":
        return partial(_leaky_relu, leak=leak), partial(_leaky_relu_slope, leak=leak)
    if name == "elu":
        return partial(_elu, alpha=alpha), partial(_elu_slope, alpha=alpha)
    return _ACTIVATIONS[name], _SLOPES[name]


def softmax_delta(grad_out: Array, out: Array) -> Array:
    """``J^T g`` for the softmax Jacobian ``J = diag(o) - o o^T``, row by row.

    ``(J^T g)_j = o_j (g_j - sum_k g_k o_k)``.  Works for ``grad_out`` of shape
    ``(n, size)`` and, with ``out`` shaped ``(n, 1, size)``, for the per-term
    gradients of shape ``(n, terms, size)``.  Whatever the loss: the seed
    ``grad_out`` is the loss's own derivative, never a fused ``o - t``.
    """
    result: Array = out * (grad_out - (grad_out * out).sum(axis=-1, keepdims=True))
    return result


def to_delta(activation: str, grad_out: Array, out: Array, slope: Array) -> Array:
    """dE/d net from dE/d out: the chain rule through the layer's activation."""
    if activation == "softmax":
        return softmax_delta(grad_out, out)
    if activation == "relu":  # a dead neuron passes nothing back, not even an infinity
        dead: Array = np.where(slope == 0.0, 0.0, grad_out)
        return dead
    result: Array = grad_out * slope
    return result
