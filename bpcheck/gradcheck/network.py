"""The problem's forward pass and loss in float64, written here and nowhere else.

A gradient check needs the loss as a function of the parameters.  This is
bpcheck's own, a few lines of NumPy, and deliberately not any engine's: an
engine's mistake must not reappear in the reference it is checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpcheck.model import quantities as q
from bpcheck.model.problem import Layer, Problem

try:
    import numpy as np
except ImportError:  # NumPy is an extra: the CLI must start without it
    NUMPY_MISSING: str | None = "gradient checks need NumPy: pip install 'bpcheck[numpy]'"
else:
    NUMPY_MISSING = None

if TYPE_CHECKING:
    import numpy.typing as npt

    Array = npt.NDArray[np.float64]


def bias_name(layer: Layer, number: int, j: int) -> str:
    """The canonical name of bias ``j`` (0-based) of layer ``number`` (1-based)."""
    return q.bias(number, None if layer.bias_kind == "shared" else j + 1)


@dataclass(frozen=True)
class Block:
    """Where one layer's weights or trainable biases sit in the flat parameter vector."""

    layer: int
    kind: str
    offset: int
    shape: tuple[int, int]

    @property
    def count(self) -> int:
        return self.shape[0] * self.shape[1]


class Network:
    """A problem's forward pass and loss over one batch, written here, in float64.

    The trainable parameters (weights, then the layer's trainable bias, layer by
    layer, weights row by row) form one flat vector ``theta``, so that a finite
    difference can move one parameter or a direction of all of them.
    """

    def __init__(self, problem: Problem, batch: Sequence[int]) -> None:
        self.problem = problem
        self.batch = tuple(batch)
        self.inputs = np.array([problem.inputs[s] for s in batch], dtype=np.float64)
        self.targets = np.array([problem.targets[s] for s in batch], dtype=np.float64)
        self.count = problem.n_outputs * len(batch)
        self.operations = len(batch) * sum(
            layer.size * (layer.fan_in + 4) for layer in problem.layers
        )
        self.blocks: list[Block] = []
        self.frozen_bias: list[Array] = []
        self._still: list[Array] = []
        values: list[Array] = []
        offset = 0
        for index, layer in enumerate(problem.layers):
            weights = np.array(layer.weights, dtype=np.float64).reshape(layer.size, layer.fan_in)
            self.blocks.append(Block(index, "w", offset, weights.shape))
            values.append(weights.ravel())
            offset += weights.size
            bias = np.array(layer.bias, dtype=np.float64)
            if layer.bias_kind != "none" and layer.bias_trainable:
                self.blocks.append(Block(index, "b", offset, (1, bias.size)))
                values.append(bias)
                offset += bias.size
            self.frozen_bias.append(bias if layer.bias_kind != "none" else np.zeros(1))
            self._still.append(np.zeros(1))
        self.theta: Array = np.concatenate(values) if values else np.zeros(0)

    @property
    def size(self) -> int:
        return int(self.theta.size)

    def name(self, index: int) -> str:
        """The canonical name of entry ``index`` of ``theta``."""
        for block in self.blocks:
            if block.offset <= index < block.offset + block.count:
                local = index - block.offset
                if block.kind == "w":
                    j, i = divmod(local, block.shape[1])
                    return q.weight(block.layer + 1, j + 1, i + 1)
                return bias_name(self.problem.layers[block.layer], block.layer + 1, local)
        raise IndexError(index)

    def names(self) -> list[str]:
        return [self.name(index) for index in range(self.size)]

    def _split(self, vector: Array, biases: list[Array]) -> list[tuple[Array, Array]]:
        """(weights, bias) per layer from a vector laid out like ``theta`` (views into it).

        A bias is the vector's entries where the layer's bias is trained, the
        entry of ``biases`` otherwise; shared biases have one value, which
        broadcasts over the layer's neurons.
        """
        weights: list[Array] = []
        added = list(biases)
        for block in self.blocks:
            values = vector[block.offset : block.offset + block.count]
            if block.kind == "w":
                weights.append(values.reshape(block.shape))
            else:
                added[block.layer] = values
        return list(zip(weights, added, strict=True))

    def unpack(self, theta: Array) -> list[tuple[Array, Array]]:
        """(weights, bias added to each neuron, broadcastable) per layer; views into ``theta``."""
        return self._split(theta, self.frozen_bias)

    def moves(self, displacement: Array) -> list[tuple[Array, Array]]:
        """Like :meth:`unpack`, for a displacement of ``theta``: frozen biases do not move."""
        return self._split(displacement, self._still)

    def forward(
        self, theta: Array, displacement: Array | None = None
    ) -> tuple[list[Array], list[Array]]:
        """Net inputs and outputs of every layer (``outs[0]`` is the input batch).

        With a ``displacement`` d the network is evaluated at exactly ``θ + d``:
        each net input is ``W a + b + (dW a + db)``, so that a finite
        difference moves the parameters by exactly d, however small next to θ
        (``θ + d`` in float64 would round d to the units in the last place of θ).
        """
        nets: list[Array] = [self.inputs]
        outs: list[Array] = [self.inputs]
        moved = self.moves(displacement) if displacement is not None else None
        with np.errstate(all="ignore"):
            for index, (layer, (w, b)) in enumerate(
                zip(self.problem.layers, self.unpack(theta), strict=True)
            ):
                net = outs[-1] @ w.T + b
                if moved is not None:
                    dw, db = moved[index]
                    net = net + (outs[-1] @ dw.T + db)
                nets.append(net)
                outs.append(activate(layer.activation, net, layer))
        return nets, outs

    def evaluate(self, theta: Array, displacement: Array | None = None) -> tuple[float, Array]:
        """The loss at ``θ`` (plus ``displacement``), and the net inputs of every unit with a kink.

        The loss includes the weight decay's ``λ/2 Σ w²`` (:meth:`penalty`).
        """
        nets, outs = self.forward(theta, displacement)
        problem = self.problem
        with np.errstate(all="ignore"):
            terms = loss_terms(problem.loss, outs[-1], self.targets, self.count, problem.objective)
            loss = float(terms.sum()) + self.penalty(theta, displacement)
        kinked = [n.ravel() for n, layer in zip(nets[1:], problem.layers) if has_kink(layer)]
        return loss, (np.concatenate(kinked) if kinked else np.zeros(0))

    def penalty(self, theta: Array, displacement: Array | None = None) -> float:
        """Coupled L2: ``λ/2 Σ w²`` over the weights (not the biases), at exactly ``θ + d``.

        ``(w + d)² = w² + (2w + d)·d``: the part that moves with ``d`` is summed on
        its own, so that a finite difference sees it however small ``d`` is.
        """
        decay = self.problem.weight_decay
        if decay == 0.0:
            return 0.0
        weights = self.weight_entries(theta)
        base = float((weights * weights).sum())
        if displacement is None:
            return decay / 2.0 * base
        moved = self.weight_entries(displacement)
        return decay / 2.0 * base + decay / 2.0 * float(((2.0 * weights + moved) * moved).sum())

    def weight_entries(self, vector: Array) -> Array:
        """The entries of a vector laid out like ``theta`` that are weights, in order."""
        parts = [vector[b.offset : b.offset + b.count] for b in self.blocks if b.kind == "w"]
        return np.concatenate(parts) if parts else np.zeros(0)

    def loss(self, theta: Array) -> float:
        return self.evaluate(theta)[0]


KINKED = ("relu", "leaky_relu", "elu")
"""Activations whose derivative jumps at a net input of 0 (elu's second derivative does, even
with alpha 1): a finite difference must not straddle 0 there."""


def has_kink(layer: Layer) -> bool:
    return layer.activation in KINKED


def activate(name: str, net: Array, layer: Layer | None = None) -> Array:
    """The activations of the problem model, written for this module alone.

    ``layer`` gives leaky_relu's slope and elu's alpha (their defaults without it).
    """
    if name == "identity":
        return net
    if name == "sigmoid":
        # e^net / (1 + e^net) below 0: 1 / (1 + e^-net) would overflow to 1/inf = 0 there
        # while the value, e^net, is still a normal number down to net = -708.
        tail = np.exp(-np.abs(net))
        result: Array = np.where(net < 0.0, tail, 1.0) / (1.0 + tail)
        return result
    if name == "tanh":
        return np.tanh(net)
    if name == "relu":
        return np.where(net > 0.0, net, 0.0)
    if name == "leaky_relu":
        slope = layer.slope if layer is not None else Layer.slope
        return np.where(net > 0.0, net, slope * net)
    if name == "elu":
        alpha = layer.alpha if layer is not None else Layer.alpha
        return np.where(net > 0.0, net, alpha * np.expm1(np.minimum(net, 0.0)))
    if name == "softplus":
        # max(z, 0) + log1p(e^-|z|): no overflow for a large z, no 1 + tiny rounding to 1.
        result = np.maximum(net, 0.0) + np.log1p(np.exp(-np.abs(net)))
        return result
    if name == "softmax":
        exps = np.exp(net - net.max(axis=-1, keepdims=True))
        result = exps / exps.sum(axis=-1, keepdims=True)
        return result
    raise ValueError(f"unknown activation {name!r}")


def t_log(t: Array, o: Array) -> Array:
    """``t log o`` with the limit ``0 log 0 = 0``."""
    result: Array = np.where(t != 0.0, t * np.log(np.where(t != 0.0, o, 1.0)), 0.0)
    return result


def loss_terms(loss: str, out: Array, target: Array, count: int, objective: int = 0) -> Array:
    """Each output's term of the loss, ``(samples, outputs)``; ``count`` divides mse.

    ``output``: the objective's output (1-based ``objective``) itself, 0 for the others.
    """
    if loss == "half_sse":
        result: Array = 0.5 * (target - out) ** 2
    elif loss == "sse":
        result = (target - out) ** 2
    elif loss == "mse":
        result = (target - out) ** 2 / count
    elif loss == "bce":
        result = -(t_log(target, out) + t_log(1.0 - target, 1.0 - out))
    elif loss == "softmax_ce":
        result = -t_log(target, out)
    elif loss == "output":
        result = np.where(np.arange(out.shape[-1]) == objective - 1, out, 0.0)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return result
