"""Finite differences of the loss: ``central``, ``richardson`` and ``directional``.

Each estimates a derivative from a table of central differences at steps
h, 2h, 4h... and says how far off it may be.  **Truncation** is estimated from
the difference between two levels of the same stencil: ``|D(h) - D(2h)|`` for
``central`` (three times its truncation ``h² f'''/6``), ``|R₂ - R₁(h)|`` for
``richardson`` (the error of the lower order, so at least that of the result);
rounding comes from :mod:`bpcheck.gradcheck.error_model`.

A relu unit whose net input is 0, or crosses 0 within the stencil, makes the
loss non-differentiable there: that parameter is reported as a ``kink`` with
its one-sided derivatives, neither passed nor failed.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bpcheck.gradcheck.error_model import PROBABILISTIC_LAMBDA, Rounding, gamma, rounding
from bpcheck.gradcheck.network import Network
from bpcheck.gradcheck.result import Row, make_row

with contextlib.suppress(ImportError):  # NumPy is an extra: see network.NUMPY_MISSING
    import numpy as np

if TYPE_CHECKING:
    from bpcheck.gradcheck.network import Array

EPSILON = 2.0**-52
"""Machine epsilon, the scale of the optimal steps: h ~ eps^(1/3) (central), eps^(1/5) (R₂)."""

DIRECTIONS = 4
"""Random unit directions of a directional check."""

SHRINK = 64.0
"""When a relu net crosses 0 inside a stencil, retry with steps this much smaller ..."""

SHRINK_ATTEMPTS = 3
"""... this many times, before calling the parameter a kink."""


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
        dot_rounding = gamma(network.size) * float(np.abs(gradient) @ np.abs(v))
        estimate = found.estimate
        tolerance = estimate.truncation + estimate.rounding + engine_rounding + dot_rounding
        rows.append(
            make_row(f"direction[{k}]", projection, estimate.value, tolerance, found.one_sided)
        )
    return rows
