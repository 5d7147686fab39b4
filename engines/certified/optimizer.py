"""The update of one layer in balls: rates, momentum, Nesterov, coupled weight decay.

The rule is the problem model's (:class:`~bpcheck.model.problem.Problem`)::

    v <- momentum * v - rate * g
    change = v                              (classical; plain descent when momentum is 0)
    change = momentum * v - rate * g        (Nesterov, with the new v)
    p <- p + change

Weight decay is not here: it is part of the gradient ``g`` of a weight (coupled L2,
``network.py`` adds ``decay * w``).  Every velocity starts at 0; a frozen bias has
none and never changes.  With no momentum the velocity is not kept at all and the
change is ``-rate * g``, exactly what plain descent computed before momentum existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from flint import arb, arb_mat

Value = TypeVar("Value", arb, arb_mat)


@dataclass(frozen=True)
class Rule:
    """The numbers of the update, as balls of the printed decimals."""

    rates: list[arb]
    """One per layer: its own rate, else the problem's."""
    momentum: arb
    nesterov: bool


@dataclass
class Velocity:
    """One velocity per parameter: a ball matrix per layer's weights, a list per biases."""

    weights: list[arb_mat]
    biases: list[list[arb]]


@dataclass(frozen=True)
class Change:
    """What one layer's update added to its weights and (trainable) biases."""

    weights: arb_mat
    biases: list[arb]


def change(rule: Rule, rate: arb, velocity: Value, gradient: Value) -> tuple[Value, Value]:
    """(new velocity, change) of one parameter or one matrix of them."""
    descent = gradient * rate
    if rule.momentum.is_zero():
        return velocity, -descent
    moved = velocity * rule.momentum - descent
    return moved, (moved * rule.momentum - descent if rule.nesterov else moved)


def update(
    rule: Rule,
    velocity: Velocity,
    index: int,
    gradients: tuple[arb_mat, list[arb]],
    trainable_bias: bool,
) -> Change:
    """The change of layer ``index`` (0-based) from its gradients; its velocity moves on."""
    rate = rule.rates[index]
    grad_w, grad_b = gradients
    velocity.weights[index], weights = change(rule, rate, velocity.weights[index], grad_w)
    if not trainable_bias:
        return Change(weights, [])
    moved = [change(rule, rate, v, g) for v, g in zip(velocity.biases[index], grad_b, strict=True)]
    velocity.biases[index] = [v for v, _ in moved]
    return Change(weights, [c for _, c in moved])
