"""The ``mpmath`` reference: the loss at 40 digits, from the decimals the fixture wrote.

A separate, small implementation of the forward pass in mpmath, so that
float64 results are checked against a value float64 rounding never touched;
the tolerance is then the engine's own rounding alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import mpmath

from bpcheck.gradcheck.error_model import UNIT_ROUNDOFF, Rounding
from bpcheck.gradcheck.network import Network, bias_name
from bpcheck.gradcheck.result import Row, make_row
from bpcheck.gradcheck.scales import Rates, parameter_rates, scaled_step
from bpcheck.model import quantities as q
from bpcheck.model.problem import Layer, Problem

with contextlib.suppress(ImportError):  # NumPy is an extra: see network.NUMPY_MISSING
    import numpy as np

if TYPE_CHECKING:
    from bpcheck.gradcheck.network import Array

MP_DIGITS = 40
"""Working precision of the mpmath reference (decimal digits)."""

MP_REFERENCE_ERROR = 1e-30
"""Relative error allowed to the mpmath reference: the truncation of its tiny step, and the
decimals held to MP_DIGITS digits (which move the point by 10^-MP_DIGITS of each value)."""

MP_STEP_BITS = 10
"""The central difference's step is 2^-(p + MP_STEP_BITS), p the bits of MP_DIGITS digits ..."""

MP_WORK_FACTOR = 2
"""... and the loss is evaluated at MP_WORK_FACTOR·(p + 2·MP_STEP_BITS) bits there (as mp.diff
does), so that the step is far above the rounding and far below any scale of the loss."""

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
                [exact(bias_name(layer, n, j), b) for j, b in enumerate(layer.bias)]
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
                out = _mp_activate(layer, nets)
            total += mp.fsum(
                _mp_term(self.problem, k, tk, ok, self.count)
                for k, (tk, ok) in enumerate(zip(t, out), start=1)
            )
        return total + self._penalty()

    def _penalty(self) -> Any:
        """Weight decay's ``λ/2 Σ w²`` over the weights."""
        mp = mpmath.mp
        decay = self.problem.weight_decay
        if decay == 0.0:
            return mp.mpf(0)
        squares = mp.fsum(w * w for layer in self.weights for row in layer for w in row)
        return mp.mpf(decay) / 2 * squares


def _mp_bias(layer: Layer, bias: list[Any]) -> list[Any]:
    if layer.bias_kind == "none":
        return [0] * layer.size
    if layer.bias_kind == "shared":
        return [bias[0]] * layer.size
    return bias


def _mp_activate(layer: Layer, nets: list[Any]) -> list[Any]:
    mp = mpmath.mp
    name = layer.activation
    if name == "leaky_relu":
        return [z if z > 0 else mp.mpf(layer.slope) * z for z in nets]
    if name == "elu":
        return [z if z > 0 else mp.mpf(layer.alpha) * mp.expm1(z) for z in nets]
    if name == "softplus":
        return [mp.log1p(mp.exp(z)) for z in nets]
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


def _mp_term(problem: Problem, k: int, t: Any, o: Any, count: int) -> Any:
    """Output ``k``'s (1-based) term of the loss."""
    loss = problem.loss
    if loss == "output":
        return o if k == problem.objective else 0
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


def _precision() -> tuple[int, int]:
    """(the bits of MP_DIGITS digits, the working bits of the difference quotient)."""
    with mpmath.mp.workdps(MP_DIGITS):
        bits = int(mpmath.mp.prec)
    return bits, MP_WORK_FACTOR * (bits + 2 * MP_STEP_BITS)


def reference_floor(bounds: Rounding) -> float:
    """The absolute error of the reference from the loss's rounding at the working precision.

    The float64 running bound on the loss's rounding, scaled from u to the
    working precision, over the step: a gradient too small to move E by that
    much over the step (a saturated unit's, 1e-270 next to E = 1) is checked
    only to this floor.
    """
    bits, work = _precision()
    return float(bounds.loss / UNIT_ROUNDOFF * 2.0 ** (bits + MP_STEP_BITS - work))


def mpmath_rows(
    network: Network, gradient: Array, bounds: Rounding, decimals: Decimals | None
) -> list[Row]:
    """dE/dθ by a central difference at high precision: the tolerance is the engine's rounding.

    Plus the reference's own error: MP_REFERENCE_ERROR relative, and its floor
    (:func:`reference_floor`).  A relu unit whose net input is within its
    float64 rounding bound of 0 (so an engine may put it on either side) and
    moves with the parameter makes that parameter a kink, with mpmath's
    one-sided derivatives.
    """
    mp = mpmath.mp
    names = network.names()
    reference = MpNetwork(network.problem, network.batch, names, decimals or {})
    reference.count = network.count  # mse's divisor: a sample's loss keeps its batch's
    theta = network.theta
    rates = parameter_rates(network, theta)
    rows = []
    noise = reference_floor(bounds)
    bits, work = _precision()
    with mp.workdps(MP_DIGITS):
        for index, name in enumerate(names):
            x = reference.value(index)

            def f(value: Any, index: int = index) -> Any:
                return reference.loss_with(index, value)

            with mp.workprec(work):
                h = mp.ldexp(1, -(bits + MP_STEP_BITS))
                value = float((f(x + h) - f(x - h)) / (2 * h))
            one_sided = None
            if _near_kink(network, index, bounds, rates):
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


def _near_kink(network: Network, index: int, bounds: Rounding, rates: Rates) -> bool:
    """A kinked unit's net input (relu, leaky_relu, elu) within rounding of 0 that the parameter
    moves (by a step of its scale)."""
    nets, errors = bounds.relu_nets, bounds.relu_errors
    if nets.size == 0 or not np.any(np.abs(nets) <= errors):
        return False
    theta = network.theta
    bend, reach = float(rates.bend[index]), float(rates.reach[index])
    h = scaled_step(1.0 / 3.0, bend, reach, 2.0, float(theta[index]))
    moved = np.zeros(theta.shape)
    moved[index] = h
    shifted = network.evaluate(theta, moved)[1] != nets
    return bool(np.any(shifted & (np.abs(nets) <= errors)))
