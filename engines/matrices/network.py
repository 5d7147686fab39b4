"""The matrices engine's arithmetic: losses, layers, forward pass, the two step paths.

Arrays are of one floating dtype per run (float64, or float32 for a float32
problem) and every constant that meets them is either that dtype or a Python
scalar, which NumPy casts to the array's dtype (NEP 50): nothing upcasts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bpcheck.engines.matrices.activations import (
    Array,
    Scalar,
    bound_activation,
    softmax_delta,
    to_delta,
)
from bpcheck.model.problem import Layer

# --------------------------------------------------------------------------
# Losses: the term of each output and its derivative by that output.
# Every term E[k]@s depends on o_k of sample s only, so the derivative of the
# whole loss by the outputs is the elementwise derivative of the terms.
# The loss "output" of objective k is spelt "output k" here, as fixtures write the
# objective: E[k]@s = o_k and 0 for the other outputs, seed 1 at o_k (its targets,
# zeros, are not read).
# --------------------------------------------------------------------------


def _t_log(t: Array, o: Array) -> Array:
    """``t * log(o)`` with ``0 * log(0) = 0``, the limit the cross-entropies need."""
    result: Array = t * np.log(np.where(t != 0.0, o, 1.0))
    return result


def _t_over(t: Array, o: Array) -> Array:
    """``t / o`` with ``0 / o = 0`` even where ``o`` is 0."""
    result: Array = t / np.where(t != 0.0, o, 1.0)
    return result


OUTPUT = "output "
"""The prefix of the loss ``output`` with its objective: ``"output 2"``."""


def _objective(loss: str, out: Array) -> npt.NDArray[np.bool_]:
    """For ``"output k"``: a row mask, True in column ``k - 1`` only."""
    column = int(loss.removeprefix(OUTPUT)) - 1
    mask: npt.NDArray[np.bool_] = np.arange(out.shape[-1]) == column
    return mask


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
    elif loss.startswith(OUTPUT):  # exactly 0 off the objective, even beside an infinite output
        result = np.where(_objective(loss, out), out, 0.0)
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
    elif loss.startswith(OUTPUT):  # upstream gradient 1 at the objective
        result = np.where(_objective(loss, out), np.ones_like(out), np.zeros_like(out))
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
    for all kinds that have one.  ``leak`` and ``alpha`` are leaky relu's slope
    and ELU's scale, in the arrays' dtype.
    """

    weights: Array
    bias: Array
    activation: str
    bias_kind: str
    bias_trainable: bool
    leak: Scalar
    alpha: Scalar
    activate: Callable[[Array], Array] = field(init=False)
    slope: Callable[[Array, Array], Array] = field(init=False)
    scratch: Array = field(init=False)

    def __post_init__(self) -> None:
        self.activate, self.slope = bound_activation(self.activation, self.leak, self.alpha)
        # Reused for the weight gradient and its scaled copy: allocating a fresh
        # (128, 784) array twice per step costs more than the step's arithmetic.
        self.scratch = np.empty_like(self.weights)

    @property
    def has_bias(self) -> bool:
        return self.bias_kind != "none"

    @property
    def trains_bias(self) -> bool:
        return self.has_bias and self.bias_trainable

    @classmethod
    def of(cls, layer: Layer, dtype: type[np.floating] = np.float64) -> DenseLayer:
        """The layer's numbers rounded to ``dtype`` (float32 problems: before any arithmetic)."""
        return cls(
            weights=np.array(layer.weights, dtype=dtype).reshape(layer.size, layer.fan_in),
            bias=np.array(layer.bias if layer.bias_kind != "none" else (), dtype=dtype),
            activation=layer.activation,
            bias_kind=layer.bias_kind,
            bias_trainable=layer.bias_trainable,
            leak=dtype(layer.slope),
            alpha=dtype(layer.alpha),
        )

    def bias_gradient(self, delta: Array) -> Array:
        """dE/db from the node deltas: a shared bias feeds every neuron, so it sums them all."""
        if self.bias_kind == "shared":
            return np.array([delta.sum()])
        if self.bias_kind == "per_neuron":
            result: Array = delta.sum(axis=0)
            return result
        return np.empty(0, dtype=delta.dtype)

    def sample_bias_gradients(self, delta: Array) -> Array:
        """Each sample's own dE/db, one row per sample (what :meth:`bias_gradient` sums)."""
        if self.bias_kind == "shared":
            result: Array = delta.sum(axis=1, keepdims=True)
            return result
        if self.bias_kind == "per_neuron":
            return delta
        return delta[:, :0]

    def update(self, rate: float, grad_w: Array, grad_b: Array | None) -> None:
        """Plain gradient descent in place; a frozen bias keeps its value.

        ``grad_w`` may be :attr:`scratch` itself (the lean path): it is scaled
        into ``scratch`` either way.  ``w - rate * g`` is bit for bit the
        ``w + (-(rate * g))`` of :class:`~bpcheck.engines.matrices.update.Optimizer`
        without momentum, so both paths train alike.
        """
        np.multiply(grad_w, rate, out=self.scratch)
        self.weights -= self.scratch
        if grad_b is not None and self.trains_bias:
            self.bias -= rate * grad_b


class Updater(Protocol):
    """What the steps need of an optimizer (:class:`~bpcheck.engines.matrices.update.Optimizer`)."""

    def gradient(self, layer: DenseLayer, grad_w: Array) -> Array: ...

    def penalty(self, layers: list[DenseLayer]) -> Scalar | None: ...

    def apply(
        self, index: int, layer: DenseLayer, grad_w: Array, grad_b: Array | None
    ) -> tuple[Array, Array | None]: ...


# --------------------------------------------------------------------------
# The forward pass and the lean training step.
# --------------------------------------------------------------------------


@dataclass
class Forward:
    """Per layer: the weighted sums (net without bias), nets and outputs; ``outs[0]`` is x."""

    sums: list[Array]
    nets: list[Array]
    outs: list[Array]


def _forward(layers: list[DenseLayer], x: Array) -> Forward:
    """The net is the weighted sum plus the bias, so the recorded weighted sum is its sum."""
    forward = Forward([], [], [x])
    for layer in layers:
        weighted = forward.outs[-1] @ layer.weights.T
        net = weighted + layer.bias if layer.has_bias else weighted
        forward.sums.append(weighted)
        forward.nets.append(net)
        forward.outs.append(layer.activate(net))
    return forward


def train_step(
    layers: list[DenseLayer],
    x: Array,
    target: Array,
    loss: str,
    rate: float,
    sequential: bool,
    optimizer: Updater | None = None,
) -> None:
    """One update without keeping anything: the path unrecorded steps take.

    Without ``optimizer`` it is plain descent at ``rate`` (the benchmarked
    case); with one, the optimizer adds weight decay to the gradients and makes
    the update (momentum, per-layer rates).  Bias gradients are skipped for
    frozen biases and the delta is never carried into the input layer, because
    nothing would use them.
    """
    forward = _forward(layers, x)
    outs = forward.outs
    grad_out = _loss_slopes(loss, outs[-1], target)
    pending: list[tuple[int, Array, Array | None]] = []
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        out = outs[index + 1]
        if layer.activation == "softmax":
            delta = softmax_delta(grad_out, out)  # needs no slope: skip computing one
        else:  # as the recorded step: a dead relu passes back 0, not 0 * inf = nan
            slope = layer.slope(forward.nets[index], out)
            delta = to_delta(layer.activation, grad_out, out, slope)
        grad_w = np.matmul(delta.T, outs[index], out=layer.scratch)
        if optimizer is not None:
            grad_w = optimizer.gradient(layer, grad_w)
        grad_b = layer.bias_gradient(delta) if layer.bias_trainable else None
        if sequential:
            _apply(layers, index, rate, optimizer, grad_w, grad_b)
        else:
            pending.append((index, grad_w, grad_b))
        if index:
            grad_out = delta @ layer.weights
    for index, grad_w, grad_b in pending:
        _apply(layers, index, rate, optimizer, grad_w, grad_b)


def _apply(
    layers: list[DenseLayer],
    index: int,
    rate: float,
    optimizer: Updater | None,
    grad_w: Array,
    grad_b: Array | None,
) -> None:
    if optimizer is None:
        layers[index].update(rate, grad_w, grad_b)
    else:
        optimizer.apply(index, layers[index], grad_w, grad_b)


# --------------------------------------------------------------------------
# The recorded step: same arithmetic, everything kept.
# --------------------------------------------------------------------------


@dataclass
class LayerRecord:
    """Every per-layer quantity of one step, rows indexed by position in the batch."""

    weighted_sum: Array
    net: Array
    out: Array
    dout_dnet: Array
    dE_dout: Array
    delta: Array
    term_dout: Array  # (n, outputs, size): dE[k]_dout[L,j] for term k
    term_dnet: Array  # (n, outputs, size): dE[k]_dnet[L,j] for term k
    net_terms: Array  # (n, size, fan_in): w[L,j,i] * out[L-1,i]
    grad_w: Array  # the batch's, with weight decay
    grad_b: Array
    sample_grad_w: Array  # (n, size, fan_in): each sample's own, without weight decay
    sample_grad_b: Array  # (n, bias values)
    change_w: Array | None = None  # what the update added (None: no update this step)
    change_b: Array | None = None


@dataclass
class StepRecord:
    """A recorded step: the loss (with the weight-decay penalty), its terms, every layer."""

    loss: Scalar
    terms: Array
    input_grad: Array  # (n, inputs): dE/d out[0,i]
    layers: list[LayerRecord]


def recorded_step(
    layers: list[DenseLayer],
    x: Array,
    target: Array,
    loss: str,
    optimizer: Updater,
    sequential: bool,
    update: bool,
) -> StepRecord:
    """Forward, backward and (if ``update``) the update, with every quantity kept.

    The per-term partials are backpropagated alongside the ordinary delta: the
    seed of term ``k`` is ``dE[k]/d o_k`` at output ``k`` and zero elsewhere,
    and from there it travels through exactly the same weights (including, in
    sequential order, the already updated ones; the gradient by the inputs
    too: it is back-propagated into the layer below the first).
    """
    forward = _forward(layers, x)
    out_last = forward.outs[-1]
    terms = _loss_terms(loss, out_last, target)
    total = terms.sum()
    penalty = optimizer.penalty(layers)  # of the weights before this step's update
    if penalty is not None:
        total = total + penalty
    seed = _loss_slopes(loss, out_last, target)
    grad_out = seed
    # Term k depends on output k only: exact zeros elsewhere (not 0 times an infinite seed).
    term_grad_out = np.where(np.eye(seed.shape[1], dtype=bool), seed[:, :, None], 0.0)
    records: list[LayerRecord] = []
    pending: list[tuple[int, LayerRecord]] = []
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        record = _layer_record(layer, forward, index, grad_out, term_grad_out, optimizer)
        records.append(record)
        if update and sequential:
            record.change_w, record.change_b = optimizer.apply(
                index, layer, record.grad_w, record.grad_b
            )
        else:
            pending.append((index, record))
        grad_out = record.delta @ layer.weights
        if index:
            term_grad_out = record.term_dnet @ layer.weights
    if update:
        for index, record in pending:
            record.change_w, record.change_b = optimizer.apply(
                index, layers[index], record.grad_w, record.grad_b
            )
    records.reverse()
    return StepRecord(loss=total, terms=terms, input_grad=grad_out, layers=records)


def _layer_record(
    layer: DenseLayer,
    forward: Forward,
    index: int,
    grad_out: Array,
    term_grad_out: Array,
    optimizer: Updater,
) -> LayerRecord:
    """One layer's backward quantities, before its update (its weights are still the step's)."""
    out, below = forward.outs[index + 1], forward.outs[index]
    slope = layer.slope(forward.nets[index], out)
    delta = to_delta(layer.activation, grad_out, out, slope)
    term_delta = to_delta(layer.activation, term_grad_out, out[:, None, :], slope[:, None, :])
    return LayerRecord(
        weighted_sum=forward.sums[index],
        net=forward.nets[index],
        out=out,
        dout_dnet=slope,
        dE_dout=grad_out,
        delta=delta,
        term_dout=term_grad_out,
        term_dnet=term_delta,
        net_terms=layer.weights * below[:, None, :],
        grad_w=optimizer.gradient(layer, delta.T @ below),
        grad_b=layer.bias_gradient(delta),
        sample_grad_w=delta[:, :, None] * below[:, None, :],
        sample_grad_b=layer.sample_bias_gradients(delta),
    )
