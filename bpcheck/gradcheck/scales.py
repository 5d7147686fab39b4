"""The scale on which the loss bends along each parameter: where finite-difference steps start.

A finite difference is only as good as its step.  Too large a step and the
truncation error swamps the derivative (or, worse, the stencil jumps over a
feature narrower than itself, where the error estimates understate it); too
small and the loss's rounding does.  The right step depends on how fast
dE/dθ changes along θ, which has nothing to do with ``|θ|``: a weight of 1e3
fed by an input of 1e-3 moves its unit's net input on a scale of 1e3, and a
weight of 1 fed by an input of 3000, on a scale of 1/3000.

This module estimates that scale from the network itself.  Along a weight
``w[n,j,i]`` the net input of unit ``j`` moves at the rate ``|aᵢ|`` (the input
the weight multiplies), linearly; the loss then meets, as that net input
travels, two kinds of limit (:class:`Rates`):

* **bend**: sigmoid, tanh and softmax change shape on a scale of 1 in their
  net input (their poles are π/2 away or more), the log of bce on the scale
  ``min(o, 1 - o)``; the step is ``eps^(1/3)`` (central) or ``eps^(1/5)``
  (Richardson) of that scale, the classic optimal steps with the scale 1
  replaced by the problem's;
* **reach**: a relu's kink, ``|net|`` away, and for the squared losses the
  size of the loss (once the outputs move by ``sqrt(Σ(|o| + |t|)²)`` it grows,
  and its rounding with it); the widest point of the stencil stays within
  half of that distance.

Limits downstream count through ``|f'(net)|·|W|`` (a saturated unit passes
little on, a large weight a lot), and rates add up (:func:`net_rates`); a
parameter's rate is the largest over the samples (:func:`parameter_rates`), a
direction's ``Σ|vₖ|κₖ``.  The rates are conservative: where they are (a
saturated sample beside a live one), the scan of
:func:`bpcheck.gradcheck.differences.probe` widens the step.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpcheck.gradcheck.network import Network, activate
from bpcheck.model.problem import Layer

with contextlib.suppress(ImportError):  # NumPy is an extra: see network.NUMPY_MISSING
    import numpy as np

if TYPE_CHECKING:
    from bpcheck.gradcheck.network import Array

EPSILON = 2.0**-52
"""Machine epsilon: the optimal steps are eps^(1/3) (central) and eps^(1/5) (R₂) of the scale."""

REACH_FRACTION = 0.5
"""The widest point of a stencil stays within this fraction of the distance ``1/reach``."""

SMALLEST_STEP = 2.0**-900
"""No step below this: ``t·v`` must not underflow (it would no longer be exact)."""

FARTHEST_START = 2.0**20
"""No scan starts further than this many times ``max(1, |θ|)`` (a saturated loss may bend on
a scale of 1e300); from there it goes up only while the bound improves."""

POLES = {"sigmoid": math.pi, "tanh": math.pi / 2, "softplus": math.pi}
"""How far off the real axis sigmoid and tanh have their nearest poles (at net = ±iπ and ±iπ/2;
softplus, log(1 + e^z), its branch points where sigmoid has its poles):
around a net input z their Taylor series converge within ``sqrt(pole² + z²)``, so a
saturated unit bends on the scale of its net input, not of 1.  Softmax has its singularities
where a unit's exp cancels the others' (see :func:`_log_sum_of_others`)."""


@dataclass(frozen=True)
class Rates:
    """Per unit of movement along a line, how fast the loss meets its two kinds of limit.

    ``bend``: smooth non-linearities (sigmoid, tanh, softmax, the logs of the
    cross-entropies), where a Taylor series holds on a scale ``1/bend`` and the
    step is a small fraction of it (``eps^(1/5)/bend``).  ``reach``: things the
    stencil must not reach but that do not bend the loss before it gets there:
    a relu's kink at ``|net|``, and for the squared losses the size of the loss
    (beyond ``1/reach`` its rounding grows with the outputs); the widest step
    stays within a fraction of ``1/reach``.
    """

    bend: Array
    reach: Array


def _inverse(distance: Array) -> Array:
    """``1/distance``, 0 where the distance is 0 (no limit: nothing to keep away from)."""
    safe = np.where(distance > 0.0, distance, 1.0)
    result: Array = np.where(distance > 0.0, 1.0 / safe, 0.0)
    return result


def _own_rates(activation: str, net: Array) -> tuple[Array, Array]:
    """(bend, reach) of a unit's own activation, per unit of its net input."""
    zero = np.zeros(net.shape)
    if activation in POLES:
        return 1.0 / np.hypot(POLES[activation], net), zero
    if activation == "softmax":
        return 1.0 / np.hypot(math.pi, net - _log_sum_of_others(net)), zero
    if activation in ("relu", "leaky_relu", "elu"):  # a kink at 0 (elu's second derivative)
        return zero, _inverse(np.abs(net))
    return zero, zero


def _log_sum_of_others(net: Array) -> Array:
    """``log Σ_{j≠k} exp(net_j)`` for every unit k of each row (-inf for a layer of one unit).

    Along its own net input z, ``log Σ exp`` is ``softplus(z - that) + const``:
    softmax bends within ``hypot(π, z - that)`` of z, a unit far below the
    others (or far above) on the scale of the gap.
    """
    others = np.empty(net.shape)
    for k in range(net.shape[-1]):
        rest = np.delete(net, k, axis=-1)
        others[..., k] = np.logaddexp.reduce(rest, axis=-1) if rest.shape[-1] else -np.inf
    return others


def _slopes(layer: Layer, net: Array, out: Array) -> Array:
    """``|f'(net)|`` (softmax: the diagonal of its Jacobian)."""
    activation = layer.activation
    if activation in ("sigmoid", "softmax"):
        result: Array = out * (1.0 - out)
        return result
    if activation == "tanh":
        result = 1.0 - out * out
        return result
    if activation == "relu":
        result = (out > 0.0).astype(np.float64)
        return result
    if activation == "leaky_relu":
        result = np.where(net > 0.0, 1.0, abs(layer.slope))
        return result
    if activation == "elu":
        result = np.where(net > 0.0, 1.0, abs(layer.alpha) * np.exp(np.minimum(net, 0.0)))
        return result
    if activation == "softplus":
        result = activate("sigmoid", net)
        return result
    return np.ones(out.shape)


def _loss_rates(loss: str, activation: str, out: Array, target: Array) -> tuple[Array, Array]:
    """(bend, reach) of the loss, per unit of each output.

    The squared losses do not bend beyond their square; their rounding grows
    with ``Σ(|o| + |t|)²`` once an output moves by the square root of it.  The
    cross-entropies bend where ``log o`` (and ``log(1 - o)``) do, on the scale
    ``o`` (``1 - o``); but as functions of the net input, ``log sigmoid(z)`` and
    ``log softmax`` have the poles of sigmoid and softmax, already counted, so
    only an output without them adds its rate here.
    """
    zero = np.zeros(out.shape)
    if loss in ("half_sse", "sse", "mse"):
        size = float(np.sqrt(((np.abs(out) + np.abs(target)) ** 2).sum()))
        return zero, _inverse(np.full(out.shape, size))
    if loss == "bce" and activation != "sigmoid":
        return _inverse(np.minimum(np.abs(out), np.abs(1.0 - out))), zero
    if loss == "softmax_ce" and activation != "softmax":
        return _inverse(np.where(target != 0.0, np.abs(out), 0.0)), zero
    return zero, zero


def net_rates(network: Network, theta: Array) -> list[Rates]:
    """For every layer, ``(samples, units)`` rates per unit of each net input.

    From the output layer down: a unit's own rates, plus the rates of the layer
    above weighted by ``|W|`` and the unit's slope ``|f'|`` (how far a move of
    this net input moves the ones above).
    """
    nets, outs = network.forward(theta)
    layers = network.problem.layers
    unpacked = network.unpack(theta)
    with np.errstate(all="ignore"):
        top = layers[-1]
        bend, reach = _own_rates(top.activation, nets[-1])
        if top.activation != "softmax":
            loss_bend, loss_reach = _loss_rates(
                network.problem.loss, top.activation, outs[-1], network.targets
            )
            slope = _slopes(top, nets[-1], outs[-1])
            bend, reach = bend + slope * loss_bend, reach + slope * loss_reach
        rates = [Rates(bend, reach)]
        for index in range(len(layers) - 2, -1, -1):
            through = np.abs(unpacked[index + 1][0])
            layer = layers[index]
            slope = _slopes(layer, nets[index + 1], outs[index + 1])
            own_bend, own_reach = _own_rates(layer.activation, nets[index + 1])
            above = rates[0]
            rates.insert(
                0,
                Rates(
                    own_bend + slope * (above.bend @ through),
                    own_reach + slope * (above.reach @ through),
                ),
            )
    return rates


def _per_parameter(network: Network, per_net: list[Array], outs: list[Array]) -> Array:
    """A parameter's rate: the largest over samples of its net input's rate times its pull."""
    flat = np.zeros(network.size)
    for block in network.blocks:
        rate = per_net[block.layer]
        if block.kind == "w":
            below = np.abs(outs[block.layer])
            values = (rate[:, :, None] * below[:, None, :]).max(axis=0).ravel()
        elif network.problem.layers[block.layer].bias_kind == "shared":
            values = np.array([rate.sum(axis=1).max()])
        else:
            values = rate.max(axis=0)
        flat[block.offset : block.offset + block.count] = values
    result: Array = np.where(np.isnan(flat), math.inf, flat)
    return result


def parameter_rates(network: Network, theta: Array) -> Rates:
    """Rates for every parameter, laid out like ``theta``.

    A weight moves its unit's net input at the rate of the input it
    multiplies, a bias at the rate 1 (a shared bias moves every net input of
    its layer).  0 means no limit of that kind along the parameter.
    """
    rates = net_rates(network, theta)
    _, outs = network.forward(theta)
    with np.errstate(all="ignore"):
        bend = _per_parameter(network, [r.bend for r in rates], outs)
        reach = _per_parameter(network, [r.reach for r in rates], outs)
    return Rates(bend, reach)


def direction_rates(network: Network, theta: Array, directions: Array) -> Rates:
    """Rates along each of ``directions`` (rows laid out like ``theta``), as arrays.

    Along a direction of all the parameters, the summed rates of
    :func:`parameter_rates` would count every unit once per parameter that
    moves it.  Instead every net input's speed along v is carried forward
    (``ṅet = f'(net_below)·ṅet_below·W + a·v_W + v_b``, the pulls of the
    parameters adding with their signs), and the loss meets a limit as soon
    as any unit does: the largest over units and samples of its own rate
    times its speed, and of the loss's.
    """
    nets, outs = network.forward(theta)
    layers = network.problem.layers
    unpacked = network.unpack(theta)
    bend, reach = np.zeros(len(directions)), np.zeros(len(directions))
    with np.errstate(all="ignore"):
        for k, v in enumerate(directions):
            moving = np.zeros(outs[0].shape)  # how fast the layer's inputs move along v
            line_bend, line_reach = 0.0, 0.0
            for index, (layer, (dw, db)) in enumerate(zip(layers, network.moves(v), strict=True)):
                speed = moving @ unpacked[index][0].T + outs[index] @ dw.T + db
                own_bend, own_reach = _own_rates(layer.activation, nets[index + 1])
                line_bend = max(line_bend, float((own_bend * np.abs(speed)).max()))
                line_reach = max(line_reach, float((own_reach * np.abs(speed)).max()))
                moving = _slopes(layer, nets[index + 1], outs[index + 1]) * speed
            if layers[-1].activation != "softmax":
                loss_bend, loss_reach = _loss_rates(
                    network.problem.loss, layers[-1].activation, outs[-1], network.targets
                )
                line_bend = max(line_bend, float((loss_bend * np.abs(moving)).max()))
                line_reach = max(line_reach, float((loss_reach * np.abs(moving)).max()))
            bend[k], reach[k] = line_bend, line_reach
    return Rates(
        np.where(np.isnan(bend), math.inf, bend), np.where(np.isnan(reach), math.inf, reach)
    )


def power_of_two_step(target: float) -> float:
    """The power of two nearest ``target``: ``t·v`` is then exact for any direction v."""
    return 2.0 ** round(math.log2(target))


def scaled_step(power: float, bend: float, reach: float, widest: float, at: float) -> float:
    """The starting step along a line whose loss bends at ``bend`` and meets limits at ``reach``.

    ``eps^power / bend`` (the optimal step for a function whose scale is
    ``1/bend``), with the widest point of the stencil, ``widest·h``, within
    REACH_FRACTION of ``1/reach``; a power of two.  With neither limit the loss
    is a polynomial of degree 2 along the line, exact for any step, and the
    scan of :func:`bpcheck.gradcheck.differences.probe` finds how far its
    rounding allows: it starts from ``eps^power·max(1, |at|)``.  Never beyond
    FARTHEST_START of ``max(1, |at|)``.
    """
    bend, reach = (math.inf if math.isnan(r) else r for r in (bend, reach))
    limits = []
    if bend > 0.0:
        limits.append(EPSILON**power / bend)
    if reach > 0.0:
        limits.append(REACH_FRACTION / (widest * reach))
    size = max(1.0, abs(at))
    target = min([*limits, FARTHEST_START * size]) if limits else EPSILON**power * size
    if not math.isfinite(target) or target < SMALLEST_STEP:
        return SMALLEST_STEP
    return power_of_two_step(target)


def step_ceiling(bend: float, widest: float) -> float:
    """The widest step worth trying: the stencil's widest point within ``1/bend``.

    Beyond the scale on which the loss bends, its Taylor series (on which
    every truncation estimate rests) no longer describes it: a stencil there
    sees features it jumps over, or a loss gone flat whose differences fall
    like 1/h towards 0 whatever the derivative.  inf when nothing bends.
    """
    if math.isnan(bend) or math.isinf(bend):
        return SMALLEST_STEP
    return 1.0 / (widest * bend) if bend > 0.0 else math.inf
