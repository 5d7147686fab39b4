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
import struct
from dataclasses import replace
from typing import TYPE_CHECKING

from bpcheck.checking.check import Outcome
from bpcheck.gradcheck.differences import check_directional, per_parameter_rows
from bpcheck.gradcheck.error_model import UNIT_ROUNDOFF, Rounding, rounding
from bpcheck.gradcheck.methods import AUTO_DIRECTIONAL_ABOVE, METHODS
from bpcheck.gradcheck.mpmath_reference import Decimals, mpmath_rows
from bpcheck.gradcheck.network import NUMPY_MISSING, Network
from bpcheck.gradcheck.result import GradcheckResult, Row, outcome_of
from bpcheck.model.engine import CannotRun, Engine, required_capabilities
from bpcheck.model.problem import Problem, batch_of_step
from bpcheck.model.quantities import EXTENDED

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

    The loss is the step-0 batch's (a mini-batch's samples, in its order) with weight
    decay's penalty.  A float32 problem is differentiated in float64 at its float32
    numbers (:func:`float64_version`) and the engine's float32 gradient is allowed
    float32's rounding (:func:`float32_rounding`).

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
    reference = float64_version(problem)
    network = Network(reference, batch_of_step(reference, 0))
    return _checked(engine, problem, network, chosen, seed, decimals)


def check_sample_gradients(
    engine: Engine, problem: Problem, sample: int, *, method: str = "auto", seed: int = 0
) -> GradcheckResult:
    """Check one sample's own gradient at step 0 (``dE_dw[L,j,i]@s``, ``dE_db[...]@s``).

    The loss differentiated is ``E@s``: the sample's terms alone, with the batch's mse
    divisor (outputs times the samples of the step's batch) and no weight decay.  Its rows
    are named ``w[L,j,i]@s``.  Only an engine with ``quantity:extended`` records these.
    """
    chosen = resolve_method(method, parameter_count(problem))
    batch = batch_of_step(problem, 0)
    if sample - 1 not in batch:
        raise ValueError(f"sample {sample} is not in step 0's batch {[s + 1 for s in batch]}")
    reason = why_skipped(engine, problem)
    if reason is None and EXTENDED not in engine.capabilities:
        reason = f"cannot do {EXTENDED}"
    if reason is not None:
        return GradcheckResult(engine.name, 0, chosen, [], Outcome.SKIPPED, reason)
    reference = replace(float64_version(problem), weight_decay=0.0)
    network = Network(reference, (sample - 1,))
    network.count = problem.n_outputs * len(batch)  # mse's divisor is the batch's
    result = _checked(engine, problem, network, chosen, seed, None, f"@{sample}")
    rows = [replace(row, parameter=f"{row.parameter}@{sample}") for row in result.rows]
    return replace(result, rows=rows)


def _checked(
    engine: Engine,
    problem: Problem,
    network: Network,
    chosen: str,
    seed: int,
    decimals: Decimals | None,
    sample: str = "",
) -> GradcheckResult:
    """The engine's gradient of ``network``'s loss against the chosen reference's."""
    gradient = _engine_gradient(engine, problem, network, sample)
    if isinstance(gradient, GradcheckResult):
        return replace(gradient, method=chosen)
    bounds = rounding(network, network.theta)
    if problem.precision == "float32":
        bounds = float32_rounding(bounds, network)
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


FLOAT32_UNIT_ROUNDOFF = 2.0**-24
FLOAT32_UNDERFLOW = 2.0**-149
"""float32's u and subnormal spacing: an engine computing in float32 rounds by these."""


def to_float32(value: float) -> float:
    """The float32 nearest ``value``, as a Python float (exact)."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def float64_version(problem: Problem) -> Problem:
    """The float64 problem a float32 engine computes an approximation of.

    Every number is the float32 the engine starts from (data, parameters, rates,
    slope, alpha, momentum, decay), computed on in float64: the finite differences
    are taken on it, and the engine's float32 gradient is compared with them.  A
    float64 problem is returned as it is.
    """
    if problem.precision != "float32":
        return problem

    def rows(values: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
        return tuple(tuple(to_float32(v) for v in row) for row in values)

    layers = tuple(
        replace(
            layer,
            weights=rows(layer.weights),
            bias=tuple(to_float32(b) for b in layer.bias),
            slope=to_float32(layer.slope),
            alpha=to_float32(layer.alpha),
            learning_rate=None if layer.learning_rate is None else to_float32(layer.learning_rate),
        )
        for layer in problem.layers
    )
    return replace(
        problem,
        layers=layers,
        inputs=rows(problem.inputs),
        targets=rows(problem.targets),
        learning_rate=to_float32(problem.learning_rate),
        momentum=to_float32(problem.momentum),
        weight_decay=to_float32(problem.weight_decay),
        precision="float64",
    )


def float32_rounding(bounds: Rounding, network: Network) -> Rounding:
    """The engine's rounding bounds for float32 arithmetic: float64's, in float32's unit.

    The running error analysis (:mod:`~bpcheck.gradcheck.error_model`) is first order in
    the unit roundoff u: an engine rounding every operation to float32 rounds by the
    same bounds with u = 2^-24 instead of 2^-53 (and underflows at 2^-149).  The loss's
    bound stays float64's: the finite differences are taken in float64.
    """
    scale = FLOAT32_UNIT_ROUNDOFF / UNIT_ROUNDOFF
    floor = FLOAT32_UNDERFLOW * network.operations
    return replace(bounds, gradient=bounds.gradient * scale + floor)


def _judgeable(row: Row) -> bool:
    """A finite reference and tolerance: otherwise the loss or its bounds overflowed."""
    return math.isfinite(row.reference) and math.isfinite(row.tolerance)


def _engine_gradient(
    engine: Engine, problem: Problem, network: Network, sample: str = ""
) -> Array | GradcheckResult:
    """The engine's dE/dθ at step 0 laid out like ``theta`` (``sample``: ``"@s"`` for sample
    s's own), or the result saying why not."""
    try:
        trace = engine.run(replace(problem, steps=0), {0})
        values = trace[0]
        gradient = np.array([float(values["dE_d" + name + sample]) for name in network.names()])
        if problem.precision == "float32" and not math.isfinite(float(values["E"])):
            why = (
                f"the float32 loss is {values['E']} at these parameters (float32 saturates or "
                "overflows where float64 does not): no finite-difference reference"
            )
            return GradcheckResult(engine.name, 0, "", [], Outcome.SKIPPED, why)
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
