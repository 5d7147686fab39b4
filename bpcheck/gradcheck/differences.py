"""Finite differences of the loss: ``central``, ``richardson`` and ``directional``.

Each estimates a derivative from a table of central differences at steps
h, 2h, 4h... and says how far off it may be.  **Truncation** is estimated from
the difference between two levels of the same stencil: ``|D(h) - D(2h)|`` for
``central`` (three times its truncation ``h² f'''/6``), ``|R₂ - R₁(h)|`` for
``richardson`` (the error of the lower order, so at least that of the result);
rounding comes from :mod:`bpcheck.gradcheck.error_model`.

**The step** follows the scale on which the loss bends along the line, not
``|θ|``: :mod:`bpcheck.gradcheck.scales` gives a starting step from the
network, then :func:`probe` scans steps by octaves, one way, while the error
bound (truncation + rounding) improves.  A step is only taken when its
truncation is *settled* (it shrinks as the step does, as truncation must:
a stencil that jumps over a feature of the loss sees a difference falling
like 1/h, whose error is twice its change between levels) and its estimate
is consistent with every step taken before it (the intervals ``value ±
bound`` overlap).  The truncation estimate of the table one octave wider,
divided by 2^order, is a floor on each (an accidental cancellation at one
step must not pass for a small error).  The loss is evaluated at exactly
``θ + t·v`` (see :meth:`Network.forward`): the steps h, 2h, 4h are exact
whatever the units in the last place of θ.

A relu unit whose net input is 0, or crosses 0 within the stencil, makes the
loss non-differentiable there: that parameter is reported as a ``kink`` with
its one-sided derivatives, neither passed nor failed.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bpcheck.gradcheck.error_model import PROBABILISTIC_LAMBDA, Rounding, gamma, rounding
from bpcheck.gradcheck.network import Network
from bpcheck.gradcheck.result import Row, make_row
from bpcheck.gradcheck.scales import (
    EPSILON,
    SMALLEST_STEP,
    direction_rates,
    parameter_rates,
    power_of_two_step,
    scaled_step,
    step_ceiling,
)

with contextlib.suppress(ImportError):  # NumPy is an extra: see network.NUMPY_MISSING
    import numpy as np

if TYPE_CHECKING:
    from bpcheck.gradcheck.network import Array

__all__ = ["EPSILON", "power_of_two_step"]  # re-exported for the mpmath reference

DIRECTIONS = 4
"""Random unit directions of a directional check."""

SHRINK = 64.0
"""When a relu net crosses 0 inside a stencil, retry with steps this much smaller ..."""

SHRINK_ATTEMPTS = 3
"""... this many times, before calling the parameter a kink."""

SCAN_OCTAVES = 64
"""The scan moves the step by at most this many octaves from the start ..."""

PATIENCE = 1
"""... and stops after this many tries in a row without a smaller error bound."""

FLAT_JUMP = 256.0
"""Upwards, a step at which the loss has not moved at all (every difference exactly 0:
a saturated unit, a dead relu) is followed by one this much wider, not twice as wide."""


@dataclass(frozen=True)
class Estimate:
    """A derivative estimated by a finite-difference table, with its error terms.

    ``change`` is the change from the level below (the error of a lower
    order); ``truncation`` bounds the truncation error by it plus the rounding
    both sides of that change may carry, so that noise cannot make a large
    truncation look small; ``rounding`` bounds the estimate's own rounding.
    """

    value: float
    truncation: float
    rounding: float
    change: float

    @property
    def bound(self) -> float:
        return self.truncation + self.rounding


def richardson_table(differences: list[float], noises: list[float], levels: int) -> Estimate:
    """Extrapolate central differences ``D(h), D(2h), D(4h)...`` ``levels`` times.

    ``T[k][m] = (4^m T[k][m-1] - T[k+1][m-1]) / (4^m - 1)`` removes the h^(2m)
    term.  The truncation estimate is, as in Ridders' method, the larger change
    from the two entries of the level below, ``T[0][m-1]`` and ``T[1][m-1]``
    (for ``levels = 0``, ``|D(h) - D(2h)|``, three times the truncation of
    ``D(h)``): the errors of a lower order, at least that of the result even
    when the steps are too large for the leading term to dominate.  A change
    measured between two rounded values may be smaller than the true one by
    both their roundings, which are added.  Rounding noise is carried through
    the same weights: ``Σ|cₖ| noiseₖ``.
    """
    table, noise = list(differences), list(noises)
    below, below_noise = table[1:2], noise[1:2]
    for m in range(1, levels + 1):
        factor = 4.0**m
        below, below_noise = table[:2], noise[:2]
        table = [(factor * a - b) / (factor - 1) for a, b in itertools.pairwise(table)]
        noise = [(factor * a + b) / (factor - 1) for a, b in itertools.pairwise(noise)]
    changes = [abs(table[0] - value) for value in below]
    truncation = max(c + n + noise[0] for c, n in zip(changes, below_noise, strict=True))
    return Estimate(table[0], truncation, noise[0], max(changes))


class Line:
    """The points ``θ + t·e`` along one parameter (``e`` a unit vector) or a direction.

    Each point is evaluated once (finite differences at h, 2h, 4h... and the
    scan share most of them), with the loss's rounding bound there.
    """

    def __init__(self, network: Network, theta: Array, along: int | Array) -> None:
        self.network, self.theta, self.along = network, theta, along
        self._values: dict[float, tuple[float, Array]] = {}
        self._noises: dict[float, float] = {}

    def displacement(self, offset: float) -> Array:
        if isinstance(self.along, int):
            moved = np.zeros(self.theta.shape)
            moved[self.along] = offset
            return moved
        result: Array = offset * self.along
        return result

    def evaluate(self, offset: float) -> tuple[float, Array]:
        """(the loss at ``θ + offset·e``, the relu net inputs there)."""
        if offset not in self._values:
            self._values[offset] = self.network.evaluate(self.theta, self.displacement(offset))
        return self._values[offset]

    def noise(self, offset: float) -> float:
        """The loss's rounding bound at ``θ + offset·e``."""
        if offset not in self._noises:
            moved = self.displacement(offset)
            bound = rounding(self.network, self.theta, gradients=False, displacement=moved)
            self._noises[offset] = bound.loss
        return self._noises[offset]


def _stencil(
    line: Line, h: float, count: int, loss_noise: float
) -> tuple[list[float], list[float], list[Array]]:
    """Central differences at h, 2h, ... 2^(count-1) h, their rounding bounds, relu nets."""
    differences, noises, nets = [], [], []
    for k in range(count):
        step = h * 2.0**k
        f_up, nets_up = line.evaluate(step)
        f_down, nets_down = line.evaluate(-step)
        differences.append((f_up - f_down) / (2.0 * step))
        noises.append(loss_noise / step)
        nets.extend([nets_up, nets_down])
    return differences, noises, nets


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
class Trial:
    """The estimate at one step, and whether it may be used.

    ``crossed``: a relu net input changes side within the stencil (or sits
    within rounding of 0 and moves).  ``settled``: the truncation estimate
    behaves as truncation does, shrinking by at least SETTLED_RATIO when the
    step halves (or it is below the rounding, where its error is covered
    anyway).  A stencil that jumps over a feature of the loss (a unit that
    saturates, a softmax that flips) sees a difference falling like 1/h, whose
    error is twice the change between levels; its truncation estimate then
    *grows* as the step shrinks, and the trial is not settled.
    """

    estimate: Estimate
    crossed: bool
    settled: bool
    loss_noise: float


SETTLED_RATIO = 2.0
"""A truncation estimate must shrink at least this much from step 2h to step h (h² and h⁴
terms shrink by 4 and 16)."""


def estimate_at(
    line: Line,
    h: float,
    levels: int,
    bounds: Rounding,
    base_nets: Array,
    loss_noise: float | None = None,
) -> Trial:
    """The ``levels``-times extrapolated estimate at step h, tried.

    The loss's rounding bound is the largest at the centre and the two ends
    of the stencil (magnitudes can grow along the line, from a point where
    they vanish), unless ``loss_noise`` is given: a scan going to smaller
    steps reuses the bound of a wider stencil.

    The table one octave wider (steps 2h, 4h, ...) is computed too.  Its
    truncation estimate, divided by what the order predicts (``2^order``), is
    a floor on this one's: a lower-order error that happens to cancel at one
    step (the h⁴ and h⁶ terms of opposite signs) must not pass for a small one.
    And it tells whether the truncation is settled (see :class:`Trial`).
    """
    count = max(levels + 1, 2)
    if loss_noise is None:
        widest = h * 2.0**count
        loss_noise = max(bounds.loss, line.noise(widest), line.noise(-widest))
    differences, noises, nets = _stencil(line, h, count + 1, loss_noise)
    fine = richardson_table(differences[:count], noises[:count], levels)
    wide = richardson_table(differences[1:], noises[1:], levels)
    order = 2 * max(levels, 1)
    truncation = max(fine.truncation, wide.change / 2.0**order)
    settled = fine.change * SETTLED_RATIO <= wide.change or fine.change <= fine.rounding
    crossed = _crosses_zero(base_nets, bounds.relu_errors, nets)
    estimate = replace(fine, truncation=truncation)
    return Trial(estimate, crossed, settled, loss_noise)


def _flat(estimate: Estimate) -> bool:
    """Whether every difference of the stencil was exactly 0: the loss did not move."""
    return estimate.value == 0.0 and estimate.change == 0.0


def _consistent(estimate: Estimate, others: list[Estimate]) -> bool:
    """Whether ``value ± bound`` overlaps every other interval: both could hold the truth."""
    return all(
        abs(estimate.value - other.value) <= estimate.bound + other.bound for other in others
    )


class _Scan:
    """The steps tried along one line from ``h``: the usable estimates and the best of them.

    A step is usable when its stencil stays clear of relu kinks, its bound is
    finite, its truncation is settled (:class:`Trial`) and its estimate is
    consistent with every usable step before it.
    """

    def __init__(
        self, line: Line, levels: int, bounds: Rounding, base_nets: Array, ceiling: float
    ) -> None:
        self.line, self.levels, self.bounds, self.base_nets = line, levels, bounds, base_nets
        self.ceiling = ceiling
        self.usable: list[Estimate] = []
        self.best: Estimate | None = None
        self.best_step = 0.0

    def try_step(self, step: float, noise: float | None = None) -> Trial:
        return estimate_at(self.line, step, self.levels, self.bounds, self.base_nets, noise)

    def usable_trial(self, trial: Trial) -> bool:
        estimate = trial.estimate
        return (
            trial.settled and math.isfinite(estimate.bound) and _consistent(estimate, self.usable)
        )

    def better(self, trial: Trial) -> bool:
        """Whether the trial is usable and has a smaller bound than the best so far."""
        return self.usable_trial(trial) and (
            self.best is None or trial.estimate.bound < self.best.bound
        )

    def offer(self, step: float, trial: Trial) -> bool:
        """Keep the trial if it is usable; True when it is the new best."""
        if not self.usable_trial(trial):
            return False
        better = self.better(trial)
        self.usable.append(trial.estimate)
        if better:
            self.best, self.best_step = trial.estimate, step
        return better

    def walk(self, h: float, start: Trial, upwards: bool) -> bool:
        """Scan by octaves one way from ``h``; True when a better step was found.

        Upwards every stencil gets the rounding bound at its own ends, and
        jumps FLAT_JUMP at a time while the loss does not move at all (back to
        octaves from the last flat step as soon as a jump lands where it
        moves, so that the narrower steps still guard the wider).  Downwards
        the bound at the ends of the last wider stencil stands for a narrower
        one's, unless the step looks no better with it.
        """
        step, misses, improved = h, 0, False
        noise = None if upwards else start.loss_noise
        flat = upwards and _flat(start.estimate)
        while True:
            flat = flat and step * FLAT_JUMP <= self.ceiling
            factor = (FLAT_JUMP if flat else 2.0) if upwards else 0.5
            target = step * factor
            if not SMALLEST_STEP <= target <= self.ceiling:
                break
            if abs(math.log2(target / h)) > SCAN_OCTAVES:
                break
            trial = self.try_step(target, noise)
            if flat and not _flat(trial.estimate):
                flat = False
                continue
            if noise is not None and not self.better(trial):
                trial = self.try_step(target)  # the wider stencil's bound was too pessimistic
                noise = trial.loss_noise
            step = target
            if trial.crossed or not math.isfinite(trial.estimate.bound):
                break
            if self.offer(step, trial):
                improved, misses = True, 0
                continue
            misses += 1
            if misses >= PATIENCE and (self.best is not None or upwards):
                break
        return improved


def _scan(
    line: Line,
    h: float,
    start: Trial,
    levels: int,
    bounds: Rounding,
    base_nets: Array,
    ceiling: float,
) -> float | None:
    """The step ``h·2^k`` whose usable estimate (:class:`_Scan`) has the smallest error bound.

    The scan goes up first when the start is settled and its rounding
    outweighs the change between levels (a smaller step would double the
    rounding), down first otherwise (a settled truncation at least doubles
    with the step); the other way only if the first found nothing better (the
    rounding at the ends may grow faster than the step).  Each way stops at a
    kink, after PATIENCE tries in a row without a smaller bound (downwards,
    not before a usable step is found: small steps settle, as rounding takes
    over), at ``ceiling`` (the scale on which the loss bends,
    :func:`~bpcheck.gradcheck.scales.step_ceiling`) or SCAN_OCTAVES from the
    start.  None when no step was usable.
    """
    scan = _Scan(line, levels, bounds, base_nets, ceiling)
    scan.offer(h, start)
    upwards = start.settled and start.estimate.rounding >= start.estimate.change
    if not scan.walk(h, start, upwards):
        scan.walk(h, start, not upwards)
    return scan.best_step if scan.best is not None else None


@dataclass(frozen=True)
class Probe:
    """One finite-difference reference: the estimate and, at a kink, one-sided derivatives."""

    estimate: Estimate
    one_sided: tuple[float, float] | None


def probe(
    line: Line,
    h: float,
    levels: int,
    base: tuple[float, Array],
    bounds: Rounding,
    ceiling: float = math.inf,
) -> Probe:
    """Differentiate along one line from the starting step h, shrinking it away from relu kinks.

    When a relu net input crosses 0 within the stencil the loss is not smooth
    there, and where float64 overflows in it (the log of an output rounded to
    0 or 1) it has no value; the step is cut by SHRINK up to SHRINK_ATTEMPTS
    times.  If it still
    crosses (the net input is 0, or within rounding of it), the result is a
    kink with second-order one-sided differences at the smallest step.
    Otherwise :func:`_scan` looks for a better step around it, and the
    estimate there is made again with the rounding bound at the ends of its
    own stencil.  Should that (or every) step not be settled, its truncation
    estimate is doubled: the error of a difference falling like 1/h.
    """
    f0, nets0 = base
    for attempt in range(SHRINK_ATTEMPTS):
        step = h / SHRINK**attempt
        trial = estimate_at(line, step, levels, bounds, nets0)
        if not math.isfinite(trial.estimate.bound) and attempt + 1 < SHRINK_ATTEMPTS:
            continue  # the stencil reaches where float64 overflows (log 0 of a saturated bce)
        if not trial.crossed:
            chosen = _scan(line, step, trial, levels, bounds, nets0, ceiling)
            final = estimate_at(line, step if chosen is None else chosen, levels, bounds, nets0)
            estimate = final.estimate
            if chosen is None or not final.settled:  # allow the error of a 1/h difference
                estimate = replace(estimate, truncation=2.0 * estimate.truncation)
            return Probe(estimate, None)
    up, up2 = line.evaluate(step)[0], line.evaluate(2 * step)[0]
    down, down2 = line.evaluate(-step)[0], line.evaluate(-2 * step)[0]
    right = (-3.0 * f0 + 4.0 * up - up2) / (2.0 * step)
    left = (3.0 * f0 - 4.0 * down + down2) / (2.0 * step)
    return Probe(estimate_at(line, step, levels, bounds, nets0).estimate, (left, right))


def per_parameter_rows(
    network: Network, gradient: Array, method: str, bounds: Rounding
) -> list[Row]:
    """``central`` (no extrapolation, steps from eps^(1/3) of the scale) or ``richardson``.

    ``richardson`` extrapolates twice, from eps^(1/5) of the scale; both scan
    for a better step from there (:func:`probe`).
    """
    theta = network.theta
    levels, power = (0, 1.0 / 3.0) if method == "central" else (2, 1.0 / 5.0)
    widest = 2.0 ** max(levels + 1, 2)
    base = network.evaluate(theta)
    rates = parameter_rates(network, theta)
    rows = []
    for index in range(network.size):
        bend, reach = float(rates.bend[index]), float(rates.reach[index])
        h = scaled_step(power, bend, reach, widest, float(theta[index]))
        ceiling = step_ceiling(bend, widest)
        found = probe(Line(network, theta, index), h, levels, base, bounds, ceiling)
        estimate = found.estimate
        tolerance = estimate.bound + float(bounds.gradient[index])
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

    Two Richardson levels; the step starts at eps^(1/5) of the scale along
    ``v`` (:func:`~bpcheck.gradcheck.scales.direction_rates`) and is scanned
    like a parameter's.  The tolerance adds the engine's rounding projected on
    ``v`` (:func:`_projected`) and the rounding of the dot product itself.
    """
    theta = network.theta
    bounds = bounds if bounds is not None else rounding(network, theta)
    vectors = unit_directions(network.size, directions, seed)
    rates = direction_rates(network, theta, vectors)
    norm = float(np.linalg.norm(theta))
    base = network.evaluate(theta)
    rows = []
    for k, v in enumerate(vectors, start=1):
        bend, reach = float(rates.bend[k - 1]), float(rates.reach[k - 1])
        h = scaled_step(0.2, bend, reach, 8.0, norm)
        found = probe(Line(network, theta, v), h, 2, base, bounds, step_ceiling(bend, 8.0))
        projection = float(gradient @ v)
        engine_rounding = _projected(bounds.gradient, v)
        dot_rounding = gamma(network.size) * float(np.abs(gradient) @ np.abs(v))
        estimate = found.estimate
        tolerance = estimate.bound + engine_rounding + dot_rounding
        rows.append(
            make_row(f"direction[{k}]", projection, estimate.value, tolerance, found.one_sided)
        )
    return rows
