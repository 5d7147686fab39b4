"""The engine conformance suite: checks every engine, ours or a user's, must pass.

In the manner of scikit-learn's estimator checks, each check is a function
``check_xxx(engine)`` that raises ``AssertionError`` with a precise message.
A user testing their own engine writes::

    from bpcheck.testing import parametrize_with_checks

    @parametrize_with_checks([MyEngine()])
    def test_my_engine(engine, check):
        check(engine)

The checks need no other engine: they compare an engine with its own finite
differences, with the update rule, and with a few values simple enough to write
out here (a one-weight network).  Problems an engine does not declare in its
``capabilities`` are left out, never failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Availability, Engine, required_capabilities
from bpcheck.model.examples import mazur_like
from bpcheck.model.problem import Layer, Problem

Check = Callable[[Engine], None]

FD_STEP = 1e-6
"""Central-difference step: near the optimum (cube root of float64 epsilon) for O(1) values."""
FD_TOLERANCE = 1e-6
"""Relative (and absolute) agreement expected between a gradient and its central difference."""


# --- problems the checks use ------------------------------------------------------------


def varied_problems() -> Iterator[tuple[str, Problem]]:
    """One problem per feature of the model, each small enough for per-parameter checks."""
    yield "sigmoid-half_sse", mazur_like()
    deep = (
        Layer(((0.3, -0.2), (0.1, 0.4), (-0.5, 0.2)), "tanh", "shared", (0.1,), True),
        Layer(((0.2, -0.3, 0.5), (0.4, 0.1, -0.2)), "relu", "per_neuron", (0.05, 0.02), True),
        Layer(((0.6, -0.4), (0.3, 0.2)), "sigmoid", "none"),
    )
    yield "tanh-relu-sigmoid-mse", mazur_like(layers=deep, loss="mse")
    yield (
        "sse-two-samples",
        mazur_like(
            loss="sse", inputs=((0.05, 0.10), (0.9, -0.3)), targets=((0.01, 0.99), (0.5, 0.2))
        ),
    )
    softmax = (mazur_like().layers[0], replace(mazur_like().layers[1], activation="softmax"))
    yield "softmax_ce", mazur_like(layers=softmax, loss="softmax_ce", targets=((0.0, 1.0),))
    yield "bce", mazur_like(loss="bce", targets=((0.0, 1.0),))
    yield (
        "identity-frozen-shared-bias",
        mazur_like(
            layers=(
                Layer(((0.11, 0.21), (0.12, 0.08)), "identity", "shared", (0.3,), False),
                Layer(((0.14, 0.15),), "identity", "shared", (0.2,), False),
            ),
            inputs=((2.0, 3.0),),
            targets=((1.0,),),
            learning_rate=0.05,
        ),
    )


def supported(engine: Engine, problem: Problem) -> bool:
    return required_capabilities(problem) <= engine.capabilities


def _problems(engine: Engine) -> list[tuple[str, Problem]]:
    return [(label, p) for label, p in varied_problems() if supported(engine, p)]


# --- helpers ----------------------------------------------------------------------------


def parameter_names(problem: Problem) -> list[tuple[str, str]]:
    """(parameter, gradient) name pairs: every weight and bias of the problem."""
    return [(n, "dE_d" + n) for n in q.step_names(problem) if n.startswith(("w[", "b["))]


def with_parameter(problem: Problem, name: str, value: float) -> Problem:
    """A copy of ``problem`` with one weight or bias (by canonical name) set to ``value``."""
    indices = [int(part) for part in name[name.index("[") + 1 : -1].split(",")]
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


# --- the checks -----------------------------------------------------------------------


def check_contract_attributes(engine: Engine) -> None:
    """name, version, capabilities and available() are what the registry and reports read."""
    assert isinstance(engine.name, str) and engine.name, "name: expected a non-empty string"
    assert isinstance(engine.version, str) and engine.version, "version: expected a string"
    assert isinstance(engine.capabilities, frozenset), "capabilities: expected a frozenset"
    unknown = engine.capabilities - ALL_CAPABILITIES
    assert not unknown, f"capabilities: unknown names {sorted(unknown)}"
    status = engine.available()
    assert isinstance(status, Availability), "available(): expected an Availability"
    if not status.available:
        assert status.reason, "available(): an unavailable engine must say why"


def check_trace_has_every_name(engine: Engine) -> None:
    """At each recorded step the trace holds exactly the names of names_at_step, as floats."""
    for label, problem in _problems(engine):
        trace = engine.run(problem, {0, problem.steps})
        for step in (0, problem.steps):
            assert step in trace, f"{label}: step {step} was asked for but not recorded"
            expected = set(q.names_at_step(problem, step))
            found = set(trace[step])
            assert found == expected, (
                f"{label} step {step}: missing {sorted(expected - found)[:5]}, "
                f"unexpected {sorted(found - expected)[:5]}"
            )
            for name, value in trace[step].items():
                assert type(value) is float, f"{label}: {name} is {type(value).__name__}, not float"
                assert math.isfinite(value), f"{label}: {name} = {value}"


def check_records_only_requested_steps(engine: Engine) -> None:
    """A long run keeps only what a claim asks for: no trace for unrequested steps."""
    problem = mazur_like(steps=5)
    trace = engine.run(problem, {2})
    assert set(trace) == {2}, f"asked for step 2 only, recorded steps {sorted(trace)}"
    assert engine.run(problem, set()) == {}, "asked for no step, recorded some"


def check_zero_steps_change_nothing(engine: Engine) -> None:
    problem = mazur_like(steps=0)
    trace = engine.run(problem, {0})
    for name, _ in parameter_names(problem):
        initial = _initial_value(problem, name)
        assert trace[0][name] == initial, f"{name} = {trace[0][name]!r}, expected {initial!r}"


def _initial_value(problem: Problem, name: str) -> float:
    indices = [int(part) for part in name[name.index("[") + 1 : -1].split(",")]
    layer = problem.layers[indices[0] - 1]
    if name.startswith("w"):
        return layer.weights[indices[1] - 1][indices[2] - 1]
    return layer.bias[indices[1] - 1 if len(indices) > 1 else 0]


def check_float64(engine: Engine) -> None:
    """A one-weight identity network: float32 anywhere shows in the 8th digit."""
    problem = Problem(
        layers=(Layer(((0.1,),), "identity"),),
        inputs=((0.3,),),
        targets=((1.0 / 3.0,),),
        loss="half_sse",
        learning_rate=0.7,
        steps=1,
    )
    if not supported(engine, problem):
        return
    trace = engine.run(problem, {0, 1})
    out = 0.1 * 0.3
    gradient = (out - 1.0 / 3.0) * 0.3
    tol = 1e-15
    assert_close("out[1,1]@1", trace[0]["out[1,1]@1"], out, tol, "0.1 * 0.3 in float64")
    assert_close("E", trace[0]["E"], 0.5 * (1.0 / 3.0 - out) ** 2, tol, "1/2 (t - o)^2")
    assert_close("dE_dw[1,1,1]", trace[0]["dE_dw[1,1,1]"], gradient, tol, "(o - t) x")
    assert_close("w[1,1,1] at step 1", trace[1]["w[1,1,1]"], 0.1 - 0.7 * gradient, tol, "w - lr g")


def check_gradients_match_finite_differences(engine: Engine) -> None:
    """Every dE/dw and dE/db against a central difference of the engine's own loss."""
    for label, problem in _problems(engine):
        trace = engine.run(replace(problem, steps=0), {0})[0]
        for name, grad_name in parameter_names(problem):
            numeric = central_difference(engine, problem, name, trace[name])
            how = f"{label}: central difference of E"
            assert_close(grad_name, trace[grad_name], numeric, FD_TOLERANCE, how)


def check_bias_gradients(engine: Engine) -> None:
    """dE/db is the sum of the deltas it feeds (one sample, per-neuron and shared biases)."""
    for label, problem in _problems(engine):
        if problem.n_samples != 1:
            continue
        trace = engine.run(replace(problem, steps=0), {0})[0]
        for number, layer in enumerate(problem.layers, start=1):
            deltas = [trace[q.neuron("delta", number, j, 1)] for j in range(1, layer.size + 1)]
            if layer.bias_kind == "per_neuron":
                for j, delta in enumerate(deltas, start=1):
                    name = q.bias_grad(number, j)
                    assert_close(name, trace[name], delta, 1e-12, f"{label}: delta[{number},{j}]")
            elif layer.bias_kind == "shared":
                name = q.bias_grad(number, None)
                assert_close(name, trace[name], sum(deltas), 1e-12, f"{label}: sum of deltas")


def check_term_partials_add_up(engine: Engine) -> None:
    """The per-output partials dE[k]_d... summed over k give dE_dout and delta."""
    for label, problem in _problems(engine):
        trace = engine.run(replace(problem, steps=0), {0})[0]
        for number, layer in enumerate(problem.layers, start=1):
            for j in range(1, layer.size + 1):
                for wrt, total in (("out", "dE_dout"), ("net", "delta")):
                    parts = [
                        trace[q.term_partial(k, wrt, number, j, 1)]
                        for k in range(1, problem.n_outputs + 1)
                    ]
                    name = q.neuron(total, number, j, 1)
                    assert_close(name, trace[name], math.fsum(parts), 1e-12, f"{label}: sum over k")


def check_update_rule(engine: Engine) -> None:
    """Simultaneous order: every parameter after step 1 is p - lr * dE/dp from step 0.

    Frozen biases must not move.  With the gradient checked against finite
    differences, this also catches an engine that updates sequentially when
    asked for simultaneous updates.
    """
    for label, problem in _problems(engine):
        trace = engine.run(problem, {0, 1})
        for name, _ in parameter_names(problem):
            before, after = trace[0][name], trace[1][name]
            frozen = name.startswith("b") and not problem.layers[_layer(name)].bias_trainable
            gradient = 0.0 if frozen else central_difference(engine, problem, name, before)
            expected = before - problem.learning_rate * gradient
            assert_close(
                f"{name} at step 1", after, expected, FD_TOLERANCE, f"{label}: p - lr * dE/dp"
            )


def _layer(name: str) -> int:
    return int(name[name.index("[") + 1 :].split(",")[0].rstrip("]")) - 1


def check_sequential_order(engine: Engine) -> None:
    """Sequential equals simultaneous for one layer of weights, and differs for two."""
    one_layer = mazur_like(layers=mazur_like().layers[1:], update_order="sequential")
    two_layers = mazur_like(update_order="sequential")
    if not supported(engine, one_layer):
        return
    for problem, same in ((one_layer, True), (two_layers, False)):
        seq = engine.run(problem, {1})[1]
        sim = engine.run(replace(problem, update_order="simultaneous"), {1})[1]
        differ = [n for n, _ in parameter_names(problem) if seq[n] != sim[n]]
        layers = len(problem.layers)
        if same:
            assert not differ, f"{layers} layer(s): sequential changed {differ}"
        else:
            assert differ, f"{layers} layers: sequential gave the same weights as simultaneous"
            assert all(n.endswith("]") and _layer(n) < layers - 1 for n in differ), (
                f"sequential must change only the layers below the output; changed {differ}"
            )


def check_per_sample_batch(engine: Engine) -> None:
    """With per-sample updates, step k uses only sample k mod n."""
    problem = mazur_like(
        inputs=((0.05, 0.10), (0.9, -0.3)), targets=((0.01, 0.99), (0.5, 0.2)), batch="per_sample"
    )
    if not supported(engine, problem):
        return
    trace = engine.run(replace(problem, steps=2), {0, 1, 2})
    for step, sample in ((0, 0), (1, 1), (2, 0)):
        names = [n for n in trace[step] if "@" in n]
        expected_suffix = f"@{sample + 1}"
        wrong = [n for n in names if not n.endswith(expected_suffix)]
        assert not wrong, f"step {step} must use sample {sample + 1} only; found {wrong[:3]}"


def check_deterministic(engine: Engine) -> None:
    problem = mazur_like(steps=3)
    first, second = engine.run(problem, {3}), engine.run(problem, {3})
    assert first == second, "two runs of the same problem gave different traces"


CHECKS: tuple[Check, ...] = (
    check_contract_attributes,
    check_trace_has_every_name,
    check_records_only_requested_steps,
    check_zero_steps_change_nothing,
    check_float64,
    check_gradients_match_finite_differences,
    check_bias_gradients,
    check_term_partials_add_up,
    check_update_rule,
    check_sequential_order,
    check_per_sample_batch,
    check_deterministic,
)
"""Every contract check, in the order they are best read when one fails."""


def failing_checks(engine: Engine) -> dict[str, str]:
    """Run every check; the name and message of each that fails (empty when all pass)."""
    failures: dict[str, str] = {}
    for check in CHECKS:
        try:
            check(engine)
        except AssertionError as error:
            failures[check.__name__] = str(error)
        except Exception as error:  # a missing name or an engine crash fails the check too
            failures[check.__name__] = f"{type(error).__name__}: {error}"
    return failures


def parametrize_with_checks(engines: list[Engine]) -> Any:
    """A pytest parametrisation over (engine, check) with ids like ``loops-check_float64``.

    Unavailable engines appear too, marked skip with their reason.
    """
    import pytest

    params = []
    for engine in engines:
        status = engine.available()
        marks = [] if status.available else [pytest.mark.skip(reason=str(status.reason))]
        for check in CHECKS:
            params.append(
                pytest.param(engine, check, id=f"{engine.name}-{check.__name__}", marks=marks)
            )
    return pytest.mark.parametrize(("engine", "check"), params)
