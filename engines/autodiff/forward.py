"""The autodiff engine's forward pass and loss: the only maths it writes (JAX differentiates).

Pure functions of the parameters, the batch and the runtime settings (:class:`Hyper`),
in the style of JAX's ``mnist_classifier_fromscratch``; :mod:`network` builds the
backward passes, training and the trace from them with ``jax.grad``, ``jax.vjp`` and
``jax.jacfwd``.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TypeAlias

from bpcheck.engines.autodiff.arrays import Array, Hyper, LayerShape, NetShape, Params

with contextlib.suppress(ImportError):  # the engine is optional: network.HAVE_JAX says so
    import jax
    import jax.numpy as jnp
    from jax import lax


def activate(name: str, net: Array, shape: Array | float = 0.0) -> Array:
    """One layer's outputs from its net inputs (one sample, a vector).

    ``shape`` is leaky_relu's slope or elu's alpha.  The kinked activations are
    written with ``where(net <= 0, left, net)`` so that JAX differentiates them at
    exactly 0 along the left branch, the convention of the problem model (relu'(0)
    = 0, leaky_relu'(0) = slope, elu'(0) = alpha); ``jnp.maximum`` would split a tie.
    NaN is not <= 0: it takes the identity branch, slope 1, as in the other engines.
    """
    if name == "identity":
        return net
    if name == "sigmoid":
        return jax.nn.sigmoid(net)
    if name == "tanh":
        return jnp.tanh(net)
    if name == "relu":
        return jnp.where(net <= 0.0, 0.0, net)
    if name == "softmax":
        return jax.nn.softmax(net)
    if name == "leaky_relu":
        return jnp.where(net <= 0.0, shape * net, net)
    if name == "softplus":
        return jax.nn.softplus(net)  # log(1 + e^x) as logaddexp(x, 0): no overflow
    if name == "elu":
        # The inner where keeps expm1 of a large net out of the untaken branch, whose
        # infinite slope would otherwise meet a zero cotangent: 0 * inf = NaN.  JAX
        # differentiates expm1(x) as expm1(x) + 1, which cancels far below 0 (at -5.8, 93
        # ULPs off e^x); there exp(x) - 1 cancels in neither its value nor its slope.
        below = jnp.where(net <= 0.0, net, 0.0)
        curve = jnp.where(below < -1.0, jnp.exp(below) - 1.0, jnp.expm1(below))
        return jnp.where(net <= 0.0, shape * curve, net)
    raise ValueError(f"unknown activation {name!r}")


def weighted_sum(weights: Array, below: Array) -> Array:
    """``sum_i w[j,i] * out[i]`` for every neuron j: the net input without its bias."""
    result: Array = weights @ below
    return result


def affine(layer: LayerShape, weights: Array, bias: Array, below: Array) -> Array:
    """``net = W . out_below + bias``; a shared bias (shape ``(1,)``) reaches every neuron."""
    net = weighted_sum(weights, below)
    return net if layer.bias_kind == "none" else net + bias


Nudges: TypeAlias = tuple[tuple[Array, Array], ...]
"""Per layer, zeros added to the net inputs and to the outputs (see :func:`forward`)."""


def forward(
    shape: NetShape, params: Params, shapes: Array, x: Array, nudges: Nudges | None = None
) -> tuple[list[Array], list[Array]]:
    """Net inputs and outputs of every layer for one sample; ``outs[0]`` is ``x``.

    ``shapes`` are the layers' slopes or alphas (:class:`Hyper`).  ``nudges`` are
    zeros added to each layer's net input and output.  They do not change any
    value, but differentiating with respect to them gives dE/dnet and dE/dout
    for every neuron without writing the chain rule down.
    """
    nets: list[Array] = []
    outs: list[Array] = [x]
    for index, (layer, (weights, bias)) in enumerate(zip(shape.layers, params, strict=True)):
        net = affine(layer, weights, bias, outs[-1])
        if nudges is not None:
            net = net + nudges[index][0]
        out = activate(layer.activation, net, shapes[index])
        if nudges is not None:
            out = out + nudges[index][1]
        nets.append(net)
        outs.append(out)
    return nets, outs


def loss_terms(shape: NetShape, count: int, selector: Array, out: Array, target: Array) -> Array:
    """``E[k]`` for every output ``k`` of one sample; the loss is their sum over the batch.

    ``count`` is the number of samples in the batch (mse's mean); ``selector`` marks
    loss ``output``'s objective, whose term is the output itself (the others are 0).
    """
    if shape.loss == "half_sse":
        return 0.5 * (target - out) ** 2
    if shape.loss == "sse":
        return (target - out) ** 2
    if shape.loss == "mse":
        return (target - out) ** 2 / (shape.layers[-1].size * count)
    if shape.loss == "bce":
        return -(t_log(target, out) + t_log(1.0 - target, 1.0 - out))
    if shape.loss == "softmax_ce":
        return -t_log(target, out)
    if shape.loss == "output":
        chosen: Array = jnp.where(selector != 0.0, out, 0.0)
        return chosen
    raise ValueError(f"unknown loss {shape.loss!r}")


def t_log(t: Array, o: Array) -> Array:
    """``t log o``, and 0 where t is 0 whatever o is (NaN too): the limit 0 log 0 = 0.

    Not ``xlogy``, which gives NaN for 0 log NaN and a NaN slope at 0 log 0.  The
    inner ``where`` keeps ``log`` away from the o of a zero t, so that the slope
    there is 0 and not 0 times infinity.  Not clipped: log 0 is -inf, log of a
    negative o NaN (bce on an identity output).
    """
    result: Array = jnp.where(t == 0.0, 0.0, t * jnp.log(jnp.where(t == 0.0, 1.0, o)))
    return result


def batch_terms(shape: NetShape, hyper: Hyper, outs: Array, targets: Array) -> Array:
    """Loss terms of a whole batch, ``(samples, outputs)``, from the output layer's outputs."""
    one = functools.partial(loss_terms, shape, outs.shape[0], hyper.selector)
    terms: Array = jax.vmap(one)(outs, targets)
    return terms


def decay_term(hyper: Hyper, params: Params) -> Array:
    """Coupled L2: ``weight_decay / 2 * (sum of all squared weights)``, biases excluded."""
    squares = [jnp.sum(weights**2) for weights, _ in params]
    total: Array = hyper.decay / 2 * functools.reduce(jnp.add, squares)
    return total


def with_decay(shape: NetShape, hyper: Hyper, params: Params, loss: Array) -> Array:
    """``loss`` plus the weight-decay term, when the problem has one (else ``loss`` as is)."""
    return loss + decay_term(hyper, params) if shape.weight_decay else loss


def batch_loss(
    shape: NetShape, hyper: Hyper, params: Params, inputs: Array, targets: Array
) -> Array:
    """``E`` of a batch, weight decay included: the function the simultaneous update descends."""
    outs = jax.vmap(lambda x: forward(shape, params, hyper.shapes, x)[1][-1])(inputs)
    return with_decay(shape, hyper, params, jnp.sum(batch_terms(shape, hyper, outs, targets)))


def batch_at(
    shape: NetShape, hyper: Hyper, inputs: Array, targets: Array, step: Array, count: int
) -> tuple[Array, Array]:
    """The ``count`` samples update ``step`` uses (:func:`bpcheck.model.problem.batch_of_step`).

    The batch's first place in the sample order is computed from the (traced) step,
    so one compiled loop serves every step.
    """
    if shape.batch == "full":
        return inputs, targets
    start = (step % len(shape.sizes)) * shape.stride
    indices = lax.dynamic_slice_in_dim(hyper.order, start, count)
    return inputs[indices], targets[indices]
