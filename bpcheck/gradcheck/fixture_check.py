"""A fixture's gradients: every engine at step 0 and, after training, at the last step.

The fixture adds two things to a plain problem: the exact decimals its file
wrote (for the ``mpmath`` reference), and a training run whose end point is
worth checking too, at the parameters each engine reached itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from bpcheck.checking.check import Outcome
from bpcheck.gradcheck.certified_reference import METHOD as CERTIFIED
from bpcheck.gradcheck.certified_reference import (
    certifier_of,
    check_against_certified,
    no_certifier,
)
from bpcheck.gradcheck.engine_check import (
    check_gradients,
    parameter_count,
    resolve_method,
    why_skipped,
)
from bpcheck.gradcheck.network import bias_name
from bpcheck.gradcheck.result import GradcheckResult
from bpcheck.model import quantities as q
from bpcheck.model.engine import CannotRun, Engine
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import Problem, batch_of_step


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

    for s, row in enumerate(raw.get("inputs", []), 1):
        for i, x in enumerate(row):
            put(q.neuron("out", 0, i + 1, s), x, problem.inputs[s - 1][i])
    for s, targets in enumerate(raw.get("targets", []), 1):  # none with an objective
        for k, t in enumerate(targets):
            put(f"target[{k + 1}]@{s}", t, problem.targets[s - 1][k])
    for n, (spec, layer) in enumerate(zip(raw.get("layers", []), problem.layers), start=1):
        for j, row in enumerate(spec.get("weights", [])):
            for i, w in enumerate(row):
                put(q.weight(n, j + 1, i + 1), w, layer.weights[j][i])
        for j, b in enumerate(spec.get("bias", {}).get("values", [])):
            put(bias_name(layer, n, j), b, layer.bias[j])
    return found


def with_parameters(problem: Problem, values: Mapping[str, float]) -> Problem:
    """A copy of ``problem`` whose weights and biases are read from ``values`` by name."""
    layers = []
    for n, layer in enumerate(problem.layers, start=1):
        weights = tuple(
            tuple(float(values[q.weight(n, j + 1, i + 1)]) for i in range(layer.fan_in))
            for j in range(layer.size)
        )
        bias = tuple(float(values[bias_name(layer, n, j)]) for j in range(len(layer.bias)))
        layers.append(replace(layer, weights=weights, bias=bias))
    return replace(problem, layers=tuple(layers))


def trained_problem(problem: Problem, trace_step: Mapping[str, float]) -> Problem:
    """The problem at step ``problem.steps``, as a problem of its own at step 0.

    Parameters come from the engine's trace.  With per-sample updates or
    mini-batches the batch of step ``steps`` (in its order) becomes the samples
    of a full batch, so that step 0 uses exactly them.
    """
    trained = replace(with_parameters(problem, trace_step), steps=0)
    if problem.batch == "full":
        return trained
    batch = batch_of_step(problem, problem.steps)
    return replace(
        trained,
        inputs=tuple(problem.inputs[s] for s in batch),
        targets=tuple(problem.targets[s] for s in batch),
        batch="full",
        batch_size=0,
        sample_order=(),
    )


def _data_decimals(problem: Problem, decimals: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Only the inputs and targets of ``decimals``, renumbered like :func:`trained_problem`."""
    keep = {k: v for k, v in decimals.items() if k.startswith(("out[0,", "target["))}
    if problem.batch == "full":
        return keep
    renumbered = {}
    for new, sample in enumerate(batch_of_step(problem, problem.steps), start=1):
        suffix = f"@{sample + 1}"
        for name, value in keep.items():
            if name.endswith(suffix):
                renumbered[name.removesuffix(suffix) + f"@{new}"] = value
    return renumbered


def gradcheck_fixture(
    fixture: Fixture, engines: dict[str, Engine], *, method: str = "auto"
) -> list[GradcheckResult]:
    """Every engine's gradient at step 0 and, for multi-step fixtures, at step ``steps``.

    With ``auto`` (or ``certified``) and an engine that certifies its values among
    ``engines``, the float engines are checked against its gradient (the ``certified``
    method) and it is checked by the ``mpmath`` method.

    At step ``steps`` each engine is checked at the parameters it trained
    itself (read from its trace), so that a long run's end point is checked too.
    A fixture is multi-step when it makes more than one update.  A float32 fixture
    is checked by finite differences only (the certified engine does not do float32).
    """
    problem = fixture.problem
    float32 = problem.precision == "float32"
    decimals = {} if float32 else fixture_decimals(fixture)  # float32: not the file's numbers
    certifying = method in ("auto", CERTIFIED) and not float32  # no certified float32 values
    certifier = certifier_of(engines) if certifying else None
    results = []
    for engine in engines.values():
        if certifier is not None and engine is not certifier:
            results.extend(_against_certified(engine, certifier, problem))
            continue
        if method == CERTIFIED and certifier is None:
            results.append(no_certifier(engine))
            continue
        own = "mpmath" if engine is certifier else method  # the opinion no engine wrote
        results.append(check_gradients(engine, problem, method=own, decimals=decimals))
        if problem.steps > 1:
            results.append(_check_trained(engine, problem, own, decimals))
    return results


def _against_certified(
    engine: Engine, certifier: Engine, problem: Problem
) -> list[GradcheckResult]:
    """Step 0 and, after training, the engine's own end point, against the certified gradient."""
    results = [check_against_certified(engine, certifier, problem)]
    if problem.steps > 1:
        try:
            values = engine.run(problem, {problem.steps})[problem.steps]
            trained = trained_problem(problem, values)
        except CannotRun as error:
            why = str(error)
            return [
                *results,
                GradcheckResult(engine.name, problem.steps, CERTIFIED, [], Outcome.SKIPPED, why),
            ]
        except Exception as error:  # an engine's bug is a result to report, not a crash
            why = f"{type(error).__name__}: {error}"
            return [
                *results,
                GradcheckResult(engine.name, problem.steps, CERTIFIED, [], Outcome.ERRORED, why),
            ]
        results.append(check_against_certified(engine, certifier, trained, problem.steps))
    return results


def _check_trained(
    engine: Engine, problem: Problem, method: str, decimals: Mapping[str, Decimal]
) -> GradcheckResult:
    steps = problem.steps
    chosen = resolve_method(method, parameter_count(problem))
    reason = why_skipped(engine, problem)
    if reason is not None:
        return GradcheckResult(engine.name, steps, chosen, [], Outcome.SKIPPED, reason)
    try:
        values = engine.run(problem, {steps})[steps]
        trained = trained_problem(problem, values)
    except CannotRun as error:
        return GradcheckResult(engine.name, steps, chosen, [], Outcome.SKIPPED, str(error))
    except KeyError as error:
        why = f"the trace at step {steps} lacks {error.args[0]}"
        return GradcheckResult(engine.name, steps, chosen, [], Outcome.ERRORED, why)
    except Exception as error:  # an engine's bug is a result to report, not a crash
        why = f"{type(error).__name__}: {error}"
        return GradcheckResult(engine.name, steps, chosen, [], Outcome.ERRORED, why)
    data = _data_decimals(problem, decimals)
    return replace(check_gradients(engine, trained, method=method, decimals=data), step=steps)
