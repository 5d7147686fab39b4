"""How much float64 may round: a running error analysis of the forward and backward pass.

A finite difference divides the loss's rounding by its step, and an engine's
gradient carries rounding of its own; a check must allow both and no more.
Every tolerance therefore comes from bounds evaluated on the numbers at hand,
never from a constant tuned until tests pass:

* **rounding** of the loss is bounded by a running error analysis of the
  forward pass (``|fl(E) - E| ≤ δ``, computed alongside ``E``: the worst case,
  or for wide layers the probabilistic bound ``λ·u·sqrt(Σ (∂E/∂y · y)²)`` over
  the rounding events ``y``), and enters a difference quotient as
  ``Σ|cₖ| δ / hₖ`` for its stencil weights ``cₖ``;
* **the engine's own float64 rounding** in dE/dθ is bounded by the same running
  error analysis carried through back-propagation (``ε_g``): an engine is not
  failed for being float64.

(Truncation, the third term, belongs to each difference method: see
:mod:`bpcheck.gradcheck.differences`.)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpcheck.gradcheck.network import Network, activate, has_kink, loss_terms, t_log
from bpcheck.model.problem import Layer

if TYPE_CHECKING:
    from bpcheck.gradcheck.network import Array

with contextlib.suppress(ImportError):  # NumPy is an extra: see network.NUMPY_MISSING
    import numpy as np

UNIT_ROUNDOFF = 2.0**-53
"""u: float64 rounds every operation to within a relative u."""

UNDERFLOW = 2.0**-1074
"""The spacing of subnormal numbers: what underflow may lose, per operation."""

PROBABILISTIC_LAMBDA = 6.0
"""λ of the probabilistic bounds (Higham & Mary 2019): exceeded with probability 2e^(-λ²/2)."""

SAFETY = 2.0
"""Factor on the running error bounds, for the second-order terms a first-order analysis drops."""


def gamma(n: int) -> float:
    """Rounding bound of an n-term sum, relative to the sum of magnitudes."""
    return min(float(n), PROBABILISTIC_LAMBDA * math.sqrt(n)) * UNIT_ROUNDOFF


@dataclass(frozen=True)
class Rounding:
    """Bounds on float64 rounding at one point, from a running error analysis.

    ``loss``: on ``|fl(E) - E|`` for one evaluation of the loss (this module's
    or an engine's); ``gradient``: on an engine's rounding in each dE/dθ,
    including the representation of decimal data in binary; ``relu_nets`` and
    ``relu_errors``: every relu unit's net input and the bound on its rounding.
    """

    loss: float
    gradient: Array
    relu_nets: Array
    relu_errors: Array


@dataclass(frozen=True)
class _LossSlopes:
    """One loss's derivative by each output, with what its rounding analysis needs.

    ``sensitivity`` is ``Σ|parts of dl/do|`` (no cancellation), ``parts`` is
    ``Σ|parts of l|``, ``data`` the rounding of ``l`` from ``o``'s last rounding
    and the subtractions inside ``l``, in units of u, and ``slope_error(e_o)``
    bounds the rounding of ``dl/do`` given a bound ``e_o`` on ``o``'s.  Terms
    are written relative to ``o`` where ``t/o`` may be huge (saturated softmax),
    so that nothing overflows that the loss itself does not.
    """

    slope: Array
    sensitivity: Array
    parts: Array
    data: Array
    slope_error: Callable[[Array], Array]


def _loss_slopes(loss: str, o: Array, t: Array, count: int, objective: int = 0) -> _LossSlopes:
    u = UNIT_ROUNDOFF
    if loss == "output":
        # E is the objective's output itself: slope exactly 1 there, no rounding of its own.
        slope = np.where(np.arange(o.shape[-1]) == objective - 1, 1.0, 0.0) * np.ones_like(o)
        parts = np.abs(loss_terms(loss, o, t, count, objective))

        def exact(e_o: Array) -> Array:
            return np.zeros_like(e_o)

        return _LossSlopes(slope, slope, parts, np.zeros_like(o), exact)
    if loss in ("half_sse", "sse", "mse"):
        k = {"half_sse": 1.0, "sse": 2.0, "mse": 2.0 / count}[loss]
        slope = k * (o - t)
        magnitude = np.abs(o) + np.abs(t)
        parts = np.abs(loss_terms(loss, o, t, count))

        def squared(e_o: Array) -> Array:
            result: Array = k * (e_o + u * magnitude) + u * np.abs(slope)
            return result

        return _LossSlopes(slope, np.abs(slope), parts, np.abs(slope) * magnitude, squared)
    safe_o = np.where(t != 0.0, o, 1.0)
    first = np.where(t != 0.0, t / safe_o, 0.0)
    if loss == "softmax_ce":

        def cross_entropy(e_o: Array) -> Array:
            result: Array = np.abs(first) * (e_o / np.abs(safe_o) + 2 * u)
            return result

        return _LossSlopes(-first, np.abs(first), np.abs(t_log(t, o)), np.abs(t), cross_entropy)
    if loss == "bce":
        r = 1.0 - t
        safe_q = np.where(r != 0.0, 1.0 - o, 1.0)
        first_q = np.where(r != 0.0, r / safe_q, 0.0)
        slope = first_q - first
        parts = np.abs(t_log(t, o)) + np.abs(t_log(r, 1.0 - o))

        def binary(e_o: Array) -> Array:
            result: Array = (
                np.abs(first) * (e_o / np.abs(safe_o) + 2 * u)
                + np.abs(first_q) * (e_o / np.abs(safe_q) + 3 * u)
                + u * np.abs(slope)
            )
            return result

        sensitivity = np.abs(first) + np.abs(first_q)
        return _LossSlopes(slope, sensitivity, parts, np.abs(t) + np.abs(r), binary)
    raise ValueError(f"unknown loss {loss!r}")


def _activation_errors(
    layer: Layer, net: Array, out: Array, e_net: Array
) -> tuple[Array, Array, Array]:
    """``(e_out, slope, e_slope)``: the output's error bound and d out/d net with its bound.

    For softmax the slope is unused (its Jacobian is applied in the backward
    pass); elementwise slopes are the ones an engine computes, from out or net.
    """
    u = UNIT_ROUNDOFF
    name = layer.activation
    if name == "identity":
        return e_net, np.ones_like(net), np.zeros_like(net)
    if name in ("relu", "leaky_relu"):
        # A net input farther from 0 than its error keeps its side: an inactive relu's
        # output is exactly 0 whatever the rounding of its net input.
        low = 0.0 if name == "relu" else layer.slope
        slope = np.where(net > 0.0, 1.0, low)
        kept = np.abs(slope) * e_net + u * np.abs(low * net)
        either = max(1.0, abs(low)) * e_net + u * np.abs(low * net)
        return np.where(np.abs(net) > e_net, kept, either), slope, np.zeros_like(net)
    eta = 4 * UNDERFLOW
    if name == "elu":
        return _elu_errors(layer.alpha, net, out, e_net)
    if name == "softplus":
        # log(1 + e^z) as an engine may write it: 1 + e^z rounds by u (absolute, after log).
        slope = activate("sigmoid", net)
        e_out = slope * e_net + 4 * u * np.abs(out) + 2 * u + eta
        return e_out, slope, slope * (1.0 - slope) * e_net + 4 * u * slope + eta
    if name == "sigmoid":
        slope = out * (1.0 - out)
        e_out = slope * e_net + 4 * u * out + eta
        return e_out, slope, np.abs(1.0 - 2.0 * out) * e_out + 4 * u * slope + eta
    if name == "tanh":
        slope = 1.0 - out * out
        e_out = slope * e_net + 4 * u * np.abs(out) + eta
        return e_out, slope, 2.0 * np.abs(out) * e_out + 4 * u * slope + eta
    if name == "softmax":
        shifted = e_net + u * np.abs(net - net.max(axis=-1, keepdims=True))
        spread = (out * shifted).sum(axis=-1, keepdims=True)
        e_out = out * (shifted + spread) + (net.shape[-1] + 4) * (u * out + UNDERFLOW)
        return e_out, np.zeros_like(net), np.zeros_like(net)
    raise ValueError(f"unknown activation {name!r}")


def _elu_errors(alpha: float, net: Array, out: Array, e_net: Array) -> tuple[Array, Array, Array]:
    """elu's bounds: ``alpha (e^z - 1)`` below 0 (e^z, the subtraction, the product), z above;
    its slope ``alpha e^z`` (or ``out + alpha``, as an engine may take it from the output)."""
    u = UNIT_ROUNDOFF
    grown = alpha * np.exp(np.minimum(net, 0.0))
    slope = np.where(net > 0.0, 1.0, grown)
    below = grown * e_net + 4 * u * np.abs(grown) + u * (abs(alpha) + np.abs(out)) + 4 * UNDERFLOW
    kept = np.where(net > 0.0, e_net, below)
    e_out = np.where(np.abs(net) > e_net, kept, np.maximum(1.0, abs(alpha)) * e_net + below)
    e_slope = np.where(net > 0.0, 0.0, below + grown * e_net + 5 * u * np.abs(grown))
    return e_out, slope, e_slope


@dataclass
class _Pass:
    """One layer's forward values and error bounds, kept for the backward pass."""

    below: Array
    e_below: Array
    weights: Array
    net: Array
    magnitude: Array
    e_net: Array
    out: Array
    e_out: Array
    slope: Array
    e_slope: Array
    terms: int


def rounding(
    network: Network,
    theta: Array,
    *,
    gradients: bool = True,
    displacement: Array | None = None,
) -> Rounding:
    """Bound float64 rounding of the loss and (unless ``gradients`` is False) every dE/dθ.

    Each quantity carries a bound ``e`` on its absolute error, first-order
    but for products, which keep ``e(a)·e(b)`` (where float64 rounds both
    factors to 0, as the slope of a saturated tanh and the error of an output
    that fits its target exactly, that term is all there is):
    ``e(Σ wᵢaᵢ + b) ≤ Σ|wᵢ|e(aᵢ) + gamma(n+2)(Σ|wᵢaᵢ| + |b|)`` (the +2 covers the
    bias and the binary representation of decimal data), ``e(f(z)) ≤ |f'|e(z) +
    4u|f|`` for a library function, and products and sums likewise.  The
    backward pass is carried through with the same rules, so ``gradient`` bounds
    what any engine's float64 back-propagation may round, whatever its order.
    Underflow adds at most UNDERFLOW per operation, carried through like the
    rest: a gradient of 1e-316 computed from a subnormal δ of 1e-318 times a
    weight of 300 has lost 300 subnormal spacings, not one.

    With a ``displacement`` d, the bounds are those of the loss evaluated at
    ``θ + d`` the way :meth:`Network.forward` does: every net input a sum of
    twice as many terms, ``W a + b + (dW a + db)``.
    """
    u = UNIT_ROUNDOFF
    problem = network.problem
    passes: list[_Pass] = []
    out = network.inputs
    e_out = u * np.abs(out)
    layers = network.unpack(theta)
    moved = network.moves(displacement) if displacement is not None else None
    with np.errstate(all="ignore"):
        for index, (layer, (w, b)) in enumerate(zip(problem.layers, layers, strict=True)):
            net = out @ w.T + b
            size_w, size_b, terms = np.abs(w), np.abs(b), layer.fan_in + 2
            if moved is not None:
                dw, db = moved[index]
                net = net + (out @ dw.T + db)
                w = w + dw
                size_w, size_b, terms = size_w + np.abs(dw), size_b + np.abs(db), 2 * terms
            magnitude = np.abs(out) @ size_w.T + size_b
            e_net = e_out @ size_w.T + gamma(terms) * magnitude + terms * UNDERFLOW
            new_out = activate(layer.activation, net, layer)
            e_new, slope, e_slope = _activation_errors(layer, net, new_out, e_net)
            passes.append(
                _Pass(out, e_out, w, net, magnitude, e_net, new_out, e_new, slope, e_slope, terms)
            )
            out, e_out = new_out, e_new
        loss_bound, gradient = _backward_bounds(network, passes, gradients)
    relu = [p for p, layer in zip(passes, problem.layers) if has_kink(layer)]
    nets = np.concatenate([p.net.ravel() for p in relu]) if relu else np.zeros(0)
    errors = np.concatenate([p.e_net.ravel() for p in relu]) if relu else np.zeros(0)
    floor = UNDERFLOW * network.operations
    penalty_loss, penalty_gradient = _decay_bounds(network, theta, displacement)
    loss_bound += penalty_loss
    if gradients:
        gradient = gradient + penalty_gradient
    return Rounding(
        SAFETY * loss_bound + floor, SAFETY * gradient + floor, nets, SAFETY * errors + floor
    )


def _decay_bounds(
    network: Network, theta: Array, displacement: Array | None
) -> tuple[float, Array]:
    """Weight decay's share: ``λ/2 Σ w²`` (squares, a sum, a product, and its addition to E)
    and, per weight, the rounding of ``λw`` (the sum into dE/dw is in the layer's bound)."""
    decay = network.problem.weight_decay
    if decay == 0.0:
        return 0.0, np.zeros(network.size)
    u = UNIT_ROUNDOFF
    weights = network.weight_entries(theta)
    if displacement is not None:
        weights = np.abs(weights) + np.abs(network.weight_entries(displacement))
    penalty = decay / 2.0 * float((weights * weights).sum())
    loss = (gamma(weights.size + 3) + u) * penalty + 2 * u * penalty
    per_weight = np.zeros(network.size)
    for block in network.blocks:
        if block.kind == "w":
            values = theta[block.offset : block.offset + block.count]
            per_weight[block.offset : block.offset + block.count] = 2 * u * np.abs(decay * values)
    return loss, per_weight


def _backward_bounds(network: Network, passes: list[_Pass], gradients: bool) -> tuple[float, Array]:
    """The loss's rounding bound, and each gradient's, from the output layer down.

    The loss's bound is the smaller of the worst case (errors adding up) and
    the probabilistic one that wide layers need: rounding errors ``r`` taken as
    independent and mean-zero, ``|Σ cᵧrᵧ| ≤ λ·u·sqrt(Σ (cᵧ y)²)`` except with
    probability ``2 exp(-λ²/2)`` (Hoeffding), over every rounding event ``y``
    with its sensitivity ``cᵧ = ∂E/∂y`` (see :func:`_layer_events`).
    """
    u = UNIT_ROUNDOFF
    top = passes[-1]
    o, e_o, t = top.out, top.e_out, network.targets
    problem = network.problem
    slopes = _loss_slopes(problem.loss, o, t, network.count, problem.objective)
    slope, parts = slopes.slope, slopes.parts
    worst_case = float(
        (slopes.sensitivity * e_o + u * slopes.data + 4 * u * parts).sum()
        + gamma(parts.size) * parts.sum()
    )
    underflow = 8 * UNDERFLOW * parts.size
    events = [4 * parts, slopes.data, np.array([math.sqrt(parts.size) * parts.sum()])]
    d_out = slope
    e_slope = slopes.slope_error(e_o) + 4 * UNDERFLOW
    if network.problem.layers[-1].activation == "softmax":
        delta, e_delta = _softmax_delta_bounds(o, e_o, slope, e_slope)
    else:
        delta = slope * top.slope
        e_delta = np.abs(top.slope) * e_slope + np.abs(slope) * top.e_slope + u * np.abs(delta)
        e_delta += e_slope * top.e_slope + UNDERFLOW
    grads: list[tuple[Array, Array]] = []
    for index in range(len(passes) - 1, -1, -1):
        p = passes[index]
        events += _layer_events(network.problem.layers[index], p, delta, d_out)
        underflow += UNDERFLOW * float(p.terms * np.abs(delta).sum() + 4 * np.abs(d_out).sum())
        if gradients:
            grads.append(_parameter_bounds(p, delta, e_delta, problem.weight_decay != 0.0))
        if index:
            below = passes[index - 1]
            d_out = delta @ p.weights
            new_delta = d_out * below.slope
            if gradients:
                fan_out = p.weights.shape[0]
                e_d = e_delta @ np.abs(p.weights) + gamma(fan_out + 1) * (
                    np.abs(delta) @ np.abs(p.weights)
                )
                e_d += (fan_out + 1) * UNDERFLOW
                e_delta = (
                    np.abs(below.slope) * e_d
                    + np.abs(d_out) * below.e_slope
                    + e_d * below.e_slope
                    + u * np.abs(new_delta)
                    + UNDERFLOW
                )
            delta = new_delta
    # Underflow is not a mean-zero random error: its share is added in the worst case.
    noise = PROBABILISTIC_LAMBDA * u * _root_sum_of_squares(events) + underflow
    if not gradients:
        return min(worst_case, noise), np.zeros(0)
    return min(worst_case, noise), _flatten_bounds(network, grads[::-1])


def _parameter_bounds(
    p: _Pass, delta: Array, e_delta: Array, decay: bool = False
) -> tuple[Array, Array]:
    """Bounds on dE/dW = Σₛ δ aᵀ and the per-neuron dE/db = Σₛ δ of one layer.

    ``decay``: one more term is added to dE/dW (weight decay's λw), one more rounding.
    """
    samples = delta.shape[0] + (1 if decay else 0)
    e_w = e_delta.T @ np.abs(p.below) + np.abs(delta).T @ p.e_below + e_delta.T @ p.e_below
    e_w += gamma(samples + 1) * (np.abs(delta).T @ np.abs(p.below)) + (samples + 1) * UNDERFLOW
    e_b = e_delta.sum(axis=0) + gamma(samples + 1) * np.abs(delta).sum(axis=0)
    e_b += (samples + 1) * UNDERFLOW
    return e_w, e_b


def _layer_events(layer: Layer, p: _Pass, delta: Array, d_out: Array) -> list[Array]:
    """One layer's rounding events ``|∂E/∂y · y|`` (in units of u), each weighted by √count.

    A net input of n terms has about 2n roundings (``terms``; twice as many with a
    displacement), each at most ``M = Σ|wᵢaᵢ| + |b|``
    and each felt with ``δ = ∂E/∂net``; an activation rounds its output by a
    few u, felt with ``∂E/∂out``; softmax also rounds ``z - max z``.
    """
    events = [math.sqrt(p.terms) * np.abs(delta * p.magnitude)]
    rounding_of_out = {
        "sigmoid": 4.0,
        "tanh": 4.0,
        "softmax": layer.size + 4.0,
        "softplus": 4.0,
        "elu": 6.0,
        "leaky_relu": 1.0,
    }
    factor = rounding_of_out.get(layer.activation, 0.0)
    events.append(factor * np.abs(p.out * d_out))
    if layer.activation == "softplus":  # 1 + e^z rounds by u, after the log absolutely
        events.append(2.0 * np.abs(d_out))
    if layer.activation == "elu":  # e^z - 1 rounds by u of alpha, absolutely
        events.append(abs(layer.alpha) * np.abs(d_out) * (p.net <= 0.0))
    if layer.activation == "softmax":
        shift = np.abs(p.net - p.net.max(axis=-1, keepdims=True))
        events.append(np.abs(shift * delta))
    return events


def _root_sum_of_squares(events: list[Array]) -> float:
    """``sqrt(Σ x²)`` over every array, scaled so that neither tiny nor huge terms under- or
    overflow when squared (a loss of 1e-263 has rounding events of 1e-263)."""
    largest = max((float(np.max(e, initial=0.0)) for e in events), default=0.0)
    if not 0.0 < largest < math.inf:
        return largest
    total = sum(float(((e / largest) ** 2).sum()) for e in events)
    return largest * math.sqrt(total)


def _softmax_delta_bounds(o: Array, e_o: Array, g: Array, e_g: Array) -> tuple[Array, Array]:
    """``δ = o ⊙ (g - Σ o g)`` (softmax's Jacobian applied to dE/d out), with its bound."""
    u = UNIT_ROUNDOFF
    s = (o * g).sum(axis=-1, keepdims=True)
    e_s = (np.abs(o) * e_g + np.abs(g) * e_o).sum(axis=-1, keepdims=True)
    e_s += gamma(o.shape[-1]) * np.abs(o * g).sum(axis=-1, keepdims=True)
    e_s += 2 * o.shape[-1] * UNDERFLOW
    r = g - s
    e_r = e_g + e_s + u * np.abs(r)
    delta = o * r
    e_delta = np.abs(o) * e_r + e_o * np.abs(r) + e_o * e_r + u * np.abs(delta) + UNDERFLOW
    return delta, e_delta


def _flatten_bounds(network: Network, grads: list[tuple[Array, Array]]) -> Array:
    """Per-layer bounds on (dE/dW, per-neuron dE/db) laid out like ``theta``."""
    flat = np.zeros(network.size)
    for block in network.blocks:
        e_w, e_b = grads[block.layer]
        if block.kind == "w":
            flat[block.offset : block.offset + block.count] = e_w.ravel()
        elif network.problem.layers[block.layer].bias_kind == "shared":
            flat[block.offset] = (1.0 + gamma(e_b.size)) * e_b.sum()
        else:
            flat[block.offset : block.offset + block.count] = e_b
    return flat
