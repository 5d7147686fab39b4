"""Bugs and hand computation planted in the loops engine, through the seams it offers.

Each class here is the loops engine with one step computed differently: the
step is a method of :class:`~bpcheck.engines.loops.LoopsEngine` (its docstring
lists them), and the class overrides it, calling the standard step where it
only changes its result.  The engine calls every step on every path, so the
mistake holds for each step of training, recorded or not.

:mod:`bpcheck.diagnose.variants` names them in its catalogue; the bug zoo and
the tests' broken engines run them.
"""

from __future__ import annotations

import math
from decimal import Decimal

from bpcheck.engines.loops import Forward, LoopsEngine, Matrix, Params, Vector
from bpcheck.model.decimals import Mode, at_places
from bpcheck.model.engine import CannotRun
from bpcheck.model.problem import Layer, Problem

# --- bugs: classic mistakes in hand-written backpropagation --------------------------------


class OutputDerivativeMissing(LoopsEngine):
    """delta = dE/dout at the output layer: the activation's derivative forgotten there."""

    def back_through_activation(
        self, activation: str, nets: Vector, outs: Vector, d_out: Vector, output_layer: bool
    ) -> Vector:
        if output_layer:
            return list(d_out)
        return super().back_through_activation(activation, nets, outs, d_out, output_layer)


class ErrorAsDelta(OutputDerivativeMissing):
    """delta = target - output at the output layer (the error, not dE/dnet)."""

    def output_gradient(self, problem: Problem, target: Vector, outs: Vector, scale: int) -> Vector:
        return [t - o for t, o in zip(target, outs, strict=True)]


class DerivativeOfNet(LoopsEngine):
    """f'(net) written as if net were the output: sigmoid' = net (1 - net)."""

    def back_through_activation(
        self, activation: str, nets: Vector, outs: Vector, d_out: Vector, output_layer: bool
    ) -> Vector:
        return super().back_through_activation(activation, nets, nets, d_out, output_layer)


class TransposedWeights(LoopsEngine):
    """Back-propagate through W instead of its transpose (square layers only)."""

    def back_through_weights(self, weights: Matrix, d_net: Vector) -> Vector:
        if any(len(row) != len(weights) for row in weights):
            raise CannotRun("a transposed weight matrix only fits square layers")
        return [
            sum(d * w for d, w in zip(d_net, weights[i], strict=True)) for i in range(len(weights))
        ]


class GradientSignFlipped(LoopsEngine):
    """p <- p + rate * dE/dp: gradient ascent."""

    def apply_update(
        self, problem: Problem, params: Params, layer_index: int, grad_w: Matrix, grad_b: Vector
    ) -> None:
        flipped_w = [[-g for g in row] for row in grad_w]
        super().apply_update(problem, params, layer_index, flipped_w, [-g for g in grad_b])


class BiasGradientDropped(LoopsEngine):
    """dE/db left at zero: biases never move, and their gradients read 0."""

    def bias_gradient(self, layer: Layer, per_neuron: Vector) -> Vector:
        return [0.0 for _ in super().bias_gradient(layer, per_neuron)]


# --- hand computation ---------------------------------------------------------------------


CALCULATOR_DIGITS = 12
"""Significant digits a calculator shows: what the author reads before rounding or cutting."""


class ByHand(LoopsEngine):
    """Every intermediate value rounded (or cut) to ``places`` decimals, as by hand.

    Each value a step produces is cut as it is written down: net inputs,
    outputs, derivatives, loss terms, dE/dout, deltas, the gradients applied
    and the parameters after the update.  Sums within a step (a net input, a
    gradient over the batch) are carried in full, as on a calculator.
    """

    def __init__(self, places: int, mode: Mode) -> None:
        self.places = places
        self.mode: Mode = mode

    def cut(self, value: float) -> float:
        """As a calculator shows it (12 digits, so 0.7513 - 0.01 is 0.7413), then cut."""
        if not math.isfinite(value):
            return value
        shown = f"{value:.{CALCULATOR_DIGITS}g}"
        return float(at_places(Decimal(shown), self.places, self.mode))

    def cut_all(self, values: Vector) -> Vector:
        return [self.cut(v) for v in values]

    def activate(self, name: str, nets: Vector) -> Vector:
        return self.cut_all(super().activate(name, nets))

    def elementwise_derivative(self, name: str, out: float) -> float:
        return self.cut(super().elementwise_derivative(name, out))

    def out_net_jacobian(self, name: str, outs: Vector) -> Matrix:
        return [self.cut_all(row) for row in super().out_net_jacobian(name, outs)]

    def loss_term(self, loss: str, target: float, out: float, scale: int) -> float:
        return self.cut(super().loss_term(loss, target, out, scale))

    def output_gradient(self, problem: Problem, target: Vector, outs: Vector, scale: int) -> Vector:
        return self.cut_all(super().output_gradient(problem, target, outs, scale))

    def forward(self, problem: Problem, params: Params, x: Vector) -> Forward:
        result = super().forward(problem, params, x)
        result.nets[:] = [self.cut_all(net) for net in result.nets]
        return result

    def back_through_activation(
        self, activation: str, nets: Vector, outs: Vector, d_out: Vector, output_layer: bool
    ) -> Vector:
        delta = super().back_through_activation(activation, nets, outs, d_out, output_layer)
        return self.cut_all(delta)

    def back_through_weights(self, weights: Matrix, d_net: Vector) -> Vector:
        return self.cut_all(super().back_through_weights(weights, d_net))

    def apply_update(
        self, problem: Problem, params: Params, layer_index: int, grad_w: Matrix, grad_b: Vector
    ) -> None:
        cut_w = [self.cut_all(row) for row in grad_w]
        super().apply_update(problem, params, layer_index, cut_w, self.cut_all(grad_b))
        params.weights[layer_index] = [self.cut_all(row) for row in params.weights[layer_index]]
        params.biases[layer_index] = self.cut_all(params.biases[layer_index])
