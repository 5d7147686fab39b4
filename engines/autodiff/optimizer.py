"""The update rule, written once for every parameter array: plain descent, momentum, Nesterov.

The gradient it follows comes from JAX (weight decay is a term of the loss, so the
gradient already holds it); this module only steps along it, as
:class:`bpcheck.model.problem.Problem` says.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

from bpcheck.engines.autodiff.arrays import Array, Hyper, LayerParams, NetShape, Params

with contextlib.suppress(ImportError):  # the engine is optional: network.HAVE_JAX says so
    import jax.numpy as jnp


def move(
    shape: NetShape, value: Array, velocity: Array, grad: Array, rate: Array, momentum: Array
) -> tuple[Array, Array, Array]:
    """One parameter array's update: new value, new velocity and the change applied.

    Plain descent (no momentum in the program) keeps the lean ``p - eta g``; its
    change ``-(eta g)`` added to ``p`` gives the same float.  Otherwise the rule
    of :class:`bpcheck.model.problem.Problem`: ``v <- mu v - eta g``, change ``v``
    or, Nesterov, ``mu v - eta g`` with the new ``v``.
    """
    if not shape.momentum:
        step = rate * grad
        return value - step, velocity, -step
    new_velocity = momentum * velocity - rate * grad
    change = momentum * new_velocity - rate * grad if shape.nesterov else new_velocity
    return value + change, new_velocity, change


class Moved(NamedTuple):
    """A layer after its update: parameters, velocities and the changes applied."""

    params: LayerParams
    velocity: LayerParams
    change: LayerParams


def update_layer(
    shape: NetShape,
    index: int,
    params: LayerParams,
    velocity: LayerParams,
    grads: LayerParams,
    hyper: Hyper,
) -> Moved:
    """Update one layer; a frozen bias keeps its value and velocity (its change is 0)."""
    layer, rate = shape.layers[index], hyper.rates[index]
    weights = move(shape, params[0], velocity[0], grads[0], rate, hyper.momentum)
    if layer.bias_trainable:
        bias = move(shape, params[1], velocity[1], grads[1], rate, hyper.momentum)
    else:
        bias = (params[1], velocity[1], jnp.zeros_like(params[1]))
    return Moved((weights[0], bias[0]), (weights[1], bias[1]), (weights[2], bias[2]))


class Update(NamedTuple):
    """One step's update of every layer (layer 1 first), with the gradients it followed."""

    params: Params
    velocity: Params
    grads: Params
    changes: Params


def update_all(
    shape: NetShape, params: Params, velocity: Params, grads: Params, hyper: Hyper
) -> Update:
    """Every layer's update from gradients taken before any of them."""
    moved = [
        update_layer(shape, index, params[index], velocity[index], grads[index], hyper)
        for index in range(len(shape.layers))
    ]
    return Update(
        tuple(m.params for m in moved), tuple(m.velocity for m in moved), grads,
        tuple(m.change for m in moved),
    )  # fmt: skip
