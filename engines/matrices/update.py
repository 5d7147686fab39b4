"""The matrices engine's update rule: momentum, Nesterov, coupled L2 and per-layer rates.

Problem's docstring defines it; per parameter ``p`` with gradient ``g`` and rate ``eta``::

    g = dE/dp (+ weight_decay * w for a weight)
    v <- momentum * v - eta * g
    change = v, or momentum * v - eta * g with the new v (Nesterov)
    p <- p + change

Velocities are arrays shaped like the parameters, one pair per layer, starting
at 0.  Without momentum no velocity is read, so the change is ``-(eta * g)``
exactly, which is bit for bit the plain descent of the lean path (``0 * v``
would turn an infinite velocity into NaN where plain descent has none).
Likewise a weight decay of 0 adds nothing, not ``0 * w``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpcheck.engines.matrices.activations import Array, Scalar
from bpcheck.engines.matrices.network import DenseLayer
from bpcheck.model.problem import Problem, layer_rate


@dataclass
class Optimizer:
    """Gradients with weight decay, and the update with its velocities, in the run's dtype."""

    rates: list[Scalar]
    momentum: Scalar
    nesterov: bool
    weight_decay: Scalar
    velocities: list[tuple[Array, Array]]

    @classmethod
    def of(cls, problem: Problem, layers: list[DenseLayer]) -> Optimizer:
        """Rates, momentum and decay rounded to the parameters' dtype, as the problem says."""
        dtype = layers[0].weights.dtype.type
        return cls(
            rates=[dtype(layer_rate(problem, index)) for index in range(len(layers))],
            momentum=dtype(problem.momentum),
            nesterov=problem.nesterov,
            weight_decay=dtype(problem.weight_decay),
            velocities=[(np.zeros_like(lay.weights), np.zeros_like(lay.bias)) for lay in layers],
        )

    def gradient(self, layer: DenseLayer, grad_w: Array) -> Array:
        """dE/dw of the batch plus the decay's ``weight_decay * w`` (the weights of the step)."""
        if self.weight_decay == 0.0:
            return grad_w
        result: Array = grad_w + self.weight_decay * layer.weights
        return result

    def penalty(self, layers: list[DenseLayer]) -> Scalar | None:
        """``weight_decay / 2 * sum(w^2)`` over every weight (no bias); None without decay."""
        if self.weight_decay == 0.0:
            return None
        squares = [np.sum(layer.weights * layer.weights) for layer in layers]
        total = squares[0]
        for layer_squares in squares[1:]:  # layer by layer, in the dtype (sum() starts at int 0)
            total = total + layer_squares
        result: Scalar = self.weight_decay / 2 * total
        return result

    def apply(
        self, index: int, layer: DenseLayer, grad_w: Array, grad_b: Array | None
    ) -> tuple[Array, Array | None]:
        """Update layer ``index`` in place; return the changes (None for a frozen bias)."""
        rate = self.rates[index]
        velocity_w, velocity_b = self.velocities[index]
        change_w = self._change(rate, grad_w, velocity_w)
        layer.weights += change_w
        if grad_b is None or not layer.trains_bias:
            return change_w, None
        change_b = self._change(rate, grad_b, velocity_b)
        layer.bias += change_b
        return change_w, change_b

    def _change(self, rate: Scalar, gradient: Array, velocity: Array) -> Array:
        step = rate * gradient
        if self.momentum == 0.0:
            result: Array = -step
            return result
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            nesterov: Array = self.momentum * velocity - step
            return nesterov
        return velocity.copy()
