"""The matrices engine's arithmetic: activations, losses, layers, forward pass, two step paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bpcheck.model.problem import Layer

Array = npt.NDArray[np.float64]

# --------------------------------------------------------------------------
# Activations: out = f(net) and the slope d out / d net.
# --------------------------------------------------------------------------


def _identity(net: Array) -> Array:
    return net


def _sigmoid(net: Array) -> Array:
    # exp overflows to inf for very negative net; 1 / inf = 0 is the right limit.
    return 1.0 / (1.0 + np.exp(-net))


def _tanh(net: Array) -> Array:
    return np.tanh(net)


def _relu(net: Array) -> Array:
    # NaN is not <= 0, so relu(NaN) is NaN (np.maximum would agree; this says why).
    result: Array = np.where(net <= 0.0, 0.0, net)
    return result


def _softmax(net: Array) -> Array:
    # Subtracting the row maximum changes nothing mathematically but avoids overflow.
    shifted = np.exp(net - net.max(axis=-1, keepdims=True))
    result: Array = shifted / shifted.sum(axis=-1, keepdims=True)
    return result


def _identity_slope(net: Array, out: Array) -> Array:
    return np.ones_like(net)


def _sigmoid_slope(net: Array, out: Array) -> Array:
    return out * (1.0 - out)


def _tanh_slope(net: Array, out: Array) -> Array:
    return 1.0 - out * out


def _relu_slope(net: Array, out: Array) -> Array:
    # relu'(0) is defined as 0; NaN takes relu's other branch, so its slope is 1.
    result: Array = np.where(net <= 0.0, 0.0, 1.0)
    return result


def _softmax_diagonal_slope(net: Array, out: Array) -> Array:
    """Only the diagonal ``d o_j / d net_j``: what the trace reports as ``dout_dnet``.

    Backpropagation through softmax must not use this alone; see
    :func:`_softmax_delta`.
    """
    return out * (1.0 - out)


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "identity": _identity,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "relu": _relu,
    "softmax": _softmax,
}

_SLOPES: dict[str, Callable[[Array, Array], Array]] = {
    "identity": _identity_slope,
    "sigmoid": _sigmoid_slope,
    "tanh": _tanh_slope,
    "relu": _relu_slope,
    "softmax": _softmax_diagonal_slope,
}


def _softmax_delta(grad_out: Array, out: Array) -> Array:
    """``J^T g`` for the softmax Jacobian ``J = diag(o) - o o^T``, row by row.

    ``(J^T g)_j = o_j (g_j - sum_k g_k o_k)``.  Works for ``grad_out`` of shape
    ``(n, size)`` and, with ``out`` shaped ``(n, 1, size)``, for the per-term
    gradients of shape ``(n, terms, size)``.
    """
    result: Array = out * (grad_out - (grad_out * out).sum(axis=-1, keepdims=True))
    return result


def _to_delta(activation: str, grad_out: Array, out: Array, slope: Array) -> Array:
    """dE/d net from dE/d out: the chain rule through the layer's activation."""
    if activation == "softmax":
        return _softmax_delta(grad_out, out)
    if activation == "relu":  # a dead neuron passes nothing back, not even an infinity
        dead: Array = np.where(slope == 0.0, 0.0, grad_out)
        return dead
    result: Array = grad_out * slope
    return result


# --------------------------------------------------------------------------
# Losses: the term of each output and its derivative by that output.
# Every term E[k]@s depends on o_k of sample s only, so the derivative of the
# whole loss by the outputs is the elementwise derivative of the terms.
# --------------------------------------------------------------------------


def _t_log(t: Array, o: Array) -> Array:
    """``t * log(o)`` with ``0 * log(0) = 0``, the limit the cross-entropies need."""
    result: Array = t * np.log(np.where(t != 0.0, o, 1.0))
    return result


def _t_over(t: Array, o: Array) -> Array:
    """``t / o`` with ``0 / o = 0`` even where ``o`` is 0."""
    result: Array = t / np.where(t != 0.0, o, 1.0)
    return result


def _loss_terms(loss: str, out: Array, target: Array) -> Array:
    """The terms ``E[k]@s`` as an ``(n, outputs)`` matrix."""
    if loss == "half_sse":
        result: Array = 0.5 * (target - out) ** 2
    elif loss == "sse":
        result = (target - out) ** 2
    elif loss == "mse":
        result = (target - out) ** 2 / out.size
    elif loss == "bce":
        result = -(_t_log(target, out) + _t_log(1.0 - target, 1.0 - out))
    elif loss == "softmax_ce":
        result = -_t_log(target, out)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return result


def _loss_slopes(loss: str, out: Array, target: Array) -> Array:
    """``d E[k]@s / d o_k`` as an ``(n, outputs)`` matrix: the seed of backpropagation.

    For ``mse`` the divisor ``out.size`` is outputs times samples in the batch.
    """
    if loss == "half_sse":
        result: Array = out - target
    elif loss == "sse":
        result = 2.0 * (out - target)
    elif loss == "mse":
        result = (2.0 / out.size) * (out - target)
    elif loss == "bce":
        result = _t_over(1.0 - target, 1.0 - out) - _t_over(target, out)
    elif loss == "softmax_ce":
        result = -_t_over(target, out)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return result


# --------------------------------------------------------------------------
# The network's mutable state.
# --------------------------------------------------------------------------


@dataclass
class DenseLayer:
    """One layer's parameters as arrays, plus what the step loop needs to know.

    ``bias`` has 0 values (kind ``none``), 1 value (``shared``, broadcast to
    every neuron) or one per neuron (``per_neuron``), so ``net + bias`` is right
    for all kinds that have one.
    """

    weights: Array
    bias: Array
    activation: str
    bias_kind: str
    bias_trainable: bool
    activate: Callable[[Array], Array] = field(init=False)
    slope: Callable[[Array, Array], Array] = field(init=False)
    scratch: Array = field(init=False)

    def __post_init__(self) -> None:
        self.activate = _ACTIVATIONS[self.activation]
        self.slope = _SLOPES[self.activation]
        # Reused for the weight gradient and its scaled copy: allocating a fresh
        # (128, 784) array twice per step costs more than the step's arithmetic.
        self.scratch = np.empty_like(self.weights)

    @property
    def has_bias(self) -> bool:
        return self.bias_kind != "none"

    @classmethod
    def of(cls, layer: Layer) -> DenseLayer:
        return cls(
            weights=np.array(layer.weights, dtype=np.float64).reshape(layer.size, layer.fan_in),
            bias=np.array(layer.bias if layer.bias_kind != "none" else (), dtype=np.float64),
            activation=layer.activation,
            bias_kind=layer.bias_kind,
            bias_trainable=layer.bias_trainable,
        )

    def bias_gradient(self, delta: Array) -> Array:
        """dE/db from the node deltas: a shared bias feeds every neuron, so it sums them all."""
        if self.bias_kind == "shared":
            return np.array([delta.sum()])
        if self.bias_kind == "per_neuron":
            result: Array = delta.sum(axis=0)
            return result
        return np.empty(0)

    def update(self, rate: float, grad_w: Array, grad_b: Array | None) -> None:
        """Gradient descent in place; a frozen bias keeps its value.

        ``grad_w`` may be :attr:`scratch` itself (the lean path) or an array the
        caller keeps (the recorded path): it is scaled into ``scratch`` either way.
        """
        np.multiply(grad_w, rate, out=self.scratch)
        self.weights -= self.scratch
        if grad_b is not None and self.has_bias and self.bias_trainable:
            self.bias -= rate * grad_b


# --------------------------------------------------------------------------
# The forward pass and the lean training step.
# --------------------------------------------------------------------------


def _forward(layers: list[DenseLayer], x: Array) -> tuple[list[Array], list[Array]]:
    """nets[L-1] and outs[L] of every layer; ``outs[0]`` is the input batch."""
    nets: list[Array] = []
    outs = [x]
    for layer in layers:
        net = outs[-1] @ layer.weights.T
        if layer.has_bias:
            net += layer.bias
        nets.append(net)
        outs.append(layer.activate(net))
    return nets, outs


def train_step(
    layers: list[DenseLayer], x: Array, target: Array, loss: str, rate: float, sequential: bool
) -> None:
    """One update without keeping anything: the path unrecorded steps take.

    Bias gradients are skipped for frozen biases and the delta is never carried
    into the input layer, because nothing would use them.
    """
    nets, outs = _forward(layers, x)
    grad_out = _loss_slopes(loss, outs[-1], target)
    pending: list[tuple[DenseLayer, Array, Array | None]] = []
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        out = outs[index + 1]
        if layer.activation == "softmax":
            delta = _softmax_delta(grad_out, out)  # needs no slope: skip computing one
        else:  # as the recorded step: a dead relu passes back 0, not 0 * inf = nan
            delta = _to_delta(layer.activation, grad_out, out, layer.slope(nets[index], out))
        grad_w = np.matmul(delta.T, outs[index], out=layer.scratch)
        grad_b = layer.bias_gradient(delta) if layer.bias_trainable else None
        if sequential:
            layer.update(rate, grad_w, grad_b)
        else:
            pending.append((layer, grad_w, grad_b))
        if index:
            grad_out = delta @ layer.weights
    for layer, grad_w, grad_b in pending:
        layer.update(rate, grad_w, grad_b)


# --------------------------------------------------------------------------
# The recorded step: same arithmetic, everything kept.
# --------------------------------------------------------------------------


@dataclass
class LayerRecord:
    """Every per-layer quantity of one step, rows indexed by position in the batch."""

    net: Array
    out: Array
    dout_dnet: Array
    dE_dout: Array
    delta: Array
    term_dout: Array  # (n, outputs, size): dE[k]_dout[L,j] for term k
    term_dnet: Array  # (n, outputs, size): dE[k]_dnet[L,j] for term k
    grad_w: Array
    grad_b: Array


def recorded_step(
    layers: list[DenseLayer],
    x: Array,
    target: Array,
    loss: str,
    rate: float,
    sequential: bool,
    update: bool,
) -> tuple[Array, list[LayerRecord]]:
    """Forward, backward and (if ``update``) the update; returns the terms and layer records.

    The per-term partials are backpropagated alongside the ordinary delta: the
    seed of term ``k`` is ``dE[k]/d o_k`` at output ``k`` and zero elsewhere,
    and from there it travels through exactly the same weights (including, in
    sequential order, the already updated ones).
    """
    nets, outs = _forward(layers, x)
    out_last = outs[-1]
    terms = _loss_terms(loss, out_last, target)
    seed = _loss_slopes(loss, out_last, target)
    grad_out = seed
    # Term k depends on output k only: exact zeros elsewhere (not 0 times an infinite seed).
    term_grad_out = np.where(np.eye(seed.shape[1], dtype=bool), seed[:, :, None], 0.0)
    records: list[LayerRecord] = []
    pending: list[tuple[DenseLayer, Array, Array]] = []
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        out = outs[index + 1]
        slope = layer.slope(nets[index], out)
        delta = _to_delta(layer.activation, grad_out, out, slope)
        term_delta = _to_delta(layer.activation, term_grad_out, out[:, None, :], slope[:, None, :])
        grad_w = delta.T @ outs[index]
        grad_b = layer.bias_gradient(delta)
        records.append(
            LayerRecord(
                net=nets[index],
                out=out,
                dout_dnet=slope,
                dE_dout=grad_out,
                delta=delta,
                term_dout=term_grad_out,
                term_dnet=term_delta,
                grad_w=grad_w,
                grad_b=grad_b,
            )
        )
        if update and sequential:
            layer.update(rate, grad_w, grad_b)
        else:
            pending.append((layer, grad_w, grad_b))
        if index:
            grad_out = delta @ layer.weights
            term_grad_out = term_delta @ layer.weights
    if update:
        for layer, grad_w, grad_b in pending:
            layer.update(rate, grad_w, grad_b)
    records.reverse()
    return terms, records
