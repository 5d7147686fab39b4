"""What the conformance checks share: their problems, tolerances, helpers and formulas.

Split from :mod:`bpcheck.testing.conformance` so that the checks of each kind
(:mod:`~bpcheck.testing.conformance`, :mod:`~bpcheck.testing.feature_checks`) can live in
modules of their own without importing each other.  The formulas here are written out
independently of every engine (the definitions of the activations and losses, their
slopes), so that a check compares an engine with something it did not compute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import replace

from bpcheck.model import quantities as q
from bpcheck.model.engine import Engine, required_capabilities
from bpcheck.model.problem import Layer, Problem
from bpcheck.testing import minimal_problems as mp

FD_STEP = 1e-6
"""Central-difference step: near the optimum (cube root of float64 epsilon) for O(1) values."""
FD_TOLERANCE = 1e-6
"""Relative (and absolute) agreement expected between a gradient and its central difference."""
EXACT = 1e-12
"""Agreement expected where the engine and the check compute the same formula from the same
floats (a sum of deltas, p - lr g): a few roundings of values of order 1."""


class Skip(Exception):
    """Raised by a check that does not apply to an engine; the message says why."""


exercised: ContextVar[set[str] | None] = ContextVar("exercised", default=None)
"""The capabilities the running check has exercised (None outside ``run_check``)."""


def note(problem: Problem, *more: str) -> None:
    """Record that the running check exercised the capabilities ``problem`` needs (and ``more``)."""
    noted = exercised.get()
    if noted is not None:
        noted.update(required_capabilities(problem))
        noted.update(more)


# --- problems the checks use ------------------------------------------------------------


def supported(engine: Engine, problem: Problem) -> bool:
    return required_capabilities(problem) <= engine.capabilities


def problems_exercising(engine: Engine, *needed: str) -> list[tuple[str, Problem]]:
    """The engine's minimal problems (one per declared capability), noted as exercised.

    With ``needed``, only problems that need all of those capabilities.  Raises
    :class:`Skip` when none is left, saying what was missing.  float32 problems are
    left out (see :func:`bpcheck.testing.minimal_problems.problems_for`).
    """
    declared = frozenset(engine.capabilities)
    found = [
        (label, problem)
        for label, problem in mp.problems_for(declared)
        if set(needed) <= required_capabilities(problem)
    ]
    if not found:
        missing = sorted(set(needed) - declared)
        why = f"lacks {', '.join(missing)}" if missing else "declares nothing this check can run"
        raise Skip(f"no problem to run: the engine {why}")
    for _, problem in found:
        note(problem)
    return found


def require(engine: Engine, problem: Problem, why: str = "") -> Problem:
    """``problem``, noted as exercised; :class:`Skip` naming what the engine lacks for it."""
    missing = required_capabilities(problem) - engine.capabilities
    if missing:
        raise Skip(f"{why or 'the problem'} needs {', '.join(sorted(missing))}")
    note(problem)
    return problem


def require_capability(engine: Engine, capability: str, why: str) -> None:
    """:class:`Skip` unless the engine declares ``capability`` (one no problem needs:
    ``quantity:extended``); noted as exercised."""
    if capability not in engine.capabilities:
        raise Skip(f"{why} needs {capability}")
    note_capability(capability)


def note_capability(capability: str) -> None:
    noted = exercised.get()
    if noted is not None:
        noted.add(capability)


def first_of(engine: Engine, *needed: str) -> Problem:
    """The first minimal problem the engine can run (needing ``needed``)."""
    return problems_exercising(engine, *needed)[0][1]


# --- helpers ----------------------------------------------------------------------------


def parameter_names(problem: Problem) -> list[tuple[str, str]]:
    """(parameter, gradient) name pairs: every weight and bias of the problem."""
    return [(n, "dE_d" + n) for n in q.step_names(problem) if n.startswith(("w[", "b["))]


def indices_of(name: str) -> list[int]:
    """``w[2,1,3]`` -> [2, 1, 3]; ``b[1]`` -> [1] (an ``@s`` suffix is ignored)."""
    base = name.partition("@")[0]
    return [int(part) for part in base[base.index("[") + 1 : -1].split(",")]


def with_parameter(problem: Problem, name: str, value: float) -> Problem:
    """A copy of ``problem`` with one weight or bias (by canonical name) set to ``value``."""
    indices = indices_of(name)
    layer_index = indices[0] - 1
    layer = problem.layers[layer_index]
    if name.startswith("w"):
        j, i = indices[1] - 1, indices[2] - 1
        rows = [list(row) for row in layer.weights]
        rows[j][i] = value
        layer = replace(layer, weights=tuple(tuple(r) for r in rows))
    else:
        biases = list(layer.bias)
        biases[indices[1] - 1 if len(indices) > 1 else 0] = value
        layer = replace(layer, bias=tuple(biases))
    layers = list(problem.layers)
    layers[layer_index] = layer
    return replace(problem, layers=tuple(layers))


def with_parameters(problem: Problem, values: dict[str, float]) -> Problem:
    """A copy of ``problem`` with several weights and biases (by canonical name) set."""
    for name, value in values.items():
        problem = with_parameter(problem, name, value)
    return problem


def with_input(problem: Problem, sample: int, i: int, value: float) -> Problem:
    """A copy of ``problem`` with input ``i`` of ``sample`` (both 0-based) set to ``value``."""
    rows = [list(row) for row in problem.inputs]
    rows[sample][i] = value
    return replace(problem, inputs=tuple(tuple(row) for row in rows))


def loss_at(engine: Engine, problem: Problem) -> float:
    """The engine's own loss for ``problem`` before any update."""
    return engine.run(replace(problem, steps=0), {0})[0][q.LOSS]


def central_difference(engine: Engine, problem: Problem, name: str, value: float) -> float:
    h = FD_STEP * max(1.0, abs(value))
    up = loss_at(engine, with_parameter(problem, name, value + h))
    down = loss_at(engine, with_parameter(problem, name, value - h))
    return (up - down) / (2 * h)


def close(a: float, b: float, tolerance: float) -> bool:
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def assert_close(what: str, found: float, expected: float, tolerance: float, how: str) -> None:
    assert close(found, expected, tolerance), (
        f"{what} = {found:.17g}, expected {expected:.17g} ({how}); "
        f"difference {found - expected:.3g} beyond {tolerance:g}"
    )


def layer_of(name: str) -> int:
    """The 0-based layer index of a parameter or per-layer name."""
    return indices_of(name)[0] - 1


def initial_value(problem: Problem, name: str) -> float:
    indices = indices_of(name)
    layer = problem.layers[indices[0] - 1]
    if name.startswith("w"):
        return layer.weights[indices[1] - 1][indices[2] - 1]
    return layer.bias[indices[1] - 1 if len(indices) > 1 else 0]


# --- formulas written out here, to compare an engine's own values with --------------------


def activation_of(name: str, nets: Sequence[float], layer: Layer | None = None) -> list[float]:
    """A layer's outputs from its net inputs: the definitions, written for large inputs too.

    ``layer`` gives leaky_relu's slope and elu's alpha (the defaults without it).
    """
    slope = layer.slope if layer is not None else 0.01
    alpha = layer.alpha if layer is not None else 1.0
    if name == "identity":
        return list(nets)
    if name == "sigmoid":
        return [_sigmoid(x) for x in nets]
    if name == "tanh":
        return [math.tanh(x) for x in nets]
    if name == "relu":
        return [x if x > 0.0 else 0.0 for x in nets]
    if name == "leaky_relu":
        return [x if x > 0.0 else slope * x for x in nets]
    if name == "softplus":  # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow
        return [max(x, 0.0) + math.log1p(math.exp(-abs(x))) for x in nets]
    if name == "elu":
        return [x if x > 0.0 else alpha * math.expm1(x) for x in nets]
    top = max(nets)  # softmax: shifted by the largest net input, or e^710 overflows
    exps = [math.exp(x - top) for x in nets]
    return [e / math.fsum(exps) for e in exps]


def _sigmoid(x: float) -> float:
    """1 / (1 + e^-x), as e^x / (1 + e^x) for negative x: e^-x would overflow below -709."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    return math.exp(x) / (1.0 + math.exp(x))


def slope_of(activation: str, net: float, out: float, layer: Layer | None = None) -> float:
    """d out / d net on the diagonal; kinks take the left branch (relu'(0) = 0,
    leaky_relu'(0) = slope, elu'(0) = alpha)."""
    slope = layer.slope if layer is not None else 0.01
    alpha = layer.alpha if layer is not None else 1.0
    if activation == "identity":
        return 1.0
    if activation in ("sigmoid", "softmax"):
        return out * (1.0 - out)
    if activation == "tanh":
        return 1.0 - out * out
    if activation == "leaky_relu":
        return 1.0 if net > 0.0 else slope
    if activation == "softplus":
        return _sigmoid(net)
    if activation == "elu":
        return 1.0 if net > 0.0 else alpha * math.exp(net)
    return 1.0 if net > 0.0 else 0.0  # relu; relu'(0) = 0


def loss_terms(
    loss: str, targets: Sequence[float], outs: Sequence[float], count: int, objective: int = 0
) -> list[float]:
    """Each output's loss term; ``count`` is outputs x samples in the batch (mse's divisor),
    ``objective`` the 1-based output of loss ``output``."""
    pairs = list(zip(targets, outs, strict=True))
    if loss == "half_sse":
        return [0.5 * (t - o) ** 2 for t, o in pairs]
    if loss == "sse":
        return [(t - o) ** 2 for t, o in pairs]
    if loss == "mse":
        return [(t - o) ** 2 / count for t, o in pairs]
    if loss == "bce":
        return [-(t * math.log(o) + (1.0 - t) * math.log(1.0 - o)) for t, o in pairs]
    if loss == "output":
        return [o if k == objective else 0.0 for k, (_, o) in enumerate(pairs, start=1)]
    return [-t * math.log(o) if t else 0.0 for t, o in pairs]


def loss_slope(loss: str, target: float, out: float, count: int, objective: bool = False) -> float:
    """d E / d out of one output's term; ``count`` is mse's divisor, ``objective`` whether
    this output is loss ``output``'s (its slope is 1, every other output's 0)."""
    if loss == "half_sse":
        return out - target
    if loss == "sse":
        return 2.0 * (out - target)
    if loss == "mse":
        return 2.0 * (out - target) / count
    if loss == "bce":
        return (1.0 - target) / (1.0 - out) - target / out
    if loss == "output":
        return 1.0 if objective else 0.0
    return -target / out


def decay_term(problem: Problem, values: dict[str, float]) -> float:
    """weight_decay / 2 x the sum of the squared weights (``values``: a step's trace)."""
    if not problem.weight_decay:
        return 0.0
    squares = [v * v for name, v in values.items() if name.startswith("w[")]
    return problem.weight_decay / 2 * math.fsum(squares)


def kink_slopes() -> dict[str, float]:
    """The left-branch slope at a net input of exactly 0, for each kinked activation."""
    return {a: mp.slope_at_kink(a) for a in ("relu", "leaky_relu", "elu")}
