"""Gradient checks: finite differences of the loss, an opinion no engine wrote.

Engines can agree and all be wrong in the same way.  This module differentiates
the loss numerically, with a forward pass and loss of its own (NumPy float64 for
the ``central``, ``richardson`` and ``directional`` methods; mpmath at 40 digits
for the ``mpmath`` reference), and compares every engine's dE/dθ with it.  It
imports no engine, so a mistake an engine shares with the others cannot hide.

Every tolerance comes from an error model evaluated on the numbers at hand,
never from a constant tuned until tests pass:

* **truncation** of a finite difference is estimated from the difference
  between two levels of the same stencil: ``|D(h) - D(2h)|`` for ``central``
  (three times its truncation ``h² f'''/6``), ``|R₂ - R₁(h)|`` for ``richardson``
  (the error of the lower order, so at least that of the result);
* **rounding** of the loss is bounded by a running error analysis of the
  forward pass (``|fl(E) - E| ≤ δ``, computed alongside ``E``: the worst case,
  or for wide layers the probabilistic bound ``λ·u·sqrt(Σ (∂E/∂y · y)²)`` over
  the rounding events ``y``), and enters a difference quotient as
  ``Σ|cₖ| δ / hₖ`` for its stencil weights ``cₖ``;
* **the engine's own float64 rounding** in dE/dθ is bounded by the same running
  error analysis carried through back-propagation (``ε_g``): an engine is not
  failed for being float64.

A check fails when ``|engine - reference| > tolerance``.  A relu unit whose net
input is 0, or crosses 0 within the stencil, makes the loss non-differentiable
there: that parameter is reported as a ``kink`` with its one-sided derivatives,
neither passed nor failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mpmath

from bpcheck import __version__
from bpcheck.checking.check import ERRORED, FAILED, OK, SKIPPED
from bpcheck.checking.results import text_table
from bpcheck.cli.inputs import engines_and_fixtures
from bpcheck.model import quantities as q
from bpcheck.model.engine import CannotRun, Engine, required_capabilities
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import Layer, Problem, batch_of_step

try:
    import numpy as np
except ImportError:  # NumPy is an extra: the CLI must start without it
    NUMPY_MISSING: str | None = "gradient checks need NumPy: pip install 'bpcheck[numpy]'"
else:
    NUMPY_MISSING = None

if TYPE_CHECKING:
    import numpy.typing as npt

    Array = npt.NDArray[np.float64]

METHODS = ("central", "richardson", "directional", "mpmath")
"""Finite-difference methods; ``auto`` picks ``richardson``, or ``directional`` for big networks."""

AUTO_DIRECTIONAL_ABOVE = 1000
"""``auto`` checks along random directions when a network has more parameters than this."""

DIRECTIONS = 4
"""Random unit directions of a directional check."""

UNIT_ROUNDOFF = 2.0**-53
"""u: float64 rounds every operation to within a relative u."""

UNDERFLOW = 2.0**-1074
"""The spacing of subnormal numbers: what underflow may lose, per operation."""

EPSILON = 2.0**-52
"""Machine epsilon, the scale of the optimal steps: h ~ eps^(1/3) (central), eps^(1/5) (R₂)."""

PROBABILISTIC_LAMBDA = 6.0
"""λ of the probabilistic bounds (Higham & Mary 2019): exceeded with probability 2e^(-λ²/2)."""

SAFETY = 2.0
"""Factor on the running error bounds, for the second-order terms a first-order analysis drops."""

MP_DIGITS = 40
"""Working precision of the mpmath reference (decimal digits)."""

MP_REFERENCE_ERROR = 1e-30
"""Relative error allowed to the mpmath reference: mp.diff works to about MP_DIGITS digits ...

... of the loss, too: its difference quotient rounds by about 10^-MP_DIGITS·|E|, which
matters only for a derivative 10^30 times smaller than E (a saturated unit)."""

SHRINK = 64.0
"""When a relu net crosses 0 inside a stencil, retry with steps this much smaller ..."""

SHRINK_ATTEMPTS = 3
"""... this many times, before calling the parameter a kink."""

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One parameter (or, for a directional check, one direction) checked.

    ``tolerance`` is absolute, in the units of the gradient: the row passes when
    ``abs_error <= tolerance``.  ``rel_error`` is ``abs_error`` over the larger of
    the two magnitudes (0 when both are 0).  A ``kink`` carries the one-sided
    derivatives ``(left, right)`` of the loss at the parameter.
    """

    parameter: str
    engine_value: float
    reference: float
    abs_error: float
    rel_error: float
    tolerance: float
    status: str
    one_sided: tuple[float, float] | None = None


@dataclass
class GradcheckResult:
    """One engine's gradient checked at one step of one problem."""

    engine: str
    step: int
    method: str
    rows: list[Row]
    outcome: str
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.outcome == OK

    @property
    def worst_relative_error(self) -> float:
        """The largest relative error over rows that are not kinks (0.0 when there is none)."""
        errors = [r.rel_error for r in self.rows if r.status != "kink"]
        return max(errors, default=0.0)


def make_row(
    parameter: str,
    engine_value: float,
    reference: float,
    tolerance: float,
    one_sided: tuple[float, float] | None = None,
) -> Row:
    """A row with its errors and status; a non-finite value always fails."""
    abs_error = abs(engine_value - reference)
    scale = max(abs(engine_value), abs(reference))
    rel_error = abs_error / scale if scale > 0 else (0.0 if abs_error == 0 else math.inf)
    if one_sided is not None:
        status = "kink"
    elif math.isfinite(abs_error) and math.isfinite(tolerance) and abs_error <= tolerance:
        status = "pass"
    else:
        status = "fail"
    return Row(
        parameter, engine_value, reference, abs_error, rel_error, tolerance, status, one_sided
    )


def outcome_of(rows: list[Row]) -> str:
    return FAILED if any(r.status == "fail" for r in rows) else OK


# --- the problem's batch as float64 arrays ------------------------------------------------


def _gamma(n: int) -> float:
    """Rounding bound of an n-term sum, relative to the sum of magnitudes."""
    return min(float(n), PROBABILISTIC_LAMBDA * math.sqrt(n)) * UNIT_ROUNDOFF


@dataclass(frozen=True)
class Block:
    """Where one layer's weights or trainable biases sit in the flat parameter vector."""

    layer: int
    kind: str
    offset: int
    shape: tuple[int, int]

    @property
    def count(self) -> int:
        return self.shape[0] * self.shape[1]


class Network:
    """A problem's forward pass and loss over one batch, written here, in float64.

    The trainable parameters (weights, then the layer's trainable bias, layer by
    layer, weights row by row) form one flat vector ``theta``, so that a finite
    difference can move one parameter or a direction of all of them.
    """

    def __init__(self, problem: Problem, batch: Sequence[int]) -> None:
        self.problem = problem
        self.batch = tuple(batch)
        self.inputs = np.array([problem.inputs[s] for s in batch], dtype=np.float64)
        self.targets = np.array([problem.targets[s] for s in batch], dtype=np.float64)
        self.count = problem.n_outputs * len(batch)
        self.operations = len(batch) * sum(
            layer.size * (layer.fan_in + 4) for layer in problem.layers
        )
        self.blocks: list[Block] = []
        self.frozen_bias: list[Array] = []
        values: list[Array] = []
        offset = 0
        for index, layer in enumerate(problem.layers):
            weights = np.array(layer.weights, dtype=np.float64).reshape(layer.size, layer.fan_in)
            self.blocks.append(Block(index, "w", offset, weights.shape))
            values.append(weights.ravel())
            offset += weights.size
            bias = np.array(layer.bias, dtype=np.float64)
            if layer.bias_kind != "none" and layer.bias_trainable:
                self.blocks.append(Block(index, "b", offset, (1, bias.size)))
                values.append(bias)
                offset += bias.size
            self.frozen_bias.append(bias)
        self.theta: Array = np.concatenate(values) if values else np.zeros(0)

    @property
    def size(self) -> int:
        return int(self.theta.size)

    def name(self, index: int) -> str:
        """The canonical name of entry ``index`` of ``theta``."""
        for block in self.blocks:
            if block.offset <= index < block.offset + block.count:
                local = index - block.offset
                if block.kind == "w":
                    j, i = divmod(local, block.shape[1])
                    return q.weight(block.layer + 1, j + 1, i + 1)
                shared = self.problem.layers[block.layer].bias_kind == "shared"
                return q.bias(block.layer + 1, None if shared else local + 1)
        raise IndexError(index)

    def names(self) -> list[str]:
        return [self.name(index) for index in range(self.size)]

    def unpack(self, theta: Array) -> list[tuple[Array, Array]]:
        """(weights, bias added to each neuron) per layer; views into ``theta``."""
        weights: list[Array] = []
        biases = list(self.frozen_bias)
        for block in self.blocks:
            values = theta[block.offset : block.offset + block.count]
            if block.kind == "w":
                weights.append(values.reshape(block.shape))
            else:
                biases[block.layer] = values
        result = []
        for layer, w, b in zip(self.problem.layers, weights, biases, strict=True):
            added = (
                np.zeros(layer.size)
                if layer.bias_kind == "none"
                else np.broadcast_to(b, (layer.size,))
            )
            result.append((w, added))
        return result

    def forward(self, theta: Array) -> tuple[list[Array], list[Array]]:
        """Net inputs and outputs of every layer (``outs[0]`` is the input batch)."""
        nets: list[Array] = [self.inputs]
        outs: list[Array] = [self.inputs]
        with np.errstate(all="ignore"):
            for layer, (w, b) in zip(self.problem.layers, self.unpack(theta), strict=True):
                net = outs[-1] @ w.T + b
                nets.append(net)
                outs.append(activate(layer.activation, net))
        return nets, outs

    def evaluate(self, theta: Array) -> tuple[float, Array]:
        """The loss, and the net inputs of every relu unit (to see kinks)."""
        nets, outs = self.forward(theta)
        with np.errstate(all="ignore"):
            loss = float(loss_terms(self.problem.loss, outs[-1], self.targets, self.count).sum())
        relu = [
            n.ravel()
            for n, layer in zip(nets[1:], self.problem.layers)
            if layer.activation == "relu"
        ]
        return loss, (np.concatenate(relu) if relu else np.zeros(0))

    def loss(self, theta: Array) -> float:
        return self.evaluate(theta)[0]


def activate(name: str, net: Array) -> Array:
    """The activations of the problem model, written for this module alone."""
    if name == "identity":
        return net
    if name == "sigmoid":
        result: Array = 1.0 / (1.0 + np.exp(-net))
        return result
    if name == "tanh":
        return np.tanh(net)
    if name == "relu":
        return np.where(net > 0.0, net, 0.0)
    if name == "softmax":
        exps = np.exp(net - net.max(axis=-1, keepdims=True))
        result = exps / exps.sum(axis=-1, keepdims=True)
        return result
    raise ValueError(f"unknown activation {name!r}")


def _t_log(t: Array, o: Array) -> Array:
    """``t log o`` with the limit ``0 log 0 = 0``."""
    result: Array = np.where(t != 0.0, t * np.log(np.where(t != 0.0, o, 1.0)), 0.0)
    return result


def loss_terms(loss: str, out: Array, target: Array, count: int) -> Array:
    """Each output's term of the loss, ``(samples, outputs)``; ``count`` divides mse."""
    if loss == "half_sse":
        result: Array = 0.5 * (target - out) ** 2
    elif loss == "sse":
        result = (target - out) ** 2
    elif loss == "mse":
        result = (target - out) ** 2 / count
    elif loss == "bce":
        result = -(_t_log(target, out) + _t_log(1.0 - target, 1.0 - out))
    elif loss == "softmax_ce":
        result = -_t_log(target, out)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return result


# --- rounding: a running error analysis of forward and backward pass ------------------------


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


def _loss_slopes(loss: str, o: Array, t: Array, count: int) -> _LossSlopes:
    u = UNIT_ROUNDOFF
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

        return _LossSlopes(-first, np.abs(first), np.abs(_t_log(t, o)), np.abs(t), cross_entropy)
    if loss == "bce":
        r = 1.0 - t
        safe_q = np.where(r != 0.0, 1.0 - o, 1.0)
        first_q = np.where(r != 0.0, r / safe_q, 0.0)
        slope = first_q - first
        parts = np.abs(_t_log(t, o)) + np.abs(_t_log(r, 1.0 - o))

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
    name: str, net: Array, out: Array, e_net: Array
) -> tuple[Array, Array, Array]:
    """``(e_out, slope, e_slope)``: the output's error bound and d out/d net with its bound.

    For softmax the slope is unused (its Jacobian is applied in the backward
    pass); elementwise slopes are the ones an engine computes, from out or net.
    """
    u = UNIT_ROUNDOFF
    if name in ("identity", "relu"):
        slope = np.ones_like(net) if name == "identity" else (net > 0.0).astype(np.float64)
        return e_net, slope, np.zeros_like(net)
    if name == "sigmoid":
        slope = out * (1.0 - out)
        e_out = slope * e_net + 4 * u * out
        return e_out, slope, np.abs(1.0 - 2.0 * out) * e_out + 4 * u * slope
    if name == "tanh":
        slope = 1.0 - out * out
        e_out = slope * e_net + 4 * u * np.abs(out)
        return e_out, slope, 2.0 * np.abs(out) * e_out + 4 * u * slope
    if name == "softmax":
        shifted = e_net + u * np.abs(net - net.max(axis=-1, keepdims=True))
        spread = (out * shifted).sum(axis=-1, keepdims=True)
        e_out = out * (shifted + spread) + (net.shape[-1] + 4) * u * out
        return e_out, np.zeros_like(net), np.zeros_like(net)
    raise ValueError(f"unknown activation {name!r}")


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


def rounding(network: Network, theta: Array, *, gradients: bool = True) -> Rounding:
    """Bound float64 rounding of the loss and (unless ``gradients`` is False) every dE/dθ.

    Each quantity carries a first-order bound ``e`` on its absolute error:
    ``e(Σ wᵢaᵢ + b) ≤ Σ|wᵢ|e(aᵢ) + gamma(n+2)(Σ|wᵢaᵢ| + |b|)`` (the +2 covers the
    bias and the binary representation of decimal data), ``e(f(z)) ≤ |f'|e(z) +
    4u|f|`` for a library function, and products and sums likewise.  The
    backward pass is carried through with the same rules, so ``gradient`` bounds
    what any engine's float64 back-propagation may round, whatever its order.
    Underflow adds at most UNDERFLOW per operation.
    """
    u = UNIT_ROUNDOFF
    problem = network.problem
    passes: list[_Pass] = []
    out = network.inputs
    e_out = u * np.abs(out)
    with np.errstate(all="ignore"):
        for layer, (w, b) in zip(problem.layers, network.unpack(theta), strict=True):
            net = out @ w.T + b
            magnitude = np.abs(out) @ np.abs(w).T + np.abs(b)
            e_net = e_out @ np.abs(w).T + _gamma(layer.fan_in + 2) * magnitude
            new_out = activate(layer.activation, net)
            e_new, slope, e_slope = _activation_errors(layer.activation, net, new_out, e_net)
            passes.append(
                _Pass(out, e_out, w, net, magnitude, e_net, new_out, e_new, slope, e_slope)
            )
            out, e_out = new_out, e_new
        loss_bound, gradient = _backward_bounds(network, passes, gradients)
    relu = [p for p, layer in zip(passes, problem.layers) if layer.activation == "relu"]
    nets = np.concatenate([p.net.ravel() for p in relu]) if relu else np.zeros(0)
    errors = np.concatenate([p.e_net.ravel() for p in relu]) if relu else np.zeros(0)
    floor = UNDERFLOW * network.operations
    return Rounding(
        SAFETY * loss_bound + floor, SAFETY * gradient + floor, nets, SAFETY * errors + floor
    )


def _backward_bounds(network: Network, passes: list[_Pass], gradients: bool) -> tuple[float, Array]:
    """The loss's rounding bound, and each gradient's, from the output layer down.

    The loss's bound is the smaller of the worst case (errors adding up) and
    the probabilistic one that wide layers need: rounding errors ``r`` taken as
    independent and mean-zero, ``|Σ cᵧrᵧ| ≤ λ·u·sqrt(Σ (cᵧ y)²)`` except with
    probability ``2 exp(-λ²/2)`` (Hoeffding), over every rounding event ``y``
    with its sensitivity ``cᵧ = ∂E/∂y`` (see :func:`_layer_variance`).
    """
    u = UNIT_ROUNDOFF
    top = passes[-1]
    o, e_o, t = top.out, top.e_out, network.targets
    slopes = _loss_slopes(network.problem.loss, o, t, network.count)
    slope, parts = slopes.slope, slopes.parts
    worst_case = float(
        (slopes.sensitivity * e_o + u * slopes.data + 4 * u * parts).sum()
        + _gamma(parts.size) * parts.sum()
    )
    loss_events = (4 * parts) ** 2 + slopes.data**2
    variance = float(loss_events.sum() + parts.size * parts.sum() ** 2)
    d_out = slope
    e_slope = slopes.slope_error(e_o)
    if network.problem.layers[-1].activation == "softmax":
        delta, e_delta = _softmax_delta_bounds(o, e_o, slope, e_slope)
    else:
        delta = slope * top.slope
        e_delta = np.abs(top.slope) * e_slope + np.abs(slope) * top.e_slope + u * np.abs(delta)
    grads: list[tuple[Array, Array]] = []
    for index in range(len(passes) - 1, -1, -1):
        p = passes[index]
        variance += _layer_variance(network.problem.layers[index], p, delta, d_out)
        if gradients:
            grads.append(_parameter_bounds(p, delta, e_delta))
        if index:
            below = passes[index - 1]
            d_out = delta @ p.weights
            new_delta = d_out * below.slope
            if gradients:
                e_d = e_delta @ np.abs(p.weights) + _gamma(p.weights.shape[0] + 1) * (
                    np.abs(delta) @ np.abs(p.weights)
                )
                e_delta = (
                    np.abs(below.slope) * e_d
                    + np.abs(d_out) * below.e_slope
                    + u * np.abs(new_delta)
                )
            delta = new_delta
    noise = PROBABILISTIC_LAMBDA * u * math.sqrt(variance)
    if not gradients:
        return min(worst_case, noise), np.zeros(0)
    return min(worst_case, noise), _flatten_bounds(network, grads[::-1])


def _parameter_bounds(p: _Pass, delta: Array, e_delta: Array) -> tuple[Array, Array]:
    """Bounds on dE/dW = Σₛ δ aᵀ and the per-neuron dE/db = Σₛ δ of one layer."""
    samples = delta.shape[0]
    e_w = e_delta.T @ np.abs(p.below) + np.abs(delta).T @ p.e_below
    e_w += _gamma(samples + 1) * (np.abs(delta).T @ np.abs(p.below))
    e_b = e_delta.sum(axis=0) + _gamma(samples + 1) * np.abs(delta).sum(axis=0)
    return e_w, e_b


def _layer_variance(layer: Layer, p: _Pass, delta: Array, d_out: Array) -> float:
    """One layer's share of ``Σ (∂E/∂y · y)²`` over its rounding events y (in units of u²).

    A net input of n terms has 2n roundings, each at most ``M = Σ|wᵢaᵢ| + |b|``
    and each felt with ``δ = ∂E/∂net``; an activation rounds its output by a
    few u, felt with ``∂E/∂out``; softmax also rounds ``z - max z``.
    """
    variance = float(((layer.fan_in + 2) * (delta * p.magnitude) ** 2).sum())
    rounding_of_out = {"sigmoid": 4.0, "tanh": 4.0, "softmax": layer.size + 4.0}
    factor = rounding_of_out.get(layer.activation, 0.0)
    variance += float(((factor * p.out * d_out) ** 2).sum())
    if layer.activation == "softmax":
        shift = np.abs(p.net - p.net.max(axis=-1, keepdims=True))
        variance += float(((shift * delta) ** 2).sum())
    return variance


def _softmax_delta_bounds(o: Array, e_o: Array, g: Array, e_g: Array) -> tuple[Array, Array]:
    """``δ = o ⊙ (g - Σ o g)`` (softmax's Jacobian applied to dE/d out), with its bound."""
    u = UNIT_ROUNDOFF
    s = (o * g).sum(axis=-1, keepdims=True)
    e_s = (np.abs(o) * e_g + np.abs(g) * e_o).sum(axis=-1, keepdims=True)
    e_s += _gamma(o.shape[-1]) * np.abs(o * g).sum(axis=-1, keepdims=True)
    r = g - s
    e_r = e_g + e_s + u * np.abs(r)
    delta = o * r
    return delta, np.abs(o) * e_r + e_o * np.abs(r) + u * np.abs(delta)


def _flatten_bounds(network: Network, grads: list[tuple[Array, Array]]) -> Array:
    """Per-layer bounds on (dE/dW, per-neuron dE/db) laid out like ``theta``."""
    flat = np.zeros(network.size)
    for block in network.blocks:
        e_w, e_b = grads[block.layer]
        if block.kind == "w":
            flat[block.offset : block.offset + block.count] = e_w.ravel()
        elif network.problem.layers[block.layer].bias_kind == "shared":
            flat[block.offset] = (1.0 + _gamma(e_b.size)) * e_b.sum()
        else:
            flat[block.offset : block.offset + block.count] = e_b
    return flat


# --- finite differences ---------------------------------------------------------------------


def power_of_two_step(target: float) -> float:
    """The power of two nearest ``target``: θ ± h is then exact for most θ."""
    return 2.0 ** round(math.log2(target))


@dataclass(frozen=True)
class Estimate:
    """A derivative estimated by a finite-difference table, with its error terms."""

    value: float
    truncation: float
    rounding: float


def richardson_table(differences: list[float], noises: list[float], levels: int) -> Estimate:
    """Extrapolate central differences ``D(h), D(2h), D(4h)...`` ``levels`` times.

    ``T[k][m] = (4^m T[k][m-1] - T[k+1][m-1]) / (4^m - 1)`` removes the h^(2m)
    term.  The truncation estimate is, as in Ridders' method, the larger change
    from the two entries of the level below, ``T[0][m-1]`` and ``T[1][m-1]``
    (for ``levels = 0``, ``|D(h) - D(2h)|``, three times the truncation of
    ``D(h)``): the errors of a lower order, at least that of the result even
    when the steps are too large for the leading term to dominate.  Rounding
    noise is carried through the same weights: ``Σ|cₖ| noiseₖ``.
    """
    table, noise = list(differences), list(noises)
    below = table[:2]
    for m in range(1, levels + 1):
        factor = 4.0**m
        below = table[:2]
        table = [(factor * a - b) / (factor - 1) for a, b in itertools.pairwise(table)]
        noise = [(factor * a + b) / (factor - 1) for a, b in itertools.pairwise(noise)]
    truncation = max(abs(table[0] - value) for value in below)
    return Estimate(table[0], truncation, noise[0])


class Line:
    """The points ``θ + t·e`` along one parameter (``e`` a unit vector) or a direction."""

    def __init__(self, network: Network, theta: Array, along: int | Array) -> None:
        self.network, self.theta, self.along = network, theta, along

    def point(self, offset: float) -> Array:
        if isinstance(self.along, int):
            point = self.theta.copy()
            point[self.along] = self.theta[self.along] + offset
            return point
        moved: Array = self.theta + offset * self.along
        return moved

    def evaluate(self, offset: float) -> tuple[float, float, Array]:
        """(the offset exactly taken, the loss there, the relu net inputs there)."""
        point = self.point(offset)
        loss, nets = self.network.evaluate(point)
        if isinstance(self.along, int):
            offset = float(point[self.along] - self.theta[self.along])
        return offset, loss, nets

    def noise(self, offset: float) -> float:
        """The loss's rounding bound at ``θ + offset·e``."""
        return rounding(self.network, self.point(offset), gradients=False).loss


def _stencil(
    line: Line, h: float, count: int, base_noise: float
) -> tuple[list[float], list[float], list[Array], dict[float, float]]:
    """Central differences at h, 2h, ... 2^(count-1) h, their rounding bounds, relu nets.

    The loss's rounding bound is taken as the largest at the centre and the two
    ends: magnitudes can grow along the line (from a point where they vanish).
    """
    widest = h * 2.0 ** (count - 1)
    loss_noise = max(base_noise, line.noise(widest), line.noise(-widest))
    differences, noises, nets = [], [], []
    values: dict[float, float] = {}
    for k in range(count):
        step = h * 2.0**k
        up, f_up, nets_up = line.evaluate(step)
        down, f_down, nets_down = line.evaluate(-step)
        values[step], values[-step] = f_up, f_down
        differences.append((f_up - f_down) / (up - down))
        noises.append(2.0 * loss_noise / (up - down))
        nets.extend([nets_up, nets_down])
    return differences, noises, nets, values


def _crosses_zero(base: Array, errors: Array, nets: list[Array]) -> bool:
    """Whether a relu net input changes side within the stencil, or sits within rounding of 0."""
    if base.size == 0:
        return False
    positive = base > 0.0
    moved = np.zeros(base.shape, dtype=bool)
    for other in nets:
        if np.any((other > 0.0) != positive):
            return True
        moved |= other != base
    return bool(np.any(moved & (np.abs(base) <= errors)))


@dataclass(frozen=True)
class Probe:
    """One finite-difference reference: the estimate and, at a kink, one-sided derivatives."""

    estimate: Estimate
    one_sided: tuple[float, float] | None


def probe(line: Line, h: float, levels: int, base: tuple[float, Array], bounds: Rounding) -> Probe:
    """Differentiate along one line, shrinking the step away from relu kinks.

    When a relu net input crosses 0 within the stencil the loss is not smooth
    there; the step is cut by SHRINK up to SHRINK_ATTEMPTS times.  If it still
    crosses (the net input is 0, or within rounding of it), the result is a
    kink with second-order one-sided differences at the smallest step.
    """
    count = max(levels + 1, 2)
    f0, nets0 = base
    for attempt in range(SHRINK_ATTEMPTS):
        step = h / SHRINK**attempt
        differences, noises, nets, values = _stencil(line, step, count, bounds.loss)
        estimate = richardson_table(differences, noises, levels)
        if not _crosses_zero(nets0, bounds.relu_errors, nets):
            return Probe(estimate, None)
    right = (-3.0 * f0 + 4.0 * values[step] - values[2 * step]) / (2.0 * step)
    left = (3.0 * f0 - 4.0 * values[-step] + values[-2 * step]) / (2.0 * step)
    return Probe(estimate, (left, right))


def per_parameter_rows(
    network: Network, gradient: Array, method: str, bounds: Rounding
) -> list[Row]:
    """``central`` (h ≈ eps^(1/3)·max(1,|θ|), no extrapolation) or ``richardson`` (two levels)."""
    theta = network.theta
    levels, power = (0, 1.0 / 3.0) if method == "central" else (2, 1.0 / 5.0)
    base = network.evaluate(theta)
    rows = []
    for index in range(network.size):
        h = power_of_two_step(EPSILON**power * max(1.0, abs(float(theta[index]))))
        found = probe(Line(network, theta, index), h, levels, base, bounds)
        estimate = found.estimate
        tolerance = estimate.truncation + estimate.rounding + float(bounds.gradient[index])
        rows.append(
            make_row(
                network.name(index),
                float(gradient[index]),
                estimate.value,
                tolerance,
                found.one_sided,
            )
        )
    return rows


def unit_directions(size: int, count: int, seed: int) -> Array:
    """``count`` seeded random directions of unit length (Gaussian, then normalised)."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((count, size))
    result: Array = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    return result


def _projected(bound: Array, v: Array) -> float:
    """A bound on ``|v · e|`` for any error ``e`` with ``|eᵢ| ≤ boundᵢ``.

    Linear in the worst case; but ``v`` is uniformly random on the unit sphere,
    independent of the engine's rounding, so ``|v · e| ≤ λ‖e‖/√n`` except with
    probability ``2 exp(-λ²/2)`` (concentration on the sphere), far smaller
    for large n.
    """
    linear = float(np.abs(v) @ bound)
    spherical = PROBABILISTIC_LAMBDA * float(np.linalg.norm(bound)) / math.sqrt(v.size)
    return min(linear, spherical)


def check_directional(
    network: Network,
    gradient: Array,
    *,
    seed: int = 0,
    directions: int = DIRECTIONS,
    bounds: Rounding | None = None,
) -> list[Row]:
    """Compare ``gradient · v`` with the derivative of the loss along unit directions ``v``.

    The step is ``t ≈ eps^(1/5)·max(1, ‖θ‖)`` with two Richardson levels.  The
    tolerance adds the engine's rounding projected on ``v`` (:func:`_projected`)
    and the rounding of the dot product itself.
    """
    theta = network.theta
    bounds = bounds if bounds is not None else rounding(network, theta)
    h = power_of_two_step(EPSILON**0.2 * max(1.0, float(np.linalg.norm(theta))))
    base = network.evaluate(theta)
    rows = []
    for k, v in enumerate(unit_directions(network.size, directions, seed), start=1):
        found = probe(Line(network, theta, v), h, 2, base, bounds)
        projection = float(gradient @ v)
        engine_rounding = _projected(bounds.gradient, v)
        dot_rounding = _gamma(network.size) * float(np.abs(gradient) @ np.abs(v))
        estimate = found.estimate
        tolerance = estimate.truncation + estimate.rounding + engine_rounding + dot_rounding
        rows.append(
            make_row(f"direction[{k}]", projection, estimate.value, tolerance, found.one_sided)
        )
    return rows


# --- the mpmath reference ---------------------------------------------------------------------


Decimals = Mapping[str, Decimal | str | float | int]
"""Exact values by name, read as decimal text (``str(value)``): parameters (``w[1,1,1]``,
``b[2]``, ``b[2,1]``), inputs (``out[0,i]@s``) and targets (``target[k]@s``), ``s`` the
1-based sample of the problem.  Anything not named is taken at its float's exact value."""


class MpNetwork:
    """The same network at MP_DIGITS digits in mpmath, from exact decimals where known.

    A separate small implementation: float64 results are checked against a value
    that float64 rounding never touched.
    """

    def __init__(
        self, problem: Problem, batch: Sequence[int], names: list[str], decimals: Decimals
    ) -> None:
        mp = mpmath.mp
        self.problem = problem
        self.count = problem.n_outputs * len(batch)

        def exact(name: str, value: float) -> Any:
            given = decimals.get(name)
            return mp.mpf(str(given)) if given is not None else mp.mpf(value)

        with mp.workdps(MP_DIGITS):
            self.inputs = [
                [
                    exact(q.neuron("out", 0, i + 1, s + 1), x)
                    for i, x in enumerate(problem.inputs[s])
                ]
                for s in batch
            ]
            self.targets = [
                [exact(f"target[{k + 1}]@{s + 1}", t) for k, t in enumerate(problem.targets[s])]
                for s in batch
            ]
            self.weights = [
                [
                    [exact(q.weight(n, j + 1, i + 1), w) for i, w in enumerate(row)]
                    for j, row in enumerate(layer.weights)
                ]
                for n, layer in enumerate(problem.layers, start=1)
            ]
            self.biases = [
                [exact(_bias_name(layer, n, j), b) for j, b in enumerate(layer.bias)]
                for n, layer in enumerate(problem.layers, start=1)
            ]
        self.slots = [self._slot(name) for name in names]

    def _slot(self, name: str) -> tuple[list[Any], int]:
        """The list and position holding parameter ``name``."""
        indices = [int(p) - 1 for p in name[name.index("[") + 1 : -1].split(",")]
        if name.startswith("w"):
            return self.weights[indices[0]][indices[1]], indices[2]
        return self.biases[indices[0]], indices[1] if len(indices) > 1 else 0

    def value(self, index: int) -> Any:
        holder, position = self.slots[index]
        return holder[position]

    def loss_with(self, index: int, value: Any) -> Any:
        """The loss with parameter ``index`` set to ``value`` (the others as they are)."""
        holder, position = self.slots[index]
        kept = holder[position]
        holder[position] = value
        try:
            return self.loss()
        finally:
            holder[position] = kept

    def loss(self) -> Any:
        mp = mpmath.mp
        total = mp.mpf(0)
        for x, t in zip(self.inputs, self.targets, strict=True):
            out = x
            for layer, weights, bias in zip(
                self.problem.layers, self.weights, self.biases, strict=True
            ):
                added = _mp_bias(layer, bias)
                nets = [
                    mp.fsum(w * a for w, a in zip(row, out)) + added[j]
                    for j, row in enumerate(weights)
                ]
                out = _mp_activate(layer.activation, nets)
            total += mp.fsum(
                _mp_term(self.problem.loss, tk, ok, self.count) for tk, ok in zip(t, out)
            )
        return total


def _bias_name(layer: Layer, number: int, j: int) -> str:
    return q.bias(number, None if layer.bias_kind == "shared" else j + 1)


def _mp_bias(layer: Layer, bias: list[Any]) -> list[Any]:
    if layer.bias_kind == "none":
        return [0] * layer.size
    if layer.bias_kind == "shared":
        return [bias[0]] * layer.size
    return bias


def _mp_activate(name: str, nets: list[Any]) -> list[Any]:
    mp = mpmath.mp
    if name == "identity":
        return nets
    if name == "sigmoid":
        return [1 / (1 + mp.exp(-z)) for z in nets]
    if name == "tanh":
        return [mp.tanh(z) for z in nets]
    if name == "relu":
        return [z if z > 0 else mp.mpf(0) for z in nets]
    if name == "softmax":
        exps = [mp.exp(z) for z in nets]
        total = mp.fsum(exps)
        return [e / total for e in exps]
    raise ValueError(f"unknown activation {name!r}")


def _mp_t_log(t: Any, o: Any) -> Any:
    return 0 if t == 0 else t * mpmath.mp.log(o)


def _mp_term(loss: str, t: Any, o: Any, count: int) -> Any:
    if loss == "half_sse":
        return (t - o) ** 2 / 2
    if loss == "sse":
        return (t - o) ** 2
    if loss == "mse":
        return (t - o) ** 2 / count
    if loss == "bce":
        return -(_mp_t_log(t, o) + _mp_t_log(1 - t, 1 - o))
    if loss == "softmax_ce":
        return -_mp_t_log(t, o)
    raise ValueError(f"unknown loss {loss!r}")


def mpmath_rows(
    network: Network, gradient: Array, bounds: Rounding, decimals: Decimals | None
) -> list[Row]:
    """dE/dθ by mpmath.diff at MP_DIGITS digits: the tolerance is the engine's rounding alone.

    A relu unit whose net input is within its float64 rounding bound of 0 (so
    an engine may put it on either side) and moves with the parameter makes
    that parameter a kink, with mpmath's one-sided derivatives.
    """
    mp = mpmath.mp
    names = network.names()
    reference = MpNetwork(network.problem, network.batch, names, decimals or {})
    theta = network.theta
    base_nets = bounds.relu_nets
    rows = []
    with mp.workdps(MP_DIGITS):
        noise = float(abs(reference.loss())) * 10.0**-MP_DIGITS
        for index, name in enumerate(names):
            x = reference.value(index)

            def f(value: Any, index: int = index) -> Any:
                return reference.loss_with(index, value)

            value = float(mp.diff(f, x))
            one_sided = None
            if _near_kink(network, theta, index, base_nets, bounds.relu_errors):
                one_sided = _mp_one_sided(f, x)
            tolerance = float(bounds.gradient[index]) + MP_REFERENCE_ERROR * abs(value) + noise
            rows.append(make_row(name, float(gradient[index]), value, tolerance, one_sided))
    return rows


def _mp_one_sided(f: Callable[[Any], Any], x: Any) -> tuple[float, float]:
    """Left and right derivatives, with a step (2^-(prec/2)) far above the representation
    error of the decimals in binary (2^-prec), which may move the kink off ``x`` by that much."""
    mp = mpmath.mp
    h = mp.ldexp(1, -mp.prec // 2) * max(1, abs(x))
    return float(mp.diff(f, x, direction=-1, h=h)), float(mp.diff(f, x, direction=1, h=h))


def _near_kink(network: Network, theta: Array, index: int, nets: Array, errors: Array) -> bool:
    """A relu net input within rounding of 0 that the parameter moves."""
    if nets.size == 0 or not np.any(np.abs(nets) <= errors):
        return False
    h = power_of_two_step(EPSILON ** (1.0 / 3.0) * max(1.0, abs(float(theta[index]))))
    point = theta.copy()
    point[index] += h
    moved = network.evaluate(point)[1] != nets
    return bool(np.any(moved & (np.abs(nets) <= errors)))


# --- the public checks --------------------------------------------------------------------------


def resolve_method(method: str, parameters: int) -> str:
    """``auto``: directional above AUTO_DIRECTIONAL_ABOVE parameters, otherwise richardson."""
    if method == "auto":
        return "directional" if parameters > AUTO_DIRECTIONAL_ABOVE else "richardson"
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected auto or one of {', '.join(METHODS)}")
    return method


def parameter_count(problem: Problem) -> int:
    """Trainable parameters: every weight, and the biases that are trained."""
    count = 0
    for layer in problem.layers:
        count += layer.size * layer.fan_in
        if layer.bias_trainable and layer.bias_kind != "none":
            count += len(layer.bias)
    return count


def _cannot_run(engine: Engine, problem: Problem) -> str | None:
    """Why an engine is skipped for this problem, or None."""
    status = engine.available()
    if not status.available:
        return status.reason or "unavailable"
    missing = required_capabilities(problem) - engine.capabilities
    if missing:
        return f"cannot do {', '.join(sorted(missing))}"
    return NUMPY_MISSING


def check_gradients(
    engine: Engine,
    problem: Problem,
    *,
    method: str = "auto",
    seed: int = 0,
    decimals: Decimals | None = None,
) -> GradcheckResult:
    """Check the engine's dE/dθ at step 0 of ``problem`` (its parameters as given).

    The engine runs the problem with no update (``steps=0``), so that its
    gradient is the plain gradient of the step-0 batch's loss whatever the
    update order.  ``decimals`` gives exact values for the ``mpmath`` reference
    (see :data:`Decimals`); without it the floats' exact binary values are used.
    Never raises for an engine's failure: that is the ``errored`` outcome.
    """
    chosen = resolve_method(method, parameter_count(problem))
    reason = _cannot_run(engine, problem)
    if reason is not None:
        return GradcheckResult(engine.name, 0, chosen, [], SKIPPED, reason)
    network = Network(problem, batch_of_step(problem, 0))
    gradient = _engine_gradient(engine, problem, network)
    if isinstance(gradient, GradcheckResult):
        return replace(gradient, method=chosen)
    bounds = rounding(network, network.theta)
    if not (math.isfinite(network.loss(network.theta)) and math.isfinite(bounds.loss)):
        why = "the loss is not finite at these parameters: no finite-difference reference"
        return GradcheckResult(engine.name, 0, chosen, [], SKIPPED, why)
    if chosen == "directional":
        rows = check_directional(network, gradient, seed=seed, bounds=bounds)
    elif chosen == "mpmath":
        rows = mpmath_rows(network, gradient, bounds, decimals)
    else:
        rows = per_parameter_rows(network, gradient, chosen, bounds)
    unusable = next((r.parameter for r in rows if not _judgeable(r)), None)
    if unusable is not None:
        why = f"float64 overflows near these parameters (along {unusable}): no reference"
        return GradcheckResult(engine.name, 0, chosen, rows, SKIPPED, why)
    return GradcheckResult(engine.name, 0, chosen, rows, outcome_of(rows))


def _judgeable(row: Row) -> bool:
    """A finite reference and tolerance: otherwise the loss or its bounds overflowed."""
    return math.isfinite(row.reference) and math.isfinite(row.tolerance)


def _engine_gradient(engine: Engine, problem: Problem, network: Network) -> Array | GradcheckResult:
    """The engine's dE/dθ at step 0 laid out like ``theta``, or the result saying why not."""
    try:
        trace = engine.run(replace(problem, steps=0), {0})
        values = trace[0]
        gradient = np.array([float(values["dE_d" + name]) for name in network.names()])
    except CannotRun as error:
        return GradcheckResult(engine.name, 0, "", [], SKIPPED, str(error))
    except KeyError as error:
        return GradcheckResult(engine.name, 0, "", [], ERRORED, f"the trace lacks {error.args[0]}")
    except Exception as error:  # an engine's bug is a result to report, not a crash
        return GradcheckResult(engine.name, 0, "", [], ERRORED, f"{type(error).__name__}: {error}")
    result: Array = gradient
    return result


# --- fixtures: step 0 and the trained parameters --------------------------------------------


def fixture_decimals(fixture: Fixture) -> dict[str, Decimal]:
    """The fixture's numbers as the exact decimals written in its file.

    The file is read again with ``parse_float=Decimal`` (the loader's floats are
    already rounded to binary).  An entry whose decimal no longer rounds to the
    loaded float (the file changed since) is left out: the float is used.
    """
    try:
        raw = json.loads(fixture.path.read_text("utf-8"), parse_float=Decimal)["problem"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    problem = fixture.problem
    found: dict[str, Decimal] = {}

    def put(name: str, written: Any, loaded: float) -> None:
        if isinstance(written, Decimal | int) and float(written) == loaded:
            found[name] = Decimal(written)

    for s, (row, targets) in enumerate(zip(raw.get("inputs", []), raw.get("targets", [])), 1):
        for i, x in enumerate(row):
            put(q.neuron("out", 0, i + 1, s), x, problem.inputs[s - 1][i])
        for k, t in enumerate(targets):
            put(f"target[{k + 1}]@{s}", t, problem.targets[s - 1][k])
    for n, (spec, layer) in enumerate(zip(raw.get("layers", []), problem.layers), start=1):
        for j, row in enumerate(spec.get("weights", [])):
            for i, w in enumerate(row):
                put(q.weight(n, j + 1, i + 1), w, layer.weights[j][i])
        for j, b in enumerate(spec.get("bias", {}).get("values", [])):
            put(_bias_name(layer, n, j), b, layer.bias[j])
    return found


def with_parameters(problem: Problem, values: Mapping[str, float]) -> Problem:
    """A copy of ``problem`` whose weights and biases are read from ``values`` by name."""
    layers = []
    for n, layer in enumerate(problem.layers, start=1):
        weights = tuple(
            tuple(float(values[q.weight(n, j + 1, i + 1)]) for i in range(layer.fan_in))
            for j in range(layer.size)
        )
        bias = tuple(float(values[_bias_name(layer, n, j)]) for j in range(len(layer.bias)))
        layers.append(replace(layer, weights=weights, bias=bias))
    return replace(problem, layers=tuple(layers))


def trained_problem(problem: Problem, trace_step: Mapping[str, float]) -> Problem:
    """The problem at step ``problem.steps``, as a problem of its own at step 0.

    Parameters come from the engine's trace; with per-sample updates the batch
    of step ``steps`` is one sample, which becomes the only one so that step 0
    uses it.
    """
    trained = replace(with_parameters(problem, trace_step), steps=0)
    if problem.batch == "per_sample":
        (sample,) = batch_of_step(problem, problem.steps)
        trained = replace(
            trained, inputs=(problem.inputs[sample],), targets=(problem.targets[sample],)
        )
    return trained


def _data_decimals(problem: Problem, decimals: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Only the inputs and targets of ``decimals``, renumbered like :func:`trained_problem`."""
    keep = {k: v for k, v in decimals.items() if k.startswith(("out[0,", "target["))}
    if problem.batch != "per_sample":
        return keep
    (sample,) = batch_of_step(problem, problem.steps)
    suffix = f"@{sample + 1}"
    return {k.replace(suffix, "@1"): v for k, v in keep.items() if k.endswith(suffix)}


def gradcheck_fixture(
    fixture: Fixture, engines: dict[str, Engine], *, method: str = "auto"
) -> list[GradcheckResult]:
    """Every engine's gradient at step 0 and, for multi-step fixtures, at step ``steps``.

    At step ``steps`` each engine is checked at the parameters it trained
    itself (read from its trace), so that a long run's end point is checked too.
    A fixture is multi-step when it makes more than one update.
    """
    problem = fixture.problem
    decimals = fixture_decimals(fixture)
    results = []
    for engine in engines.values():
        results.append(check_gradients(engine, problem, method=method, decimals=decimals))
        if problem.steps > 1:
            results.append(_check_trained(engine, problem, method, decimals))
    return results


def _check_trained(
    engine: Engine, problem: Problem, method: str, decimals: Mapping[str, Decimal]
) -> GradcheckResult:
    steps = problem.steps
    chosen = resolve_method(method, parameter_count(problem))
    reason = _cannot_run(engine, problem)
    if reason is not None:
        return GradcheckResult(engine.name, steps, chosen, [], SKIPPED, reason)
    try:
        values = engine.run(problem, {steps})[steps]
        trained = trained_problem(problem, values)
    except CannotRun as error:
        return GradcheckResult(engine.name, steps, chosen, [], SKIPPED, str(error))
    except KeyError as error:
        why = f"the trace at step {steps} lacks {error.args[0]}"
        return GradcheckResult(engine.name, steps, chosen, [], ERRORED, why)
    except Exception as error:  # an engine's bug is a result to report, not a crash
        why = f"{type(error).__name__}: {error}"
        return GradcheckResult(engine.name, steps, chosen, [], ERRORED, why)
    data = _data_decimals(problem, decimals)
    return replace(check_gradients(engine, trained, method=method, decimals=data), step=steps)


# --- the command ---------------------------------------------------------------------------


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    return value if math.isfinite(value) else None


def results_json(entries: list[tuple[Fixture, GradcheckResult]]) -> dict[str, Any]:
    """The ``gradcheck --json`` document (floats at full precision)."""
    return {
        "bpcheck": __version__,
        "gradcheck": [
            {
                "fixture": fixture.id,
                "path": str(fixture.path),
                "engine": result.engine,
                "step": result.step,
                "method": result.method,
                "outcome": result.outcome,
                "reason": result.reason,
                "worst_relative_error": _finite(result.worst_relative_error),
                "rows": [_row_json(row) for row in result.rows],
            }
            for fixture, result in entries
        ],
    }


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "parameter": row.parameter,
        "engine": _finite(row.engine_value),
        "reference": _finite(row.reference),
        "abs_error": _finite(row.abs_error),
        "rel_error": _finite(row.rel_error),
        "tolerance": _finite(row.tolerance),
        "status": row.status,
        "one_sided": None if row.one_sided is None else [_finite(v) for v in row.one_sided],
    }


ROW_HEADERS = ["parameter", "engine", "reference", "abs error", "rel error", "tolerance", "status"]


def row_cells(row: Row) -> list[str]:
    status = row.status
    if row.one_sided is not None:
        status += f" (left {row.one_sided[0]:.10g}, right {row.one_sided[1]:.10g})"
    return [
        row.parameter,
        f"{row.engine_value:.15g}",
        f"{row.reference:.15g}",
        f"{row.abs_error:.2e}",
        f"{row.rel_error:.2e}",
        f"{row.tolerance:.2e}",
        status,
    ]


def summary_line(fixture: Fixture, result: GradcheckResult) -> str:
    """``mazur-2015  loops  step 0  richardson  ok  8 checked, worst rel error 1.2e-13``."""
    head = f"{fixture.id}  {result.engine}  step {result.step}  {result.method}  {result.outcome}"
    if result.reason:
        return f"{head}  {result.reason}"
    counts = {s: sum(r.status == s for r in result.rows) for s in ("pass", "fail", "kink")}
    detail = f"{len(result.rows)} checked, worst rel error {result.worst_relative_error:.1e}"
    extra = ", ".join(f"{n} {s}" for s, n in counts.items() if n and s != "pass")
    return f"{head}  {detail}" + (f" ({extra})" if extra else "")


def cmd_gradcheck(args: argparse.Namespace) -> int:
    engines, fixtures = engines_and_fixtures(args.engine, args.paths)
    entries: list[tuple[Fixture, GradcheckResult]] = []
    for fixture in fixtures:
        for result in gradcheck_fixture(fixture, engines, method=args.method):
            entries.append((fixture, result))
            print(summary_line(fixture, result))
            if not args.quiet and result.rows:
                print(text_table(ROW_HEADERS, [row_cells(r) for r in result.rows]) + "\n")
    if args.json:
        document = json.dumps(results_json(entries), indent=1) + "\n"
        try:
            Path(args.json).write_text(document, "utf-8")
        except OSError as error:
            print(f"--json: cannot write {args.json}: {error.strerror or error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    outcomes = [result.outcome for _, result in entries]
    counts = ", ".join(f"{outcomes.count(o)} {o}" for o in (OK, FAILED, ERRORED, SKIPPED))
    print(f"\n{len(fixtures)} fixture(s), {len(entries)} gradient check(s): {counts}")
    return EXIT_FAILED if FAILED in outcomes or ERRORED in outcomes else EXIT_OK


def register(commands: Any) -> None:
    """Add the ``gradcheck`` sub-command to the CLI's sub-parsers."""
    parser = commands.add_parser(
        "gradcheck", help="check every engine's gradients against finite differences of the loss"
    )
    parser.add_argument("paths", nargs="+", help="fixture files or folders (searched recursively)")
    parser.add_argument("--engine", action="append", help="only this engine (repeatable)")
    parser.add_argument(
        "--method",
        choices=("auto", *METHODS),
        default="auto",
        help="auto: richardson, or directional above "
        f"{AUTO_DIRECTIONAL_ABOVE} parameters (default: auto)",
    )
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument(
        "--quiet", action="store_true", help="one summary line per fixture, engine and step"
    )
    parser.set_defaults(handler=cmd_gradcheck)
