"""Gradient checks for any function: ``check(f, params)`` holds a gradient to finite differences.

bpcheck's gradient checks were written for its fixtures, but the finite differences
of :mod:`bpcheck.gradcheck.differences` (central differences at h, 2h, 4h,
Richardson extrapolation, the step scanned by octaves until the error bound stops
improving, random directions for big models) need only a function to evaluate.
Here the function is the user's: any scalar function of float64 parameters (NumPy,
JAX or torch, or nested lists, tuples and dicts of them, see
:mod:`bpcheck.gradcheck.parameters`), and the gradient to check is the user's
(``grad=``) or taken from torch.autograd or jax.grad.

What a black box cannot give is the running error analysis of
:mod:`bpcheck.gradcheck.error_model`, which follows the network's arithmetic.  So
the two rounding parts of each tolerance are measured or estimated instead:

* the rounding of ``f`` itself, δ (:func:`function_noise`): the larger of
  ``NOISE_ULPS·u·|f|`` at each point evaluated and four times the noise measured
  at θ from a table of differences of ``f`` at tiny steps (Hamming's method, as in
  Moré and Wild's ECnoise), so that a sum that cancels to a small value is not
  taken for an exact one; ``noise=`` gives a bound of one's own;
* the rounding of the gradient, ε: ``GRADIENT_ULPS·u·|g|`` per component, plus the
  ``atol + rtol·|reference|`` a user may add (as in ``torch.autograd.gradcheck``).

Truncation is estimated exactly as for fixtures, from the table itself.  Where
``f`` has a kink (``abs``, ``relu``, ``max``) the one-sided derivatives differ by a
step-independent amount; such a parameter is reported as a ``kink``, neither
passed nor failed.  Nothing here imports JAX or torch unless the parameters hold
their arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpcheck.gradcheck.differences import (
    DIRECTIONS,
    Line,
    estimate_at,
    probe,
    unit_directions,
)
from bpcheck.gradcheck.error_model import Rounding, gamma
from bpcheck.gradcheck.parameters import Layout, flatten, kind_of
from bpcheck.gradcheck.result import Row, Status, make_row
from bpcheck.gradcheck.scales import EPSILON, power_of_two_step

Array = Any  # numpy.ndarray of float64

UNIT_ROUNDOFF = 2.0**-53

NOISE_ULPS = 32.0
"""The rounding of one evaluation of ``f``, at least, in units of u·|f|: a few dozen
operations' worth, for a function whose arithmetic bpcheck cannot see."""

GRADIENT_ULPS = 16.0
"""The rounding of a supplied gradient, in units of u·|g|, before ``atol`` and ``rtol``."""

NOISE_ORDER = 6
"""The order of the difference table that measures ``f``'s noise (Hamming)."""

NOISE_STEP = 2.0**-30
"""The step of that table, relative to max(1, |θ|): where ``f`` is a polynomial to
rounding, so that its high differences are all noise."""

KINK_SHRINK = 64.0
"""A kink's one-sided derivatives differ as much at a step this much smaller; a smooth
function's differ about KINK_SHRINK² times less."""

METHODS = ("auto", "central", "richardson", "directional")

AUTO_DIRECTIONAL_ABOVE = 1000
"""``auto`` checks along random directions above this many parameters (as for fixtures)."""


class GradientCheckError(AssertionError):
    """A gradient differs from finite differences beyond its tolerance; the message is the table."""


@dataclass(frozen=True)
class FunctionCheck:
    """What :func:`check` found: a row per parameter (or direction), and the verdict.

    Each :class:`~bpcheck.gradcheck.result.Row` holds the gradient given, the
    finite-difference reference, the absolute and relative errors and the
    absolute tolerance; ``status`` is ``pass``, ``fail`` or ``kink``.
    """

    method: str
    rows: list[Row]
    noise: float
    """The bound on one evaluation's rounding at θ that the tolerances used (δ)."""
    step: float | None = None
    """The fixed step (``eps``), or None when each line's step was scanned."""
    names: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(row.status != Status.FAIL for row in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failures(self) -> list[Row]:
        return [row for row in self.rows if row.status == Status.FAIL]

    @property
    def kinks(self) -> list[Row]:
        """Parameters where ``f`` is not differentiable: one-sided derivatives in ``one_sided``."""
        return [row for row in self.rows if row.status == Status.KINK]

    @property
    def errors(self) -> dict[str, float]:
        """Absolute error of each row, by parameter (or direction) name."""
        return {row.parameter: row.abs_error for row in self.rows}

    @property
    def tolerances(self) -> dict[str, float]:
        return {row.parameter: row.tolerance for row in self.rows}

    def worst(self, count: int = 5) -> list[Row]:
        """The rows nearest (or furthest beyond) their tolerance, worst first; kinks left out."""
        judged = [row for row in self.rows if row.status != Status.KINK]
        return sorted(judged, key=_closeness, reverse=True)[:count]

    def table(self, limit: int = 20) -> str:
        """The failures, then the rows nearest their tolerance, then the kinks: aligned text."""
        shown = self.failures[:limit] or self.worst(min(limit, 5))
        shown += [row for row in self.kinks[:limit] if row not in shown]
        head = ("parameter", "gradient", "finite difference", "abs error", "tolerance", "status")
        cells = [head] + [
            (
                row.parameter,
                f"{row.engine_value:.17g}",
                f"{row.reference:.17g}",
                f"{row.abs_error:.3g}",
                f"{row.tolerance:.3g}",
                str(row.status) + (_one_sided(row) if row.one_sided else ""),
            )
            for row in shown
        ]
        widths = [max(len(line[i]) for line in cells) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def summary(self) -> str:
        failed, kinks = len(self.failures), len(self.kinks)
        what = "directions" if self.method == "directional" else "parameters"
        verdict = f"{failed} of {len(self.rows)} {what} differ beyond their tolerance"
        if not failed:
            verdict = f"all {len(self.rows)} {what} within their tolerance"
        return f"gradient check ({self.method}): {verdict}" + (
            f", {kinks} kink(s)" if kinks else ""
        )


def _closeness(row: Row) -> float:
    return row.abs_error / row.tolerance if row.tolerance > 0 else math.inf


def _one_sided(row: Row) -> str:
    assert row.one_sided is not None
    left, right = row.one_sided
    return f" (left {left:.6g}, right {right:.6g})"


# --- the function as the finite differences see it ----------------------------------------


class _Function:
    """``f`` of a vector: the user's function called with the parameters rebuilt."""

    def __init__(self, f: Callable[[Any], Any], layout: Layout, theta: Array) -> None:
        self.f, self.layout, self.theta = f, layout, theta
        self.size = layout.size
        self.evaluations = 0

    def value(self, theta: Array) -> float:
        self.evaluations += 1
        result = self.f(self.layout.rebuild(theta))
        try:
            return float(result)
        except (TypeError, ValueError):
            raise ValueError(
                f"f returned {type(result).__name__}; expected a scalar (a float, or an "
                "array or tensor with one element)"
            ) from None

    def evaluate(self, theta: Array, displacement: Array | None = None) -> tuple[float, Array]:
        """The interface of :class:`~bpcheck.gradcheck.network.Network`: no relu nets known."""
        point = theta if displacement is None else theta + displacement
        return self.value(point), np.zeros(0)


class _FunctionLine(Line):
    """A line through θ whose rounding bound is δ (:func:`function_noise`) at each point."""

    def __init__(self, function: _Function, along: int | Array, floor: float) -> None:
        super().__init__(function, function.theta, along)  # type: ignore[arg-type]
        self.floor = floor

    def noise(self, offset: float) -> float:
        if offset not in self._noises:
            value, _ = self.evaluate(offset)
            self._noises[offset] = max(self.floor, NOISE_ULPS * UNIT_ROUNDOFF * abs(value))
        return self._noises[offset]


def function_noise(function: _Function, seed: int) -> float:
    """A bound on the rounding of ``f`` near θ: measured, and at least NOISE_ULPS·u·|f(θ)|.

    ``f`` at θ + k·s·v (k = 0..2·NOISE_ORDER, v random) with s tiny: the
    NOISE_ORDER-th differences of a smooth function there are all rounding noise,
    of variance binom(2m, m) times the noise's (Hamming).  Four standard deviations bound
    the noise of one value.
    """
    theta = function.theta
    value = function.value(theta)
    floor = NOISE_ULPS * UNIT_ROUNDOFF * abs(value)
    if theta.size == 0:
        return floor
    (v,) = unit_directions(theta.size, 1, seed)
    s = NOISE_STEP * max(1.0, float(np.max(np.abs(theta))))
    values = np.array([function.value(theta + k * s * v) for k in range(2 * NOISE_ORDER + 1)])
    differences = np.diff(values, NOISE_ORDER)
    if not np.all(np.isfinite(differences)):
        return floor
    sigma = math.sqrt(float(np.mean(differences**2)) / math.comb(2 * NOISE_ORDER, NOISE_ORDER))
    return max(floor, 4.0 * sigma)


def _bounds(noise: float, size: int) -> Rounding:
    """What the finite differences read of an error analysis: the loss's rounding, no relus."""
    return Rounding(noise, np.zeros(size), np.zeros(0), np.zeros(0))


def _kink(line: Line, h: float, noise: float) -> tuple[float, float] | None:
    """One-sided derivatives when the line has a kink at θ (they differ as much at h/64), else None.

    Second-order one-sided differences: at a kink their gap is the jump of the
    derivative whatever the step; on a smooth line it shrinks like h².
    """
    gaps = []
    sides = (0.0, 0.0)
    f0 = line.evaluate(0.0)[0]
    for step in (h, h / KINK_SHRINK):
        up, up2 = line.evaluate(step)[0], line.evaluate(2 * step)[0]
        down, down2 = line.evaluate(-step)[0], line.evaluate(-2 * step)[0]
        right = (-3.0 * f0 + 4.0 * up - up2) / (2.0 * step)
        left = (3.0 * f0 - 4.0 * down + down2) / (2.0 * step)
        gaps.append(abs(right - left))
        sides = (left, right)
    rounding = 16.0 * noise / (h / KINK_SHRINK)
    if gaps[1] > rounding and gaps[1] >= 0.5 * gaps[0]:
        return sides
    return None


# --- the check -----------------------------------------------------------------------------


def check(
    f: Callable[[Any], Any],
    params: Any,
    *,
    grad: Callable[[Any], Any] | Any | None = None,
    method: str = "auto",
    eps: float | None = None,
    atol: float = 0.0,
    rtol: float = 0.0,
    raise_exception: bool = False,
    noise: float | None = None,
    seed: int = 0,
    directions: int = DIRECTIONS,
) -> FunctionCheck:
    """Check the gradient of the scalar function ``f`` at ``params`` against finite differences.

    ``params``: a NumPy, JAX (x64 on) or torch array, a float, or nested lists,
    tuples and dicts of them; ``f`` is called with a structure of the same kinds.
    ``grad``: a function of the parameters returning the gradient laid out like
    them, or that gradient itself; None takes it from torch.autograd (torch
    tensors) or jax.grad (JAX arrays).  ``method``: ``richardson`` (the default up
    to AUTO_DIRECTIONAL_ABOVE parameters), ``central``, or ``directional`` (the
    gradient's projection on ``directions`` random unit vectors; the default
    above).  ``eps``: a fixed step, as torch.autograd.gradcheck's (by default each
    line's step is scanned for the smallest error bound).  ``atol``, ``rtol``: added
    to each tolerance as ``atol + rtol·|finite difference|``.  ``noise``: a bound
    on the rounding of one evaluation of ``f`` (by default measured).
    ``raise_exception``: raise :class:`GradientCheckError` with the table when a
    row fails (torch's option of that name; its default here is to return).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if eps is not None and not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a positive step, found {eps!r}")
    layout, theta = flatten(params)
    if method == "auto":
        method = "directional" if layout.size > AUTO_DIRECTIONAL_ABOVE else "richardson"
    gradient = _gradient(f, params, layout, grad)
    function = _Function(f, layout, theta)
    delta = noise if noise is not None else function_noise(function, seed)
    names = layout.names()
    if method == "directional":
        rows = _directional_rows(function, gradient, delta, eps, atol, rtol, seed, directions)
    else:
        rows = _parameter_rows(function, gradient, names, delta, method, eps, atol, rtol)
    result = FunctionCheck(method, rows, delta, eps, names)
    if raise_exception and not result.passed:
        raise GradientCheckError(f"{result.summary()}\n{result.table()}")
    return result


def assert_gradients_close(f: Callable[[Any], Any], params: Any, **options: Any) -> FunctionCheck:
    """:func:`check`, failing (a pytest test, say) with the table when a gradient is off.

    The options are :func:`check`'s.  Returns the result when every row passes.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, then the table
    return check(f, params, **{**options, "raise_exception": True})


def _gradient(f: Callable[[Any], Any], params: Any, layout: Layout, grad: Any) -> Array:
    """The gradient to check, as one float64 vector laid out like θ."""
    if grad is None:
        kinds = {leaf.kind for leaf in layout.leaves}
        if "torch" in kinds:
            return layout.vector(_torch_gradient(f, params, layout), "torch.autograd's gradient")
        if "jax" in kinds:
            import jax

            return layout.vector(jax.grad(f)(layout.rebuild(_theta(layout, params))), "jax.grad")
        raise ValueError(
            "grad= is needed for NumPy or float parameters (a function returning the gradient "
            "laid out like the parameters, or the gradient itself); torch tensors and JAX "
            "arrays have theirs taken by autodiff"
        )
    given = grad(params) if callable(grad) else grad
    return layout.vector(given)


def _theta(layout: Layout, params: Any) -> Array:
    return flatten(params)[1]


def _torch_gradient(f: Callable[[Any], Any], params: Any, layout: Layout) -> list[Any]:
    import torch

    structure = layout.rebuild(_theta(layout, params))
    leaves = [leaf for leaf in _flat_leaves(structure) if kind_of(leaf) == "torch"]
    for leaf in leaves:
        leaf.requires_grad_(True)
    grads = iter(torch.autograd.grad(f(structure), leaves, allow_unused=True))
    gradient: list[Any] = []
    for leaf in _flat_leaves(structure):
        if kind_of(leaf) == "torch":
            g = next(grads)
            gradient.append(torch.zeros_like(leaf) if g is None else g)
        else:
            gradient.append(np.zeros(np.shape(leaf)))  # autograd sees torch tensors only
    return gradient


def _flat_leaves(structure: Any) -> list[Any]:
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in _flat_leaves(value)]
    if isinstance(structure, list | tuple):
        return [leaf for value in structure for leaf in _flat_leaves(value)]
    return [structure]


def _start(power: float, at: float) -> float:
    """eps^power·max(1, |θ|), a power of two: the step of a function whose scale is |θ|."""
    return power_of_two_step(EPSILON**power * max(1.0, abs(at)))


def _parameter_rows(
    function: _Function,
    gradient: Array,
    names: Sequence[str],
    delta: float,
    method: str,
    eps: float | None,
    atol: float,
    rtol: float,
) -> list[Row]:
    levels, power = (0, 1.0 / 3.0) if method == "central" else (2, 1.0 / 5.0)
    theta = function.theta
    bounds = _bounds(delta, function.size)
    base = function.evaluate(theta)
    rows = []
    for index in range(function.size):
        line = _FunctionLine(function, index, delta)
        at = float(theta[index])
        if eps is None:
            ceiling = max(1.0, abs(at))
            h = _start(power, at)
            estimate = probe(line, h, levels, base, bounds, ceiling).estimate
        else:
            h = eps
            estimate = estimate_at(line, eps, levels, bounds, np.zeros(0)).estimate
        g = float(gradient[index])
        share = GRADIENT_ULPS * UNIT_ROUNDOFF * abs(g)
        tolerance = estimate.bound + share + atol + rtol * abs(estimate.value)
        one_sided = _kink(line, h, delta)
        rows.append(make_row(names[index], g, estimate.value, tolerance, one_sided))
    return rows


def _directional_rows(
    function: _Function,
    gradient: Array,
    delta: float,
    eps: float | None,
    atol: float,
    rtol: float,
    seed: int,
    count: int,
) -> list[Row]:
    theta = function.theta
    bounds = _bounds(delta, function.size)
    base = function.evaluate(theta)
    norm = float(np.linalg.norm(theta))
    rows = []
    for k, v in enumerate(unit_directions(function.size, count, seed), start=1):
        line = _FunctionLine(function, v, delta)
        if eps is None:
            h = _start(0.2, norm)
            estimate = probe(line, h, 2, base, bounds, max(1.0, norm)).estimate
        else:
            h = eps
            estimate = estimate_at(line, eps, 2, bounds, np.zeros(0)).estimate
        projection = float(gradient @ v)
        share = GRADIENT_ULPS * UNIT_ROUNDOFF * float(np.abs(gradient) @ np.abs(v))
        share += gamma(function.size) * float(np.abs(gradient) @ np.abs(v))
        tolerance = estimate.bound + share + atol + rtol * abs(estimate.value)
        one_sided = _kink(line, h, delta)
        rows.append(make_row(f"direction[{k}]", projection, estimate.value, tolerance, one_sided))
    return rows
