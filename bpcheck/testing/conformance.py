"""The engine conformance suite: checks every engine, ours or a user's, must pass.

In the manner of scikit-learn's estimator checks, each check is a function
``check_xxx(engine)`` that raises ``AssertionError`` with a precise message.
A user testing their own engine writes::

    from bpcheck.testing import parametrize_with_checks

    @parametrize_with_checks([MyEngine()])
    def test_my_engine(engine, check):
        check(engine)

The checks need no other engine: they compare an engine with its own finite
differences, with the update rule, with its own recorded path, and with values
simple enough to write out here.

The suite cannot pass vacuously.  Problems come from what the engine declares
(:mod:`bpcheck.testing.minimal_problems` builds one per capability), so an
engine that declares fewer capabilities gets fewer problems, not none; a check
with nothing to run raises :class:`Skip` with the reason, which
:func:`run_suite` reports as ``skipped`` and :func:`parametrize_with_checks` as a
pytest skip, never as a pass; an engine that declares no capability, or one it
cannot exercise, fails :func:`check_declares_capabilities`.  While a check runs,
the capabilities its problems needed are noted: :func:`run_suite` returns them,
and ``bpcheck conform`` prints the coverage (capabilities x checks).

Adding a check: write ``check_xxx(engine)``; get its problems from
:func:`problems_exercising` (every minimal problem the engine can run, optionally
only those needing some capabilities) or :func:`require` (one fixed problem, a
``Skip`` naming the missing capabilities if the engine lacks them), so that its
coverage is noted and it skips visibly when nothing applies; raise
``AssertionError`` with the quantity, the value found, the value expected and why;
append it to :data:`CHECKS`; and plant a broken engine that it alone catches in
``tests/support/broken_engines.py`` (a check no broken engine fails is not a check).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import Any

from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Availability, Engine
from bpcheck.model.examples import mazur_like
from bpcheck.model.problem import Layer, Problem, batch_of_step
from bpcheck.testing import minimal_problems as mp
from bpcheck.testing.certified_checks import CERTIFIED_CHECKS
from bpcheck.testing.check_support import (
    EXACT,
    FD_STEP,
    FD_TOLERANCE,
    Skip,
    activation_of,
    assert_close,
    central_difference,
    decay_term,
    exercised,
    first_of,
    initial_value,
    layer_of,
    loss_slope,
    loss_terms,
    note,
    note_capability,
    parameter_names,
    problems_exercising,
    require,
    slope_of,
    supported,
    with_parameter,
    with_parameters,
)
from bpcheck.testing.feature_checks import FEATURE_CHECKS
from bpcheck.testing.paths import path_differences

Check = Callable[[Engine], None]

OK, FAILED, SKIPPED = "ok", "failed", "skipped"

__all__ = [
    "CHECKS",
    "EXACT",
    "FD_STEP",
    "FD_TOLERANCE",
    "CheckResult",
    "Skip",
    "SuiteResult",
    "activation_of",
    "central_difference",
    "failing_checks",
    "loss_slope",
    "loss_terms",
    "mazur_like",
    "parameter_names",
    "parametrize_with_checks",
    "require",
    "run_suite",
    "slope_of",
    "with_parameter",
]


# --- problems the checks use ------------------------------------------------------------


def varied_problems() -> Iterator[tuple[str, Problem]]:
    """One problem per feature of the model, each small enough for per-parameter checks.

    Kept for the tests that name these problems; the checks use
    :func:`problems_exercising`, which adapts to what an engine declares.
    """
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


def check_declares_capabilities(engine: Engine) -> None:
    """An engine must declare something checkable, and every capability it declares must be.

    Without this, an engine declaring nothing would skip every other check and pass.
    """
    declared = frozenset(engine.capabilities)
    assert declared, "capabilities: the engine declares none, so no check could exercise it"
    for capability in sorted(declared & ALL_CAPABILITIES):
        problem = mp.problem_for(capability, declared)
        assert problem is not None, (
            f"capabilities: {capability} is declared but no problem can use it with the "
            "engine's other capabilities (declare at least one of each kind: activation, "
            "loss, bias, batch, order; bce needs sigmoid or softmax outputs, softmax_ce "
            "softmax, sigmoid or softplus ones)"
        )
        note(problem)


def check_trace_has_every_name(engine: Engine) -> None:
    """At each recorded step the trace holds exactly the names of names_at_step, as floats
    (the extended names too when the engine declares ``quantity:extended``, never the
    names bpcheck derives)."""
    extended = q.EXTENDED in engine.capabilities
    if extended:
        note_capability(q.EXTENDED)
    for label, problem in problems_exercising(engine):
        trace = engine.run(problem, {0, problem.steps})
        for step in (0, problem.steps):
            assert step in trace, f"{label}: step {step} was asked for but not recorded"
            expected = set(q.names_at_step(problem, step, extended=extended))
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
    problem = replace(first_of(engine), steps=5)
    trace = engine.run(problem, {2})
    assert set(trace) == {2}, f"asked for step 2 only, recorded steps {sorted(trace)}"
    assert engine.run(problem, set()) == {}, "asked for no step, recorded some"


def check_zero_steps_change_nothing(engine: Engine) -> None:
    problem = replace(first_of(engine), steps=0)
    trace = engine.run(problem, {0})
    for name, _ in parameter_names(problem):
        initial = initial_value(problem, name)
        assert trace[0][name] == initial, f"{name} = {trace[0][name]!r}, expected {initial!r}"


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
    require(engine, problem, "the one-weight identity network")
    trace = engine.run(problem, {0, 1})
    out = 0.1 * 0.3
    gradient = (out - 1.0 / 3.0) * 0.3
    tol = 1e-15
    assert_close("out[1,1]@1", trace[0]["out[1,1]@1"], out, tol, "0.1 * 0.3 in float64")
    assert_close("E", trace[0]["E"], 0.5 * (1.0 / 3.0 - out) ** 2, tol, "1/2 (t - o)^2")
    assert_close("dE_dw[1,1,1]", trace[0]["dE_dw[1,1,1]"], gradient, tol, "(o - t) x")
    assert_close("w[1,1,1] at step 1", trace[1]["w[1,1,1]"], 0.1 - 0.7 * gradient, tol, "w - lr g")


def check_forward_values(engine: Engine) -> None:
    """Every out from its own net by the activation's definition; every loss term and E
    from the outputs by the loss's definition (mse: the mean over outputs and samples;
    ``output``: the objective's output; E with weight decay's lambda/2 sum w^2).

    Finite differences cannot see a loss or an activation that is wrong consistently
    (mse without its divisor, a softmax without its normalisation): this can.
    """
    for label, problem in problems_exercising(engine):
        trace = engine.run(problem, {1})[1]
        batch = batch_of_step(problem, 1)
        count = problem.n_outputs * len(batch)
        total = []
        for s in batch:
            sample = s + 1
            for number, layer in enumerate(problem.layers, start=1):
                js = range(1, layer.size + 1)
                nets = [trace[q.neuron("net", number, j, sample)] for j in js]
                outs = activation_of(layer.activation, nets, layer)
                for j, out in zip(js, outs, strict=True):
                    name = q.neuron("out", number, j, sample)
                    how = f"{label}: {layer.activation} of net"
                    assert_close(name, trace[name], out, EXACT, how)
            ks = range(1, problem.n_outputs + 1)
            outs = [trace[q.neuron("out", len(problem.layers), k, sample)] for k in ks]
            terms = loss_terms(problem.loss, problem.targets[s], outs, count, problem.objective)
            for k, term in zip(ks, terms, strict=True):
                name = q.term(k, sample)
                assert_close(name, trace[name], term, EXACT, f"{label}: {problem.loss} term")
            total.extend(terms)
        total.append(decay_term(problem, trace))
        how = f"{label}: sum of the terms" + (" and weight decay" if problem.weight_decay else "")
        assert_close("E", trace[q.LOSS], math.fsum(total), EXACT, how)


def check_gradients_match_finite_differences(engine: Engine) -> None:
    """Every dE/dw and dE/db against a central difference of the engine's own loss."""
    for label, problem in problems_exercising(engine):
        trace = engine.run(replace(problem, steps=0), {0})[0]
        for name, grad_name in parameter_names(problem):
            numeric = central_difference(engine, problem, name, trace[name])
            how = f"{label}: central difference of E"
            assert_close(grad_name, trace[grad_name], numeric, FD_TOLERANCE, how)


def check_bias_gradients(engine: Engine) -> None:
    """dE/db is the sum over the batch of the deltas it feeds (every neuron's, if shared)."""
    ran = False
    for label, problem in problems_exercising(engine):
        trace = engine.run(replace(problem, steps=0), {0})[0]
        samples = [s + 1 for s in batch_of_step(problem, 0)]
        for number, layer in enumerate(problem.layers, start=1):
            per_neuron = [
                math.fsum(trace[q.neuron("delta", number, j, s)] for s in samples)
                for j in range(1, layer.size + 1)
            ]
            how = f"{label}: sum of delta[{number},j] over samples {samples}"
            if layer.bias_kind == "per_neuron":
                for j, total in enumerate(per_neuron, start=1):
                    name = q.bias_grad(number, j)
                    assert_close(name, trace[name], total, EXACT, how)
                    ran = True
            elif layer.bias_kind == "shared":
                name = q.bias_grad(number, None)
                assert_close(name, trace[name], math.fsum(per_neuron), EXACT, how + " and j")
                ran = True
    if not ran:
        raise Skip("no problem with a bias: the engine declares only bias:none")


def check_term_partials_add_up(engine: Engine) -> None:
    """The per-output partials dE[k]_d... summed over k give dE_dout and delta."""
    for label, problem in problems_exercising(engine):
        trace = engine.run(replace(problem, steps=0), {0})[0]
        for s in batch_of_step(problem, 0):
            for number, layer in enumerate(problem.layers, start=1):
                for j in range(1, layer.size + 1):
                    for wrt, total in (("out", "dE_dout"), ("net", "delta")):
                        parts = [
                            trace[q.term_partial(k, wrt, number, j, s + 1)]
                            for k in range(1, problem.n_outputs + 1)
                        ]
                        name = q.neuron(total, number, j, s + 1)
                        how = f"{label}: sum over k"
                        assert_close(name, trace[name], math.fsum(parts), EXACT, how)


def check_update_rule(engine: Engine) -> None:
    """Simultaneous order: every parameter after step 1 is p - eta * dE/dp from step 0.

    eta is the layer's own rate where it has one, and Nesterov's first change is
    (1 + momentum) times that (the velocity starts at 0: classical momentum's first step
    is plain descent).  Frozen biases must not move.  With the gradient checked against
    finite differences, this also catches an engine that updates sequentially when
    asked for simultaneous updates.
    """
    for label, problem in problems_exercising(engine, "order:simultaneous"):
        frozen = replace(
            problem, layers=(replace(problem.layers[0], bias_trainable=False), *problem.layers[1:])
        )
        first = 1.0 + problem.momentum if problem.nesterov else 1.0
        for variant, what in ((problem, label), (frozen, f"{label}, hidden bias frozen")):
            trace = engine.run(variant, {0, 1})
            for name, _ in parameter_names(variant):
                before, after = trace[0][name], trace[1][name]
                layer = variant.layers[layer_of(name)]
                still = name.startswith("b") and not layer.bias_trainable
                gradient = 0.0 if still else central_difference(engine, variant, name, before)
                rate = variant.learning_rate if layer.learning_rate is None else layer.learning_rate
                expected = before - first * rate * gradient
                how = f"{what}: p - {first:g} x eta x dE/dp, dE/dp by central difference"
                assert_close(f"{name} at step 1", after, expected, FD_TOLERANCE, how)


def check_sequential_order(engine: Engine) -> None:
    """Sequential equals simultaneous for one layer of weights, and differs for two."""
    two_layers = first_of(engine, "order:sequential")
    require(engine, replace(two_layers, update_order="simultaneous"), "the simultaneous twin")
    one_layer = replace(two_layers, layers=two_layers.layers[1:])
    one_layer = replace(one_layer, inputs=tuple(row[:2] for row in one_layer.inputs))
    require(engine, one_layer, "one layer of weights")
    for problem, same in ((one_layer, True), (two_layers, False)):
        seq = engine.run(replace(problem, update_order="sequential"), {1})[1]
        sim = engine.run(replace(problem, update_order="simultaneous"), {1})[1]
        differ = [n for n, _ in parameter_names(problem) if seq[n] != sim[n]]
        layers = len(problem.layers)
        if same:
            assert not differ, f"{layers} layer(s): sequential changed {differ}"
        else:
            assert differ, f"{layers} layers: sequential gave the same weights as simultaneous"
            assert all(layer_of(n) < layers - 1 for n in differ), (
                f"sequential must change only the layers below the output; changed {differ}"
            )


def check_per_sample_batch(engine: Engine) -> None:
    """With per-sample updates, step k uses only sample k mod n: its trace names only that
    sample, and its gradients are those of a full batch of that sample alone."""
    problem = replace(first_of(engine, "batch:per_sample"), steps=3)
    trace = engine.run(problem, {0, 1, 2, 3})
    for step, sample in ((0, 0), (1, 1), (2, 0), (3, 1)):
        names = [n for n in trace[step] if "@" in n]
        expected_suffix = f"@{sample + 1}"
        wrong = [n for n in names if not n.endswith(expected_suffix)]
        assert not wrong, f"step {step} must use sample {sample + 1} only; found {wrong[:3]}"
    alone = replace(problem, inputs=problem.inputs[1:], targets=problem.targets[1:], batch="full")
    pairs = parameter_names(problem)
    for step in (1, 3):
        start = with_parameters(alone, {name: trace[step][name] for name, _ in pairs})
        require(engine, start, "a full batch of one sample")
        own = engine.run(replace(start, steps=0), {0})[0]
        for _, grad in pairs:
            how = f"step {step} trains on sample 2 alone: a full batch of sample 2"
            assert_close(f"{grad} at step {step}", trace[step][grad], own[grad], EXACT, how)


def check_deterministic(engine: Engine) -> None:
    problem = first_of(engine)
    first, second = engine.run(problem, {problem.steps}), engine.run(problem, {problem.steps})
    assert first == second, "two runs of the same problem gave different traces"


def check_lean_path_matches_recorded_path(engine: Engine) -> None:
    """Steps trained without recording end where recorded steps end, to the last bit.

    Every minimal problem (and its per-sample twin), trained 8 steps, recording only the
    middle and the last step, then recording all (see :mod:`bpcheck.testing.paths`).
    """
    for label, problem in problems_exercising(engine):
        twins = [(label, problem)]
        if "batch:per_sample" in engine.capabilities and problem.batch == "full":
            twins.append((f"{label}, per sample", replace(problem, batch="per_sample")))
        for name, twin in twins:
            differences = path_differences(engine, replace(twin, steps=8))
            assert not differences, f"{name}: " + "; ".join(differences)


def check_relu_kink(engine: Engine) -> None:
    """relu'(0) is 0: a unit whose net input is exactly 0 passes no gradient back."""
    bias = next(k for k in mp.PREFERRED["bias"] if f"bias:{k}" in engine.capabilities)
    problem = require(engine, mp.relu_kink_problem(bias), "relu at a net input of exactly 0")
    trace = engine.run(problem, {0})[0]
    for name, where in mp.KINKS:
        net = name.replace("delta", "net")
        assert trace[net] == 0.0, f"{net} = {trace[net]!r}, expected exactly 0 ({where})"
        assert trace[name] == 0.0, (
            f"{name} = {trace[name]:.17g}, expected 0: relu'(0) is 0 by convention ({where})"
        )


def check_large_net_inputs(engine: Engine) -> None:
    """Net inputs from 20 to 1000: sigmoid and tanh saturate, softmax must not overflow."""
    ran = []
    bias = next((k for k in mp.PREFERRED["bias"] if f"bias:{k}" in engine.capabilities), "none")
    for activation in ("sigmoid", "tanh", "softmax"):
        problem = mp.large_net_problem(activation, bias)
        if not supported(engine, problem):
            continue
        note(problem)
        ran.append(activation)
        trace = engine.run(problem, {0, 1})
        nets = [trace[0][q.neuron("net", 1, j, 1)] for j in (1, 2)]
        expected = activation_of(activation, nets)
        for j, out in enumerate(expected, start=1):
            name = q.neuron("out", 1, j, 1)
            assert_close(name, trace[0][name], out, EXACT, f"{activation} at net {nets[j - 1]:g}")
        for step in (0, 1):
            bad = [n for n, v in trace[step].items() if math.isnan(v)]
            assert not bad, f"{activation} at nets {nets}: step {step} has NaN in {bad[:4]}"
    if not ran:
        raise Skip("needs sigmoid, tanh or softmax (with their losses)")


def check_saturated_cross_entropy(engine: Engine) -> None:
    """An output of exactly 0 where the target is 1: the loss is huge (+inf in float64, about
    1600 exactly), never NaN or -inf; dE/dout is positive where o = 1 > t, negative where
    o = 0 < t (infinite in float64)."""
    ran = False
    for loss in ("bce", "softmax_ce"):
        problem = mp.saturated_cross_entropy_problem(loss)
        if not supported(engine, problem):
            continue
        note(problem)
        ran = True
        trace = engine.run(problem, {0})[0]
        loss_value = trace[q.LOSS]
        assert loss_value >= 1000.0, f"{loss}: E = {loss_value!r}, expected about 1600 or +inf"
        above, below = trace["dE_dout[1,1]@1"], trace["dE_dout[1,2]@1"]
        assert below < 0.0, f"{loss}: dE_dout[1,2]@1 = {below!r} at o = 0, t = 1: expected < 0"
        if loss == "bce":
            assert above > 0.0, f"bce: dE_dout[1,1]@1 = {above!r} at o = 1, t = 0: expected > 0"
    if not ran:
        raise Skip("needs bce with sigmoid or softmax_ce with softmax")


def check_backward_values(engine: Engine) -> None:
    """The recorded backward pass, link by link: dout_dnet by the activation's slope, dE_dout
    at the output by the loss's derivative, below it the deltas through the weights, and
    delta = dE_dout x dout_dnet for element-wise activations (relu'(0) = 0); for softmax,
    through its full Jacobian, whatever the loss (bce or mse on softmax too).

    A slope only recorded (not used to train) is wrong without any gradient showing it.
    """
    for label, problem in problems_exercising(engine):
        trace = engine.run(replace(problem, steps=0), {0})[0]
        for s in batch_of_step(problem, 0):
            for number in range(len(problem.layers), 0, -1):
                _check_layer_backward(trace, problem, number, s + 1, label)


def _check_layer_backward(
    trace: dict[str, float], problem: Problem, number: int, sample: int, label: str
) -> None:
    """One layer of one sample: its slopes, its dE_dout and its deltas."""
    layer = problem.layers[number - 1]
    top = len(problem.layers)
    count = problem.n_outputs * len(batch_of_step(problem, 0))
    js = range(1, layer.size + 1)
    for j in js:
        net, out = (trace[q.neuron(k, number, j, sample)] for k in ("net", "out"))
        name = q.neuron("dout_dnet", number, j, sample)
        how = f"{label}: slope of {layer.activation}"
        assert_close(name, trace[name], slope_of(layer.activation, net, out, layer), EXACT, how)
        d_out = q.neuron("dE_dout", number, j, sample)
        if number == top:
            target = problem.targets[sample - 1][j - 1]
            expected = loss_slope(problem.loss, target, out, count, j == problem.objective)
            how = f"{label}: derivative of {problem.loss}"
        else:
            above = problem.layers[number]
            expected = math.fsum(
                trace[q.weight(number + 1, k, j)] * trace[q.neuron("delta", number + 1, k, sample)]
                for k in range(1, above.size + 1)
            )
            how = f"{label}: deltas above through the weights"
        assert_close(d_out, trace[d_out], expected, EXACT, how)
    outs = [trace[q.neuron("out", number, j, sample)] for j in js]
    grads = [trace[q.neuron("dE_dout", number, j, sample)] for j in js]
    for j in js:
        delta = q.neuron("delta", number, j, sample)
        if layer.activation == "softmax":
            o_j = outs[j - 1]
            chained = math.fsum(
                g * o * ((1.0 if a == j else 0.0) - o_j)
                for a, (g, o) in enumerate(zip(grads, outs, strict=True), start=1)
            )
            how = f"{label}: dE_dout through softmax's full Jacobian"
        else:
            chained = grads[j - 1] * trace[q.neuron("dout_dnet", number, j, sample)]
            how = f"{label}: dE_dout x slope"
        assert_close(delta, trace[delta], chained, EXACT, how)


CHECKS: tuple[Check, ...] = (
    check_contract_attributes,
    check_declares_capabilities,
    check_trace_has_every_name,
    check_records_only_requested_steps,
    check_zero_steps_change_nothing,
    check_float64,
    check_forward_values,
    check_backward_values,
    check_gradients_match_finite_differences,
    check_bias_gradients,
    check_term_partials_add_up,
    check_update_rule,
    check_sequential_order,
    check_per_sample_batch,
    check_deterministic,
    check_lean_path_matches_recorded_path,
    check_relu_kink,
    check_large_net_inputs,
    check_saturated_cross_entropy,
    *FEATURE_CHECKS,
    *CERTIFIED_CHECKS,
)
"""Every contract check, in the order they are best read when one fails (the last ones only
for an engine that certifies its values: :mod:`bpcheck.testing.certified_checks`)."""


# --- running the suite --------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check on one engine: its outcome, why (failed or skipped), what it exercised."""

    check: str
    outcome: str
    message: str
    exercised: frozenset[str]


@dataclass(frozen=True)
class SuiteResult:
    engine: str
    declared: frozenset[str]
    results: tuple[CheckResult, ...]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome == FAILED]

    def coverage(self) -> dict[str, list[str]]:
        """Each declared capability -> the checks that ran a problem needing it."""
        return {
            capability: [r.check for r in self.results if capability in r.exercised]
            for capability in sorted(self.declared)
        }


def run_check(check: Check, engine: Engine) -> CheckResult:
    """Run one check: ``ok``, ``failed`` (with the message) or ``skipped`` (with the reason)."""
    noted: set[str] = set()
    token = exercised.set(noted)
    try:
        check(engine)
    except Skip as skip:
        return CheckResult(check.__name__, SKIPPED, str(skip), frozenset(noted))
    except AssertionError as error:
        return CheckResult(check.__name__, FAILED, str(error), frozenset(noted))
    except Exception as error:  # a missing name or an engine crash fails the check too
        message = f"{type(error).__name__}: {error}"
        return CheckResult(check.__name__, FAILED, message, frozenset(noted))
    finally:
        exercised.reset(token)
    return CheckResult(check.__name__, OK, "", frozenset(noted))


def run_suite(engine: Engine, checks: Collection[Check] = CHECKS) -> SuiteResult:
    """Every check on ``engine``, with what each exercised."""
    results = tuple(run_check(check, engine) for check in checks)
    return SuiteResult(engine.name, frozenset(engine.capabilities), results)


def failing_checks(engine: Engine) -> dict[str, str]:
    """Run every check; the name and message of each that fails (empty when all pass).

    Skipped checks are not failures; :func:`run_suite` lists them with their reasons.
    """
    return {r.check: r.message for r in run_suite(engine).failed}


def _skipping(check: Check) -> Check:
    """``check`` with :class:`Skip` turned into a pytest skip carrying its reason."""
    import functools

    import pytest

    @functools.wraps(check)
    def run(engine: Engine) -> None:
        try:
            check(engine)
        except Skip as skip:
            pytest.skip(str(skip))

    return run


def parametrize_with_checks(engines: list[Engine]) -> Any:
    """A pytest parametrisation over (engine, check) with ids like ``loops-check_float64``.

    Unavailable engines appear too, marked skip with their reason; a check that
    does not apply to an engine is skipped with its reason when it runs.
    """
    import pytest

    params = []
    for engine in engines:
        status = engine.available()
        marks = [] if status.available else [pytest.mark.skip(reason=str(status.reason))]
        for check in CHECKS:
            params.append(
                pytest.param(
                    engine, _skipping(check), id=f"{engine.name}-{check.__name__}", marks=marks
                )
            )
    return pytest.mark.parametrize(("engine", "check"), params)
