"""The update rule, one parameter at a time: plain descent, momentum, Nesterov, weight decay.

As :class:`~bpcheck.model.problem.Problem` states it, for a parameter ``p`` with
gradient ``g`` (weight decay included), rate ``eta`` and velocity ``v`` (0 at first)::

    v <- momentum * v - eta * g
    change = v                                 (classical; plain descent when momentum is 0)
    change = momentum * v - eta * g            (Nesterov, with the new v)
    p <- p + change
"""

from __future__ import annotations

from bpcheck.engines.loops.formulas import Matrix, Vector
from bpcheck.model.problem import Problem


def changes(problem: Problem, rate: float, grads: Vector, velocity: Vector) -> Vector:
    """The change of each parameter of a row from its gradient; ``velocity`` is updated.

    Without momentum the change is ``-(rate * g)`` and the velocity is left alone:
    ``0 * v`` would turn an infinite velocity into NaN where plain descent has none.
    """
    if problem.momentum == 0.0:
        return [-(rate * g) for g in grads]
    mu = problem.momentum
    result = []
    for i, g in enumerate(grads):
        v = mu * velocity[i] - rate * g
        velocity[i] = v
        result.append(mu * v - rate * g if problem.nesterov else v)
    return result


def with_decay(problem: Problem, grad_w: Matrix, weights: Matrix) -> Matrix:
    """Coupled L2: ``dE/dw + weight_decay * w`` (the gradient of ``weight_decay / 2 * w^2``)."""
    decay = problem.weight_decay
    if decay == 0.0:
        return grad_w
    return [[g + decay * w for g, w in zip(gs, ws)] for gs, ws in zip(grad_w, weights)]


def decay_penalty(problem: Problem, weights: list[Matrix]) -> float:
    """``weight_decay / 2 * (sum of every squared weight)``, biases excluded: E's extra term."""
    total = 0.0
    for matrix in weights:
        for row in matrix:
            for w in row:
                total += w * w
    return problem.weight_decay / 2.0 * total
