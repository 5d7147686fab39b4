"""The ``certified`` method: a float engine's gradient against the certified gradient.

Finite differences estimate dE/dθ from the loss, and their tolerance must allow for
the estimate's own error.  An engine that certifies its values (the ``certified``
engine) gives the gradient itself, as an interval that contains the exact value,
so a float engine's dE/dθ is checked against it with the tolerance float64 rounding
allows in that quantity (:func:`bpcheck.checking.certified.tolerance`: the 53-bit
ball run's radius, doubled, at least 8 ULPs), not the far wider one a finite
difference needs.  The certified engine's own gradient is then checked by the
``mpmath`` method, the opinion no engine wrote (:func:`gradcheck_fixture`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bpcheck.checking.certified import interval, radius_53, tolerance
from bpcheck.checking.check import Outcome, certified_values
from bpcheck.gradcheck.engine_check import why_skipped
from bpcheck.gradcheck.network import bias_name
from bpcheck.gradcheck.result import GradcheckResult, Row, make_row, outcome_of
from bpcheck.model import quantities as q
from bpcheck.model.engine import CannotRun, Enclosures, Engine, encloses
from bpcheck.model.problem import Problem

METHOD = "certified"


def gradient_names(problem: Problem) -> list[str]:
    """``dE_dw[...]`` and ``dE_db[...]`` of every parameter, in the order of the problem."""
    names: list[str] = []
    for n, layer in enumerate(problem.layers, start=1):
        for j in range(layer.size):
            names.extend(q.weight_grad(n, j + 1, i + 1) for i in range(layer.fan_in))
        names.extend("dE_d" + bias_name(layer, n, j) for j in range(len(layer.bias)))
    return names


def check_against_certified(
    engine: Engine, certifier: Engine, problem: Problem, step: int = 0
) -> GradcheckResult:
    """``engine``'s dE/dθ at step 0 of ``problem`` against ``certifier``'s enclosure of it.

    Never raises for an engine's failure: the ``errored`` or ``skipped`` outcome.
    """
    problem = replace(problem, steps=0)
    for who in (engine, certifier):
        reason = why_skipped(who, problem)
        if reason is not None and who is certifier:
            reason = f"the certified reference: {reason}"
        if reason is not None and not reason.startswith("NumPy"):
            return GradcheckResult(engine.name, step, METHOD, [], Outcome.SKIPPED, reason)
    try:
        values = engine.run(problem, {0})[0]
        enclosed = certified_values(certifier, problem, {0})
    except CannotRun as error:
        return GradcheckResult(engine.name, step, METHOD, [], Outcome.SKIPPED, str(error))
    except Exception as error:  # an engine's bug is a result to report, not a crash
        why = f"{type(error).__name__}: {error}"
        return GradcheckResult(engine.name, step, METHOD, [], Outcome.ERRORED, why)
    rows = [
        _row(name, values, enclosed, name.removeprefix("dE_d")) for name in gradient_names(problem)
    ]
    return GradcheckResult(engine.name, step, METHOD, rows, outcome_of(rows))


def _row(name: str, values: Mapping[str, float], enclosed: Enclosures, parameter: str) -> Row:
    found = interval(enclosed, name, 0)
    assert found is not None, name
    allowed = tolerance(found, radius_53(enclosed, name, 0))
    return make_row(parameter, float(values[name]), found.nearest, allowed)


def certifier_of(engines: Mapping[str, Engine]) -> Engine | None:
    """The first engine that certifies its values and can run here, or None."""
    return next((e for e in engines.values() if encloses(e) and e.available().available), None)


def no_certifier(engine: Engine) -> GradcheckResult:
    why = "no engine that certifies its values is selected, or it cannot run here"
    return GradcheckResult(engine.name, 0, METHOD, [], Outcome.SKIPPED, why)
