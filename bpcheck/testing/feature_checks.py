"""Conformance checks for what issue 17 added: optimizers, mini-batches, kinks, float32 and
the extended names.

Like every conformance check, each compares an engine with itself (its own recorded
gradients and losses, its own finite differences) or with formulas written out here,
never with another engine:

* :func:`check_mini_batch`: each update uses the samples of ``batch_of_step`` in the
  stated order, and its gradients are those of a full batch of those samples alone;
* :func:`check_momentum`: three steps of classical and Nesterov momentum rebuilt from
  the engine's own gradients (the velocity starts at 0; Nesterov's change is
  ``mu v_new - eta g``);
* :func:`check_weight_decay`: ``dE_dw`` is the undecayed gradient plus ``lambda w``,
  biases are not decayed, and E holds ``lambda/2 sum w^2``;
* :func:`check_kinks_take_the_left_branch`: leaky_relu'(0) is the slope, elu'(0) alpha;
* :func:`check_float32`: every value a float32, and computed in float32 (an input of
  ``1 + 2^-30`` is 1, ``1 + 2^-24`` rounds to 1: the loss is exactly 0);
* with ``quantity:extended``: :func:`check_input_gradients` (``dE_dout[0,i]`` against
  finite differences of the inputs), :func:`check_extended_identities` (``E@s`` the sum
  of its terms, ``error = t - o``, ``error_term = -delta``, net terms summing to the
  weighted sum and the net input, per-sample gradients summing to the batch's) and
  :func:`check_parameter_changes` (``p + dw`` is the next step's ``p``; without
  momentum ``dw = -eta dE_dw``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import replace

from bpcheck.model import quantities as q
from bpcheck.model.engine import FLOAT32, Engine
from bpcheck.model.problem import Layer, Problem, batch_of_step, layer_rate
from bpcheck.testing import minimal_problems as mp
from bpcheck.testing.check_support import (
    EXACT,
    FD_STEP,
    FD_TOLERANCE,
    Skip,
    assert_close,
    decay_term,
    first_of,
    layer_of,
    loss_at,
    parameter_names,
    problems_exercising,
    require,
    require_capability,
    supported,
    with_input,
    with_parameters,
)
from bpcheck.testing.paths import path_differences

Check = Callable[[Engine], None]


def _parameters(problem: Problem) -> list[str]:
    return [name for name, _ in parameter_names(problem)]


def _trainable(problem: Problem, name: str) -> bool:
    return name.startswith("w") or problem.layers[layer_of(name)].bias_trainable


def check_mini_batch(engine: Engine) -> None:
    """Each update of a mini-batch problem uses the samples ``batch_of_step`` names, in the
    stated sample order (the last batch of an epoch smaller), and its gradients are those
    of a full batch of those samples alone."""
    problem = first_of(engine, "batch:mini")
    trace = engine.run(problem, set(range(problem.steps + 1)))
    for step in range(problem.steps + 1):
        batch = batch_of_step(problem, step)
        wanted = {s + 1 for s in batch}
        used = {int(n.rpartition("@")[2]) for n in trace[step] if "@" in n}
        assert used == wanted, (
            f"step {step} must use samples {sorted(wanted)} (batches of {problem.batch_size} "
            f"in the order {[s + 1 for s in problem.sample_order]}); found {sorted(used)}"
        )
        alone = replace(
            problem,
            inputs=tuple(problem.inputs[s] for s in batch),
            targets=tuple(problem.targets[s] for s in batch),
            batch="full",
            batch_size=0,
            sample_order=(),
            steps=0,
        )
        start = with_parameters(alone, {n: trace[step][n] for n in _parameters(problem)})
        own = engine.run(require(engine, start, "a full batch of those samples"), {0})[0]
        for _, grad in parameter_names(problem):
            how = f"step {step} trains on samples {sorted(wanted)} alone"
            assert_close(f"{grad} at step {step}", trace[step][grad], own[grad], EXACT, how)


def check_momentum(engine: Engine) -> None:
    """Three updates of classical and Nesterov momentum rebuilt from the engine's own
    gradients: v <- mu v - eta g; the change is v, or mu v - eta g for Nesterov; the
    velocity starts at 0 (and so do the changes ``dw`` the engine records, if it does)."""
    ran = []
    for capability in ("optimizer:momentum", "optimizer:nesterov"):
        if capability not in engine.capabilities:
            continue
        for label, problem in problems_exercising(engine, capability):
            if problem.update_order != "simultaneous":
                continue
            ran.append(label)
            _check_velocity(engine, problem, label)
    if not ran:
        raise Skip("needs optimizer:momentum or optimizer:nesterov with order:simultaneous")


def _check_velocity(engine: Engine, problem: Problem, label: str) -> None:
    trace = engine.run(problem, set(range(problem.steps + 1)))
    mu = problem.momentum
    for name, grad in parameter_names(problem):
        if not _trainable(problem, name):
            continue
        rate = layer_rate(problem, layer_of(name))
        velocity = 0.0
        for step in range(problem.steps):
            g = trace[step][grad]
            velocity = mu * velocity - rate * g
            change = mu * velocity - rate * g if problem.nesterov else velocity
            kind = "Nesterov: mu v - eta g" if problem.nesterov else "classical: v"
            how = f"{label}: p + change, {kind}, v <- {mu:g} v - eta g from the step's own g"
            expected = trace[step][name] + change
            assert_close(f"{name} at step {step + 1}", trace[step + 1][name], expected, EXACT, how)


def check_weight_decay(engine: Engine) -> None:
    """Coupled L2: dE_dw is the gradient without decay plus lambda w, dE_db has no decay
    (biases are not decayed), and E is the undecayed E plus lambda/2 sum w^2."""
    for label, problem in problems_exercising(engine, "optimizer:weight_decay"):
        decayed = engine.run(replace(problem, steps=0), {0})[0]
        plain = engine.run(replace(problem, steps=0, weight_decay=0.0), {0})[0]
        lam = problem.weight_decay
        for name, grad in parameter_names(problem):
            extra = lam * decayed[name] if name.startswith("w") else 0.0
            why = "the gradient without decay + lambda w" if extra else "biases are not decayed"
            assert_close(grad, decayed[grad], plain[grad] + extra, EXACT, f"{label}: {why}")
        expected = plain[q.LOSS] + decay_term(problem, decayed)
        assert_close("E", decayed[q.LOSS], expected, EXACT, f"{label}: E + lambda/2 sum w^2")


def check_kinks_take_the_left_branch(engine: Engine) -> None:
    """At a net input of exactly 0, leaky_relu'(0) is its slope and elu'(0) its alpha
    (the left branch, as relu'(0) = 0): dout_dnet and delta = dE_dout x slope there."""
    ran = []
    for activation in ("leaky_relu", "elu"):
        problem = mp.relu_kink_problem("none", activation)
        if not supported(engine, problem):
            continue
        require(engine, problem)
        ran.append(activation)
        trace = engine.run(problem, {0})[0]
        slope = mp.slope_at_kink(activation)
        for name, where in mp.KINKS:
            net = name.replace("delta", "net")
            assert trace[net] == 0.0, f"{net} = {trace[net]!r}, expected exactly 0 ({where})"
            d_slope = name.replace("delta", "dout_dnet")
            how = f"{activation}'(0) is {slope:g}, the left branch ({where})"
            assert_close(d_slope, trace[d_slope], slope, EXACT, how)
            expected = trace[name.replace("delta", "dE_dout")] * slope
            assert_close(name, trace[name], expected, EXACT, f"dE_dout x {slope:g} ({where})")
    if not ran:
        raise Skip("needs activation:leaky_relu or activation:elu")


# --- float32 ------------------------------------------------------------------------------

ROUNDED_AWAY = 1.0 + 2.0**-30
"""An input float32 cannot hold: it reads as 1."""
PROBE = Problem(
    layers=(Layer(((1.0, 2.0**-24),), "identity", "none"),),
    inputs=((1.0, 1.0), (ROUNDED_AWAY, 0.0)),
    targets=((1.0,), (1.0,)),
    loss="half_sse",
    learning_rate=0.5,
    steps=1,
    precision="float32",
)
"""Computed in float32, every value is exact and plain: sample 1's net input 1 + 2^-24 rounds
to 1 (a tie, to even), sample 2's input is 1, so both outputs are 1, the loss, every
gradient and every change are 0, and the weights stay.  In float64 (or float64 rounded at
the end) the loss is about 1.8e-15 (2^-61 + 2^-49), not 0."""


def is_float32(value: float) -> bool:
    """Whether ``value`` is a float32 (infinities and NaN count; beyond its range does not)."""
    if math.isnan(value) or math.isinf(value):
        return True
    try:
        packed = struct.pack("f", value)
    except OverflowError:
        return False
    return float(struct.unpack("f", packed)[0]) == value


def check_float32(engine: Engine) -> None:
    """``precision: float32``: every value in the trace is a float32, computed in float32
    (:data:`PROBE`'s loss is exactly 0), the lean path equals the recorded one, and the
    minimal float32 problem stays within float32's rounding of its float64 twin."""
    require(engine, PROBE, "the float32 probe")
    trace = engine.run(PROBE, {0, 1})
    _all_float32(trace, "the probe")
    for step in (0, 1):
        assert trace[step][q.LOSS] == 0.0, (
            f"probe: E at step {step} = {trace[step][q.LOSS]!r}, expected exactly 0: in float32 "
            "1 + 2^-24 is 1 and the input 1 + 2^-30 is 1 (in float64 E is about 1.8e-15)"
        )
        for name in ("dE_dw[1,1,1]", "dE_dw[1,1,2]"):
            assert trace[step][name] == 0.0, f"probe: {name} = {trace[step][name]!r}, expected 0"
    problem = mp.problem_for(FLOAT32, frozenset(engine.capabilities))
    if problem is None:
        raise Skip("no minimal float32 problem for the engine's capabilities")
    require(engine, problem)
    steps = set(range(problem.steps + 1))
    single = engine.run(problem, steps)
    _all_float32(single, "the minimal float32 problem")
    double = engine.run(replace(problem, precision="float64"), steps)
    for step, values in double.items():
        for name, value in values.items():
            how = "float32's rounding of the float64 value (a few in 10^7, grown by 3 steps)"
            assert_close(f"{name} at step {step}", single[step][name], value, 1e-4, how)
    differences = path_differences(engine, replace(problem, steps=6))
    assert not differences, "float32: " + "; ".join(differences)


def _all_float32(trace: q.Trace, what: str) -> None:
    for step, values in trace.items():
        wide = [f"{n} = {v!r}" for n, v in values.items() if not is_float32(v)]
        assert not wide, f"{what}, step {step}: not float32 values: {wide[:4]}"


# --- the extended names --------------------------------------------------------------------


def check_input_gradients(engine: Engine) -> None:
    """``dE_dout[0,i]@s`` against a central difference of the engine's own loss in input i of
    sample s, and against the first layer's deltas through its weights."""
    require_capability(engine, q.EXTENDED, "the gradients with respect to the inputs")
    for label, problem in problems_exercising(engine):
        trace = engine.run(replace(problem, steps=0), {0})[0]
        for s in batch_of_step(problem, 0):
            for i in range(problem.n_inputs):
                name = q.neuron("dE_dout", 0, i + 1, s + 1)
                value = problem.inputs[s][i]
                h = FD_STEP * max(1.0, abs(value))
                up = loss_at(engine, with_input(problem, s, i, value + h))
                down = loss_at(engine, with_input(problem, s, i, value - h))
                how = f"{label}: central difference of E in input {i + 1} of sample {s + 1}"
                assert_close(name, trace[name], (up - down) / (2 * h), FD_TOLERANCE, how)
                through = math.fsum(
                    trace[q.weight(1, j, i + 1)] * trace[q.neuron("delta", 1, j, s + 1)]
                    for j in range(1, problem.layers[0].size + 1)
                )
                how = f"{label}: the first layer's deltas through its weights"
                assert_close(name, trace[name], through, EXACT, how)


def check_extended_identities(engine: Engine) -> None:
    """The extended names against the names they are made of, at steps 0 and 1: E@s the
    sum of its terms (E their sum over the batch, plus weight decay), error = t - o,
    error_term = -delta, net_term = w x out below, weighted_sum the sum of the terms and
    net = weighted_sum + bias, dE_dw@s = delta x out below (dE_db@s the deltas), and the
    per-sample gradients summing to the batch's gradient (plus lambda w)."""
    require_capability(engine, q.EXTENDED, "the extended names")
    for label, problem in problems_exercising(engine):
        trace = engine.run(problem, {0, 1})
        for step in (0, 1):
            where = f"{label}, step {step}"
            values = trace[step]
            batch = [s + 1 for s in batch_of_step(problem, step)]
            losses = [_check_sample(problem, values, s, where) for s in batch]
            expected = math.fsum(losses) + decay_term(problem, values)
            assert_close("E", values[q.LOSS], expected, EXACT, f"{where}: the sum of E@s")
            _check_sample_gradients(problem, values, batch, where)


def _check_sample(problem: Problem, values: dict[str, float], s: int, where: str) -> float:
    """One sample's extended names; returns its E@s."""
    terms = [values[q.term(k, s)] for k in range(1, problem.n_outputs + 1)]
    e_s = values[q.sample_loss(s)]
    assert_close(q.sample_loss(s), e_s, math.fsum(terms), EXACT, f"{where}: the sum of E[k]@{s}")
    top = len(problem.layers)
    if problem.has_targets:
        for k in range(1, problem.n_outputs + 1):
            expected = problem.targets[s - 1][k - 1] - values[q.neuron("out", top, k, s)]
            name = q.output_error(k, s)
            assert_close(name, values[name], expected, EXACT, f"{where}: t - o")
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            name = q.neuron("error_term", number, j, s)
            minus = -values[q.neuron("delta", number, j, s)]
            assert_close(name, values[name], minus, EXACT, f"{where}: -delta")
            terms = []
            for i in range(1, layer.fan_in + 1):
                term = q.net_term(number, j, i, s)
                product = values[q.weight(number, j, i)] * values[q.neuron("out", number - 1, i, s)]
                assert_close(term, values[term], product, EXACT, f"{where}: w x out below")
                terms.append(values[term])
            summed = q.neuron("weighted_sum", number, j, s)
            assert_close(summed, values[summed], math.fsum(terms), EXACT, f"{where}: sum of terms")
            net = q.neuron("net", number, j, s)
            expected = values[summed] + _bias_value(layer, number, j, values)
            assert_close(net, values[net], expected, EXACT, f"{where}: weighted sum + bias")
    return e_s


def _bias_value(layer: Layer, number: int, j: int, values: dict[str, float]) -> float:
    if layer.bias_kind == "shared":
        return values[q.bias(number, None)]
    if layer.bias_kind == "per_neuron":
        return values[q.bias(number, j)]
    return 0.0


def _check_sample_gradients(
    problem: Problem, values: dict[str, float], batch: list[int], where: str
) -> None:
    """dE_dw@s = delta x out below, dE_db@s = the deltas; their sums are the batch's."""
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                own = [values[q.at_sample(q.weight_grad(number, j, i), s)] for s in batch]
                for s, value in zip(batch, own, strict=True):
                    product = (
                        values[q.neuron("delta", number, j, s)]
                        * values[q.neuron("out", number - 1, i, s)]
                    )
                    name = q.at_sample(q.weight_grad(number, j, i), s)
                    assert_close(name, value, product, EXACT, f"{where}: delta x out below")
                decay = problem.weight_decay * values[q.weight(number, j, i)]
                name = q.weight_grad(number, j, i)
                how = f"{where}: the sum of {name}@s over {batch}" + (
                    " + lambda w" if decay else ""
                )
                assert_close(name, values[name], math.fsum(own) + decay, EXACT, how)
        _check_bias_samples(problem, layer, number, values, batch, where)


def _check_bias_samples(
    problem: Problem,
    layer: Layer,
    number: int,
    values: dict[str, float],
    batch: list[int],
    where: str,
) -> None:
    keys: list[int | None] = []
    if layer.bias_kind == "shared":
        keys = [None]
    elif layer.bias_kind == "per_neuron":
        keys = list(range(1, layer.size + 1))
    for key in keys:
        js = range(1, layer.size + 1) if key is None else [key]
        own = []
        for s in batch:
            name = q.at_sample(q.bias_grad(number, key), s)
            deltas = math.fsum(values[q.neuron("delta", number, j, s)] for j in js)
            assert_close(name, values[name], deltas, EXACT, f"{where}: the deltas it feeds")
            own.append(values[name])
        name = q.bias_grad(number, key)
        how = f"{where}: the sum of {name}@s over {batch}"
        assert_close(name, values[name], math.fsum(own), EXACT, how)


def check_parameter_changes(engine: Engine) -> None:
    """``dw`` and ``db`` at a step are what that step's update adds: p + dw is the next
    step's p; without momentum, in simultaneous order, dw = -eta dE_dw (the layer's eta)."""
    require_capability(engine, q.EXTENDED, "the changes dw and db")
    for label, problem in problems_exercising(engine):
        trace = engine.run(problem, set(range(problem.steps + 1)))
        plain = problem.momentum == 0.0 and problem.update_order == "simultaneous"
        for step in range(problem.steps):
            for name, grad in parameter_names(problem):
                if not _trainable(problem, name):
                    continue
                change = "d" + name
                found = trace[step][change]
                after = trace[step + 1][name]
                how = f"{label}: p at step {step} + {change}"
                assert_close(
                    f"{name} at step {step + 1}", after, trace[step][name] + found, EXACT, how
                )
                if plain:
                    expected = -layer_rate(problem, layer_of(name)) * trace[step][grad]
                    how = f"{label}: -eta x {grad} (no momentum)"
                    assert_close(f"{change} at step {step}", found, expected, EXACT, how)


FEATURE_CHECKS: tuple[Check, ...] = (
    check_mini_batch,
    check_momentum,
    check_weight_decay,
    check_kinks_take_the_left_branch,
    check_float32,
    check_input_gradients,
    check_extended_identities,
    check_parameter_changes,
)
"""The checks of issue 17's features, in :data:`bpcheck.testing.conformance.CHECKS`."""
