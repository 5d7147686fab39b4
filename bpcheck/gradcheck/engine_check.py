"""One engine's dE/dθ checked against a reference of bpcheck's own, on one problem.

The engine runs the problem; :mod:`~bpcheck.gradcheck.network` (float64) or
:mod:`~bpcheck.gradcheck.mpmath_reference` (40 digits) differentiates the loss
numerically; a row fails when ``|engine - reference| > tolerance``, the
tolerance coming from :mod:`~bpcheck.gradcheck.error_model` and the method.
An engine's failure is a result (``errored``, ``skipped``), never an exception.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from typing import TYPE_CHECKING

from bpcheck.checking.check import Outcome
from bpcheck.gradcheck.differences import check_directional, per_parameter_rows
from bpcheck.gradcheck.error_model import rounding
from bpcheck.gradcheck.methods import AUTO_DIRECTIONAL_ABOVE, METHODS
from bpcheck.gradcheck.mpmath_reference import Decimals, mpmath_rows
from bpcheck.gradcheck.network import NUMPY_MISSING, Network
from bpcheck.gradcheck.result import GradcheckResult, Row, outcome_of
from bpcheck.model.engine import CannotRun, Engine, required_capabilities
from bpcheck.model.problem import Problem, batch_of_step

with contextlib.suppress(ImportError):  # NumPy is an extra: see network.NUMPY_MISSING
    import numpy as np

if TYPE_CHECKING:
    from bpcheck.gradcheck.network import Array


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


def why_skipped(engine: Engine, problem: Problem) -> str | None:
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
    reason = why_skipped(engine, problem)
    if reason is not None:
        return GradcheckResult(engine.name, 0, chosen, [], Outcome.SKIPPED, reason)
    network = Network(problem, batch_of_step(problem, 0))
    gradient = _engine_gradient(engine, problem, network)
    if isinstance(gradient, GradcheckResult):
        return replace(gradient, method=chosen)
    bounds = rounding(network, network.theta)
    if not (math.isfinite(network.loss(network.theta)) and math.isfinite(bounds.loss)):
        why = "the loss is not finite at these parameters: no finite-difference reference"
        return GradcheckResult(engine.name, 0, chosen, [], Outcome.SKIPPED, why)
    if chosen == "directional":
        rows = check_directional(network, gradient, seed=seed, bounds=bounds)
    elif chosen == "mpmath":
        rows = mpmath_rows(network, gradient, bounds, decimals)
    else:
        rows = per_parameter_rows(network, gradient, chosen, bounds)
    unusable = next((r.parameter for r in rows if not _judgeable(r)), None)
    if unusable is not None:
        why = f"float64 overflows near these parameters (along {unusable}): no reference"
        return GradcheckResult(engine.name, 0, chosen, rows, Outcome.SKIPPED, why)
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
        return GradcheckResult(engine.name, 0, "", [], Outcome.SKIPPED, str(error))
    except KeyError as error:
        why = f"the trace lacks {error.args[0]}"
        return GradcheckResult(engine.name, 0, "", [], Outcome.ERRORED, why)
    except Exception as error:  # an engine's bug is a result to report, not a crash
        why = f"{type(error).__name__}: {error}"
        return GradcheckResult(engine.name, 0, "", [], Outcome.ERRORED, why)
    result: Array = gradient
    return result
