"""The autodiff engine's network: forward pass and loss (the only maths written), compiled."""

from __future__ import annotations

import functools
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

from bpcheck.model.problem import Problem

try:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import numpy.typing as npt
    from jax import lax
except ImportError:  # the engine is optional: report "unavailable" instead of failing
    HAVE_JAX = False
else:
    HAVE_JAX = True

ENGINE_VERSION = "1"

Array: TypeAlias = "jax.Array"
HostArray: TypeAlias = "npt.NDArray[np.float64]"
LayerParams: TypeAlias = tuple[Array, Array]
"""``(weights, bias)``: weights ``(size, fan_in)``; bias ``(0,)``, ``(1,)`` or ``(size,)``."""
Params: TypeAlias = tuple[LayerParams, ...]

TRACE_COUNTS: Counter[str] = Counter()
"""How often JAX traced (and so compiled) each function.

The counters are bumped inside the jitted functions, which runs only while JAX
traces them; tests use this to show that a second problem of the same shape
compiles nothing new.
"""


def enable_float64() -> None:
    """Make JAX compute in float64, as the tutorials' printed digits need.

    JAX defaults to float32; the flag must be set before any array is created.
    """
    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]


# --- the shape of a problem: everything that is compiled in ------------------


@dataclass(frozen=True)
class LayerShape:
    """What of a layer is baked into the compiled code (its values are not)."""

    size: int
    fan_in: int
    activation: str
    bias_kind: str
    bias_trainable: bool


@dataclass(frozen=True)
class NetShape:
    """The compile-cache key: two problems with equal shapes share compiled code."""

    layers: tuple[LayerShape, ...]
    loss: str
    batch: str
    update_order: str
    n_samples: int

    @property
    def batch_size(self) -> int:
        """Samples per update: all of them, or one in ``per_sample`` mode."""
        return self.n_samples if self.batch == "full" else 1


def shape_of(problem: Problem) -> NetShape:
    """The structural part of ``problem``, hashable so it can key a cache."""
    layers = tuple(
        LayerShape(
            layer.size, layer.fan_in, layer.activation, layer.bias_kind, layer.bias_trainable
        )
        for layer in problem.layers
    )
    return NetShape(layers, problem.loss, problem.batch, problem.update_order, problem.n_samples)


def device_arrays(problem: Problem) -> tuple[Params, Array, Array]:
    """Parameters, inputs and targets of ``problem`` as float64 arrays, in one transfer."""
    host = (
        host_params(problem),
        float64_matrix(problem.inputs, problem.n_inputs),
        float64_matrix(problem.targets, problem.n_outputs),
    )
    arrays: tuple[Params, Array, Array] = jax.device_put(host)
    return arrays


def host_params(problem: Problem) -> tuple[tuple[HostArray, HostArray], ...]:
    """The problem's weights and biases as NumPy float64 arrays, one pair per layer."""
    params = []
    for layer in problem.layers:
        expected = {"none": 0, "shared": 1, "per_neuron": layer.size}[layer.bias_kind]
        if len(layer.bias) != expected:
            raise ValueError(
                f"a {layer.bias_kind!r} bias needs {expected} value(s), got {len(layer.bias)}"
            )
        bias = np.array(layer.bias, dtype=np.float64).reshape(expected)
        params.append((float64_matrix(layer.weights, layer.fan_in), bias))
    return tuple(params)


def float64_matrix(rows: tuple[tuple[float, ...], ...], n_columns: int) -> HostArray:
    """Rows of Python floats as a float64 matrix.

    ``struct.pack`` unboxes the numbers in C, about four times faster than
    ``np.array`` on nested tuples; for a 784-128-10 network that conversion
    otherwise costs more than the training step itself.
    """
    if any(len(row) != n_columns for row in rows):
        raise ValueError(f"every row needs {n_columns} values")
    packed = b"".join(struct.pack(f"{n_columns}d", *row) for row in rows)
    return np.frombuffer(packed, dtype=np.float64).reshape(len(rows), n_columns)


# --- the forward pass and the loss: the only mathematics written here --------


def activate(name: str, net: Array) -> Array:
    """One layer's outputs from its net inputs (one sample, a vector)."""
    if name == "identity":
        return net
    if name == "sigmoid":
        return jax.nn.sigmoid(net)
    if name == "tanh":
        return jnp.tanh(net)
    if name == "relu":
        # Written with ``where`` so that JAX differentiates relu at exactly 0 to 0,
        # the convention of the problem model; ``jnp.maximum(net, 0)`` splits a tie
        # and would give 0.5 there.  NaN is not <= 0: relu(NaN) is NaN, slope 1.
        return jnp.where(net <= 0.0, 0.0, net)
    if name == "softmax":
        return jax.nn.softmax(net)
    raise ValueError(f"unknown activation {name!r}")


def affine(layer: LayerShape, weights: Array, bias: Array, below: Array) -> Array:
    """``net = W . out_below + bias``; a shared bias (shape ``(1,)``) reaches every neuron."""
    net = weights @ below
    return net if layer.bias_kind == "none" else net + bias


Nudges: TypeAlias = tuple[tuple[Array, Array], ...]
"""Per layer, zeros added to the net inputs and to the outputs (see :func:`forward`)."""


def forward(
    shape: NetShape, params: Params, x: Array, nudges: Nudges | None = None
) -> tuple[list[Array], list[Array]]:
    """Net inputs and outputs of every layer for one sample; ``outs[0]`` is ``x``.

    ``nudges`` are zeros added to each layer's net input and output.  They do not
    change any value, but differentiating with respect to them gives dE/dnet and
    dE/dout for every neuron without writing the chain rule down.
    """
    nets: list[Array] = []
    outs: list[Array] = [x]
    for index, (layer, (weights, bias)) in enumerate(zip(shape.layers, params, strict=True)):
        net = affine(layer, weights, bias, outs[-1])
        if nudges is not None:
            net = net + nudges[index][0]
        out = activate(layer.activation, net)
        if nudges is not None:
            out = out + nudges[index][1]
        nets.append(net)
        outs.append(out)
    return nets, outs


def loss_terms(shape: NetShape, out: Array, target: Array) -> Array:
    """``E[k]`` for every output ``k`` of one sample; the loss is their sum over the batch."""
    if shape.loss == "half_sse":
        return 0.5 * (target - out) ** 2
    if shape.loss == "sse":
        return (target - out) ** 2
    if shape.loss == "mse":
        return (target - out) ** 2 / (shape.layers[-1].size * shape.batch_size)
    if shape.loss == "bce":
        return -(t_log(target, out) + t_log(1.0 - target, 1.0 - out))
    if shape.loss == "softmax_ce":
        return -t_log(target, out)
    raise ValueError(f"unknown loss {shape.loss!r}")


def t_log(t: Array, o: Array) -> Array:
    """``t log o``, and 0 where t is 0 whatever o is (NaN too): the limit 0 log 0 = 0.

    Not ``xlogy``, which gives NaN for 0 log NaN and a NaN slope at 0 log 0.  The
    inner ``where`` keeps ``log`` away from the o of a zero t, so that the slope
    there is 0 and not 0 times infinity.
    """
    result: Array = jnp.where(t == 0.0, 0.0, t * jnp.log(jnp.where(t == 0.0, 1.0, o)))
    return result


def batch_terms(shape: NetShape, outs: Array, targets: Array) -> Array:
    """Loss terms of a whole batch, ``(samples, outputs)``, from the output layer's outputs."""
    return jax.vmap(functools.partial(loss_terms, shape))(outs, targets)


def batch_loss(shape: NetShape, params: Params, inputs: Array, targets: Array) -> Array:
    """``E`` of a batch: the function whose gradient the simultaneous update follows."""
    outs = jax.vmap(lambda x: forward(shape, params, x)[1][-1])(inputs)
    return jnp.sum(batch_terms(shape, outs, targets))


def batch_at(
    shape: NetShape, inputs: Array, targets: Array, step: Array | int
) -> tuple[Array, Array]:
    """The samples update ``step`` uses (:func:`bpcheck.model.problem.batch_of_step`).

    In ``per_sample`` mode the index is computed from the (possibly traced) step,
    so one compiled loop serves every step.
    """
    if shape.batch == "full":
        return inputs, targets
    index = step % shape.n_samples
    return (
        lax.dynamic_slice_in_dim(inputs, index, 1),
        lax.dynamic_slice_in_dim(targets, index, 1),
    )


# --- gradient descent ---------------------------------------------------------


def descend(layer: LayerShape, params: LayerParams, grads: LayerParams, lr: Array) -> LayerParams:
    """One gradient-descent update of a layer; a frozen bias keeps its value."""
    (weights, bias), (grad_w, grad_b) = params, grads
    new_bias = bias - lr * grad_b if layer.bias_trainable else bias
    return weights - lr * grad_w, new_bias


def simultaneous_step(
    shape: NetShape, params: Params, inputs: Array, targets: Array, lr: Array
) -> Params:
    """Every gradient from the parameters before the step, then every update."""
    grads: Params = jax.grad(functools.partial(batch_loss, shape))(params, inputs, targets)
    return tuple(
        descend(layer, p, g, lr) for layer, p, g in zip(shape.layers, params, grads, strict=True)
    )


def pull_through_activation(name: str, net: Array, cotangent: Array) -> Array:
    """Carry a cotangent from a layer's outputs back to its net inputs (a vjp at ``net``)."""
    _, pull = jax.vjp(functools.partial(activate, name), net)
    cotangent_net: Array = pull(cotangent)[0]
    return cotangent_net


def pull_through_weights(
    layer: LayerShape, params: LayerParams, below: Array, cotangent: Array
) -> Array:
    """Carry a cotangent from a layer's net inputs to the outputs below, through ``params``."""
    weights, bias = params
    _, pull = jax.vjp(lambda a: affine(layer, weights, bias, a), below)
    cotangent_below: Array = pull(cotangent)[0]
    return cotangent_below


def layer_gradient(
    layer: LayerShape, params: LayerParams, belows: Array, cotangents: Array
) -> LayerParams:
    """dE/dW and dE/db of one layer from a batch of net-input cotangents (batch summed)."""

    def batch_nets(weights: Array, bias: Array) -> Array:
        return jax.vmap(lambda a: affine(layer, weights, bias, a))(belows)

    _, pull = jax.vjp(batch_nets, *params)
    grad_w, grad_b = pull(cotangents)
    return grad_w, grad_b


class Backward(NamedTuple):
    """Backward quantities of a batch, one array per layer (layer 1 first).

    ``d_out`` and ``delta`` are ``(samples, size)``: dE/dout and dE/dnet.
    ``term_d_out`` and ``term_d_net`` are ``(samples, outputs, size)``: the same
    for each output's loss term ``E[k]`` on its own.
    """

    d_out: list[Array]
    delta: list[Array]
    term_d_out: list[Array]
    term_d_net: list[Array]


def sequential_backward(
    shape: NetShape, params: Params, inputs: Array, targets: Array, lr: Array
) -> tuple[Params, Params, Backward]:
    """The ``sequential`` update order, a classic bug modelled on purpose.

    From the output layer down: take the layer's gradient, update the layer at
    once, and carry the cotangent to the layer below through the *updated*
    weights.  The forward values (and so the activation slopes) stay those of
    the pass before the update, as in the tutorials that have this bug.  Each
    layer is differentiated on its own with ``jax.vjp``; nothing is hand-written.

    Returns the new parameters, the gradients used and the backward quantities
    (the training loop discards the latter; the compiler drops their cost).
    """
    nets, outs = jax.vmap(lambda x: forward(shape, params, x))(inputs)
    top = outs[-1]
    d_out = jax.grad(lambda o: jnp.sum(batch_terms(shape, o, targets)))(top)
    term_d_out = jax.vmap(diagonal)(d_out)
    new, grads = list(params), list(params)  # every entry is replaced, top layer first
    backward = Backward([], [], [], [])
    for index in reversed(range(len(shape.layers))):
        layer = shape.layers[index]
        pull_net = functools.partial(pull_through_activation, layer.activation)
        delta = jax.vmap(pull_net)(nets[index], d_out)
        term_delta = jax.vmap(jax.vmap(pull_net, in_axes=(None, 0)))(nets[index], term_d_out)
        grads[index] = layer_gradient(layer, params[index], outs[index], delta)
        new[index] = descend(layer, params[index], grads[index], lr)
        for found, value in zip(backward, (d_out, delta, term_d_out, term_delta), strict=True):
            found.insert(0, value)
        pull_below = functools.partial(pull_through_weights, layer, new[index])
        d_out = jax.vmap(pull_below)(outs[index], delta)
        term_d_out = jax.vmap(jax.vmap(pull_below, in_axes=(None, 0)))(outs[index], term_delta)
    return tuple(new), tuple(grads), backward


def sequential_step(
    shape: NetShape, params: Params, inputs: Array, targets: Array, lr: Array
) -> Params:
    """One ``sequential`` update (see :func:`sequential_backward`)."""
    return sequential_backward(shape, params, inputs, targets, lr)[0]


def train(
    shape: NetShape,
    params: Params,
    inputs: Array,
    targets: Array,
    lr: Array,
    start: Array,
    stop: Array,
) -> Params:
    """Updates ``start .. stop - 1`` in one compiled loop; the bounds are runtime values."""
    step = sequential_step if shape.update_order == "sequential" else simultaneous_step

    def body(k: Array, params: Params) -> Params:
        x, t = batch_at(shape, inputs, targets, k)
        return step(shape, params, x, t, lr)

    trained: Params = lax.fori_loop(start, stop, body, params)
    return trained


# --- the full trace of one step ----------------------------------------------


def diagonal(d_out: Array) -> Array:
    """Each term's partials by the outputs, ``[k, j]``, from the loss's gradient ``d_out``.

    Term ``k`` depends on output ``k`` only, so its partials are ``d_out[k]`` at
    ``k`` and exactly 0 elsewhere.  ``jax.jacrev`` of the terms would multiply a
    zero cotangent by each output's slope, and 0 times an infinite slope is NaN.
    """
    result: Array = jnp.where(jnp.eye(d_out.shape[-1], dtype=bool), d_out[:, None], 0.0)
    return result


def activation_slope(name: str, net: Array) -> Array:
    """d out_j / d net_j: the diagonal of the activation's Jacobian, by forward mode.

    Element-wise activations have a diagonal Jacobian; for softmax the
    off-diagonal entries exist but ``dout_dnet`` names only the diagonal.
    """
    jacobian: Array = jax.jacfwd(functools.partial(activate, name))(net)
    slope: Array = jnp.diagonal(jacobian)
    return slope


def simultaneous_backward(
    shape: NetShape, params: Params, inputs: Array, targets: Array
) -> Backward:
    """Backward quantities by differentiating each sample's loss terms w.r.t. zero nudges."""

    def one_sample(x: Array, t: Array) -> tuple[Nudges, Nudges]:
        zeros = tuple((jnp.zeros(layer.size), jnp.zeros(layer.size)) for layer in shape.layers)

        def terms(nudges: Nudges) -> Array:
            return loss_terms(shape, forward(shape, params, x, nudges)[1][-1], t)

        # This sample's share of E is the sum of its terms; other samples do not
        # depend on its nudges, so this gradient is dE/dnet and dE/dout.
        total = jax.grad(lambda nudges: jnp.sum(terms(nudges)))(zeros)
        _, pull = jax.vjp(lambda nudges: forward(shape, params, x, nudges)[1][-1], zeros)
        return total, jax.vmap(pull)(diagonal(total[-1][1]))[0]

    total, per_term = jax.vmap(one_sample)(inputs, targets)
    return Backward(
        d_out=[on_out for _, on_out in total],
        delta=[on_net for on_net, _ in total],
        term_d_out=[on_out for _, on_out in per_term],
        term_d_net=[on_net for on_net, _ in per_term],
    )


class StepTrace(NamedTuple):
    """Every quantity of one step as arrays; per-layer lists start at layer 1."""

    inputs: Array
    nets: list[Array]
    outs: list[Array]
    slopes: list[Array]
    terms: Array
    loss: Array
    backward: Backward
    params: Params
    grads: Params


def trace_step(
    shape: NetShape, params: Params, inputs: Array, targets: Array, lr: Array, step: Array
) -> StepTrace:
    """The full trace of ``step`` with the given parameters (which it does not change).

    ``lr`` matters only to the sequential order, whose lower-layer quantities
    flow through the updated layers above; pass 0 when no update follows.
    """
    x, t = batch_at(shape, inputs, targets, step)
    nets, outs = jax.vmap(lambda sample: forward(shape, params, sample))(x)
    slopes = [
        jax.vmap(functools.partial(activation_slope, layer.activation))(net)
        for layer, net in zip(shape.layers, nets, strict=True)
    ]
    terms = batch_terms(shape, outs[-1], t)
    if shape.update_order == "sequential":
        _, grads, backward = sequential_backward(shape, params, x, t, lr)
    else:
        grads = jax.grad(functools.partial(batch_loss, shape))(params, x, t)
        backward = simultaneous_backward(shape, params, x, t)
    return StepTrace(x, nets, outs[1:], slopes, terms, jnp.sum(terms), backward, params, grads)


# --- compilation, once per shape ----------------------------------------------


class Compiled(NamedTuple):
    """The jitted functions for one :class:`NetShape`."""

    train: Callable[..., Params]
    trace: Callable[..., StepTrace]


@functools.lru_cache(maxsize=32)
def compiled_for(shape: NetShape) -> Compiled:
    """Jit :func:`train` and :func:`trace_step` for ``shape``, over a batch of problems.

    Only ``shape`` is closed over.  Values, data, learning rate and step numbers
    are arguments, so problems of one shape share the compiled code.  Parameters,
    data and learning rates carry a leading axis of problems (one problem is a
    batch of one), mapped with ``lax.map``: each problem goes through the same
    per-problem code whatever the batch size, so a problem's trace is the same
    to the last bit alone or in a batch.  (``jax.vmap`` would vectorise across
    problems, and XLA then picks other kernels for other batch sizes: measured,
    the last bits of some architectures' values change.)
    """

    def train_compiled(
        params: Params, inputs: Array, targets: Array, lr: Array, start: Array, stop: Array
    ) -> Params:
        TRACE_COUNTS["train"] += 1

        def one(problem: tuple[Params, Array, Array, Array]) -> Params:
            return train(shape, *problem, start, stop)

        trained: Params = lax.map(one, (params, inputs, targets, lr))
        return trained

    def trace_compiled(
        params: Params, inputs: Array, targets: Array, lr: Array, step: Array
    ) -> StepTrace:
        TRACE_COUNTS["trace"] += 1

        def one(problem: tuple[Params, Array, Array, Array]) -> StepTrace:
            return trace_step(shape, *problem, step)

        traced: StepTrace = lax.map(one, (params, inputs, targets, lr))
        return traced

    return Compiled(jax.jit(train_compiled), jax.jit(trace_compiled))
