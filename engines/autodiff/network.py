"""The autodiff engine's network: backward passes, training and the trace, all by JAX, compiled.

The forward pass and the loss are in :mod:`bpcheck.engines.autodiff.forward`; here they
are differentiated, never derived by hand.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple, TypeAlias

from bpcheck.engines.autodiff.arrays import (
    Array,
    Hyper,
    LayerParams,
    LayerShape,
    NetShape,
    Params,
)
from bpcheck.engines.autodiff.forward import (
    Nudges,
    activate,
    affine,
    batch_at,
    batch_loss,
    batch_terms,
    decay_term,
    forward,
    loss_terms,
    weighted_sum,
    with_decay,
)
from bpcheck.engines.autodiff.optimizer import Moved, Update, update_all, update_layer

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError:  # the engine is optional: report "unavailable" instead of failing
    HAVE_JAX = False
else:
    HAVE_JAX = True

ENGINE_VERSION = "2"

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


# --- the forward pass and the loss: the only mathematics written here --------


def simultaneous_step(
    shape: NetShape, params: Params, velocity: Params, inputs: Array, targets: Array, hyper: Hyper
) -> Update:
    """Every gradient (of E, weight decay included) from the parameters before the step."""
    grads: Params = jax.grad(functools.partial(batch_loss, shape, hyper))(params, inputs, targets)
    return update_all(shape, params, velocity, grads, hyper)


def pull_through_activation(name: str, shape: Array, net: Array, cotangent: Array) -> Array:
    """Carry a cotangent from a layer's outputs back to its net inputs (a vjp at ``net``)."""
    _, pull = jax.vjp(lambda n: activate(name, n, shape), net)
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
    shape: NetShape,
    index: int,
    params: LayerParams,
    belows: Array,
    cotangents: Array,
    hyper: Hyper | None = None,
) -> LayerParams:
    """dE/dW and dE/db of one layer from a batch of net-input cotangents (batch summed).

    With ``hyper``, the layer's share of the weight-decay term is differentiated
    too (cotangent 1); without, the gradient of the samples' terms alone.
    """
    layer = shape.layers[index]

    def nets(weights: Array, bias: Array) -> Array:
        found: Array = jax.vmap(lambda a: affine(layer, weights, bias, a))(belows)
        return found

    if hyper is None or not shape.weight_decay:
        _, pull = jax.vjp(nets, *params)
        grad_w, grad_b = pull(cotangents)
        return grad_w, grad_b

    def nets_and_decay(weights: Array, bias: Array) -> tuple[Array, Array]:
        return nets(weights, bias), decay_term(hyper, ((weights, bias),))

    (_, decay), pull = jax.vjp(nets_and_decay, *params)
    grad_w, grad_b = pull((cotangents, jnp.ones_like(decay)))
    return grad_w, grad_b


class Backward(NamedTuple):
    """Backward quantities of a batch, one array per layer (layer 1 first).

    ``d_out`` and ``delta`` are ``(samples, size)``: dE/dout and dE/dnet.
    ``term_d_out`` and ``term_d_net`` are ``(samples, outputs, size)``: the same
    for each output's loss term ``E[k]`` on its own.  ``d_input`` is
    ``(samples, inputs)``: dE/d(input).
    """

    d_out: list[Array]
    delta: list[Array]
    term_d_out: list[Array]
    term_d_net: list[Array]
    d_input: Array


def sequential_backward(
    shape: NetShape,
    params: Params,
    velocity: Params,
    inputs: Array,
    targets: Array,
    hyper: Hyper,
    updating: Array | bool,
) -> tuple[Update, Backward]:
    """The ``sequential`` update order, a classic bug modelled on purpose.

    From the output layer down: take the layer's gradient, update the layer at
    once (with its velocity), and carry the cotangent to the layer below through
    the *updated* weights.  The forward values (and so the activation slopes) stay
    those of the pass before the update, as in the tutorials that have this bug.
    Each layer is differentiated on its own with ``jax.vjp``; nothing is
    hand-written.  ``updating`` False (the last step: no update follows) carries
    the cotangents through the weights as they are.

    Returns the update and the backward quantities (the training loop discards
    the latter; the compiler drops their cost).
    """
    nets, outs = jax.vmap(lambda x: forward(shape, params, hyper.shapes, x))(inputs)
    d_out = jax.grad(lambda o: jnp.sum(batch_terms(shape, hyper, o, targets)))(outs[-1])
    term_d_out = jax.vmap(diagonal)(d_out)
    grads: list[LayerParams] = list(params)  # every entry is replaced, top layer first
    moved: list[Moved] = []
    found: tuple[list[Array], ...] = ([], [], [], [])
    for index in reversed(range(len(shape.layers))):
        layer = shape.layers[index]
        pull_net = functools.partial(pull_through_activation, layer.activation, hyper.shapes[index])
        delta = jax.vmap(pull_net)(nets[index], d_out)
        term_delta = jax.vmap(jax.vmap(pull_net, in_axes=(None, 0)))(nets[index], term_d_out)
        grads[index] = layer_gradient(shape, index, params[index], outs[index], delta, hyper)
        moved.insert(
            0, update_layer(shape, index, params[index], velocity[index], grads[index], hyper)
        )
        for kept, value in zip(found, (d_out, delta, term_d_out, term_delta), strict=True):
            kept.insert(0, value)
        through = jax.tree.map(
            lambda new, old: jnp.where(updating, new, old), moved[0].params, params[index]
        )
        pull_below = functools.partial(pull_through_weights, layer, through)
        d_out = jax.vmap(pull_below)(outs[index], delta)
        term_d_out = jax.vmap(jax.vmap(pull_below, in_axes=(None, 0)))(outs[index], term_delta)
    update = Update(
        tuple(m.params for m in moved), tuple(m.velocity for m in moved), tuple(grads),
        tuple(m.change for m in moved),
    )  # fmt: skip
    return update, Backward(found[0], found[1], found[2], found[3], d_input=d_out)


def step_once(
    shape: NetShape, params: Params, velocity: Params, inputs: Array, targets: Array, hyper: Hyper
) -> Update:
    """One update in the problem's order."""
    if shape.update_order == "sequential":
        return sequential_backward(shape, params, velocity, inputs, targets, hyper, True)[0]
    return simultaneous_step(shape, params, velocity, inputs, targets, hyper)


State: TypeAlias = tuple[Params, Params]
"""What training carries from step to step: parameters and their velocities."""


def train(
    shape: NetShape,
    params: Params,
    velocity: Params,
    inputs: Array,
    targets: Array,
    hyper: Hyper,
    start: Array,
    stop: Array,
) -> State:
    """Updates ``start .. stop - 1`` in one compiled loop; the bounds are runtime values.

    A mini-batch epoch whose last batch is smaller takes that batch through its own
    branch (``lax.cond``): array sizes are fixed at compile time.
    """
    sizes = shape.sizes

    def updated(count: int) -> Callable[[Array, State], State]:
        def run(k: Array, state: State) -> State:
            x, t = batch_at(shape, hyper, inputs, targets, k, count)
            update = step_once(shape, *state, x, t, hyper)
            return update.params, update.velocity

        return run

    def body(k: Array, state: State) -> State:
        if sizes[-1] == sizes[0]:
            return updated(sizes[0])(k, state)
        last = k % len(sizes) == len(sizes) - 1
        chosen: State = lax.cond(last, updated(sizes[-1]), updated(sizes[0]), k, state)
        return chosen

    trained: State = lax.fori_loop(start, stop, body, (params, velocity))
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


def activation_slope(name: str, shape: Array, net: Array) -> Array:
    """d out_j / d net_j: the diagonal of the activation's Jacobian, by forward mode.

    Element-wise activations have a diagonal Jacobian; for softmax the
    off-diagonal entries exist but ``dout_dnet`` names only the diagonal.
    """
    jacobian: Array = jax.jacfwd(lambda n: activate(name, n, shape))(net)
    slope: Array = jnp.diagonal(jacobian)
    return slope


def simultaneous_backward(
    shape: NetShape, params: Params, inputs: Array, targets: Array, hyper: Hyper
) -> Backward:
    """Backward quantities by differentiating each sample's loss terms w.r.t. zero nudges.

    The input is differentiated too: dE/d(input) is the nudge of layer 0.
    """
    count, dtype = inputs.shape[0], shape.dtype

    def one_sample(x: Array, t: Array) -> tuple[Nudges, Array, Nudges]:
        zeros = tuple(
            (jnp.zeros(layer.size, dtype), jnp.zeros(layer.size, dtype)) for layer in shape.layers
        )

        def top(nudges: Nudges, a: Array) -> Array:
            return forward(shape, params, hyper.shapes, a, nudges)[1][-1]

        def sample_loss(nudges: Nudges, a: Array) -> Array:
            return jnp.sum(loss_terms(shape, count, hyper.selector, top(nudges, a), t))

        # This sample's share of E is the sum of its terms; other samples do not
        # depend on its nudges, so this gradient is dE/dnet and dE/dout.
        total, on_input = jax.grad(sample_loss, argnums=(0, 1))(zeros, x)
        _, pull = jax.vjp(lambda nudges: top(nudges, x), zeros)
        return total, on_input, jax.vmap(pull)(diagonal(total[-1][1]))[0]

    total, on_input, per_term = jax.vmap(one_sample)(inputs, targets)
    return Backward(
        d_out=[on_out for _, on_out in total],
        delta=[on_net for on_net, _ in total],
        term_d_out=[on_out for _, on_out in per_term],
        term_d_net=[on_net for on_net, _ in per_term],
        d_input=on_input,
    )


def sample_gradients(
    shape: NetShape, params: Params, belows: list[Array], deltas: list[Array]
) -> Params:
    """Each sample's own dE/dW and dE/db (weight decay not included), ``(samples, ...)``.

    From each sample's deltas, pulled through its own layer inputs, so that the
    sequential order's samples add up to its gradient as the simultaneous order's do.
    """
    found = []
    for index in range(len(shape.layers)):

        def one(below: Array, delta: Array, index: int = index) -> LayerParams:
            return layer_gradient(shape, index, params[index], below[None], delta[None])

        found.append(jax.vmap(one)(belows[index], deltas[index]))
    return tuple(found)


class StepTrace(NamedTuple):
    """Every quantity of one step as arrays; per-layer lists start at layer 1."""

    inputs: Array
    nets: list[Array]
    outs: list[Array]
    slopes: list[Array]
    weighted: list[Array]
    """``(samples, size)``: the net inputs without their biases."""
    net_terms: list[Array]
    """``(samples, size, fan_in)``: ``w[j,i] * out_below[i]``."""
    terms: Array
    targets: Array
    """``(samples, outputs)``: the batch's targets (``error`` is ``t - o`` of the trace's o)."""
    sample_losses: Array
    loss: Array
    backward: Backward
    params: Params
    grads: Params
    sample_grads: Params
    changes: Params


def trace_step(
    shape: NetShape,
    params: Params,
    velocity: Params,
    inputs: Array,
    targets: Array,
    hyper: Hyper,
    indices: Array,
    updating: Array,
) -> StepTrace:
    """The full trace of one step with the given parameters (which it does not change).

    ``indices`` are the samples of the step's batch, in order.  ``updating`` says
    whether an update follows (the sequential order's lower-layer quantities then
    flow through the updated layers above).
    """
    if shape.batch != "full":
        inputs, targets = inputs[indices], targets[indices]
    nets, outs = jax.vmap(lambda sample: forward(shape, params, hyper.shapes, sample))(inputs)
    slopes = [
        jax.vmap(functools.partial(activation_slope, layer.activation, hyper.shapes[index]))(net)
        for index, (layer, net) in enumerate(zip(shape.layers, nets, strict=True))
    ]
    weighted = [
        jax.vmap(functools.partial(weighted_sum, weights))(below)
        for (weights, _), below in zip(params, outs, strict=False)
    ]
    net_terms = [
        jax.vmap(lambda below, weights=weights: weights * below)(below)
        for (weights, _), below in zip(params, outs, strict=False)
    ]
    terms = batch_terms(shape, hyper, outs[-1], targets)
    if shape.update_order == "sequential":
        update, backward = sequential_backward(
            shape, params, velocity, inputs, targets, hyper, updating
        )
    else:
        update = simultaneous_step(shape, params, velocity, inputs, targets, hyper)
        backward = simultaneous_backward(shape, params, inputs, targets, hyper)
    return StepTrace(
        inputs=inputs,
        nets=nets,
        outs=outs[1:],
        slopes=slopes,
        weighted=weighted,
        net_terms=net_terms,
        terms=terms,
        targets=targets,
        sample_losses=jnp.sum(terms, axis=1),
        loss=with_decay(shape, hyper, params, jnp.sum(terms)),
        backward=backward,
        params=params,
        grads=update.grads,
        sample_grads=sample_gradients(shape, params, outs, backward.delta),
        changes=update.changes,
    )


# --- compilation, once per shape ----------------------------------------------


class Compiled(NamedTuple):
    """The jitted functions for one :class:`NetShape`."""

    train: Callable[..., State]
    trace: Callable[..., StepTrace]


@functools.lru_cache(maxsize=32)
def compiled_for(shape: NetShape) -> Compiled:
    """Jit :func:`train` and :func:`trace_step` for ``shape``, over a batch of problems.

    Only ``shape`` is closed over.  Values, data, rates and step numbers are
    arguments, so problems of one shape share the compiled code (a float32 and
    a float64 problem have different shapes, so never share it; JAX's persistent
    cache keys on the program, dtypes included).  Parameters, velocities, data and
    :class:`Hyper` carry a leading axis of problems (one problem is a batch of
    one), mapped with ``lax.map``: each problem goes through the same
    per-problem code whatever the batch size, so a problem's trace is the same
    to the last bit alone or in a batch.  (``jax.vmap`` would vectorise across
    problems, and XLA then picks other kernels for other batch sizes: measured,
    the last bits of some architectures' values change.)  The trace is compiled
    once per batch length (a mini-batch epoch may end with a shorter batch).
    """

    def train_compiled(
        params: Params,
        velocity: Params,
        inputs: Array,
        targets: Array,
        hyper: Hyper,
        start: Array,
        stop: Array,
    ) -> State:
        TRACE_COUNTS["train"] += 1

        def one(problem: tuple[Params, Params, Array, Array, Hyper]) -> State:
            return train(shape, *problem, start, stop)

        trained: State = lax.map(one, (params, velocity, inputs, targets, hyper))
        return trained

    def trace_compiled(
        params: Params,
        velocity: Params,
        inputs: Array,
        targets: Array,
        hyper: Hyper,
        indices: Array,
        updating: Array,
    ) -> StepTrace:
        TRACE_COUNTS["trace"] += 1

        def one(problem: tuple[Params, Params, Array, Array, Hyper, Array]) -> StepTrace:
            return trace_step(shape, *problem, updating)

        traced: StepTrace = lax.map(one, (params, velocity, inputs, targets, hyper, indices))
        return traced

    return Compiled(jax.jit(train_compiled), jax.jit(trace_compiled))
