"""The laws of the property tests: each a plain ``check_*`` function raising AssertionError.

In the manner of data-apis/array-api-tests, every property is a function that
raises ``AssertionError`` with a precise message.  ``tests/testing/test_properties.py``
calls them from ``@given`` tests with the real engines; ``tests/testing/test_properties_power.py``
and the bug zoo call them with broken engines to show that each can fail.  An engine
property's message ends with the counterexample as a fixture file (between
:data:`FIXTURE_START` and :data:`FIXTURE_END`) whose claims pin what the property
expected: paste it into ``tests/regressions/`` and it runs with the suite from then on.

Two engine choices keep float64 honest (see ``bpcheck.testing.strategies`` for the
ranges of the numbers):

* training that leaves the honest range is not drawn (:func:`stays_honest`):
  three updates at a learning rate near 1 can drive a tanh or sigmoid into
  saturation, where ``1 - tanh²`` written from the output keeps a few digits
  and correct engines differ in the 8th, or overflow ``exp``;
* values are compared relative to the largest value of the same kind in the
  same layer (:func:`group_of`), not only to themselves: a gradient that is the
  difference of large per-sample terms carries their rounding error, and a
  purely relative tolerance fails it for float64 noise, not for a bug.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, NoReturn

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from bpcheck.checking import registry
from bpcheck.checking.check import (
    Disagreement,
    agreement_floor,
    agreement_tolerance,
)
from bpcheck.checking.results import disagreement_table
from bpcheck.gradcheck import engine_check as gradcheck
from bpcheck.io.loader import FixtureError
from bpcheck.model import quantities as q
from bpcheck.model import verdicts
from bpcheck.model.engine import Engine, required_capabilities
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import (
    Problem,
)
from bpcheck.model.quantities import Trace
from bpcheck.testing import fixture_strategies as bfs
from bpcheck.testing import strategies as bst
from bpcheck.testing.conformance import central_difference, parameter_names, with_parameter

ENGINES: dict[str, Engine] = {
    name: engine for name, engine in registry.in_process().items() if engine.available().available
}
REFERENCE: Engine = next(iter(ENGINES.values()))
"""The first available engine in registry order (loops): pins and the honesty screen use it."""

COMPILES_PER_SHAPE = frozenset({"autodiff"})
"""Engines that compile once per problem shape, so see only a pool of architectures."""

PROFILE = str(getattr(settings, "get_current_profile_name", lambda: settings._current_profile)())
POOL_SIZE = None if PROFILE == "thorough" else 6
"""Architectures the compiling engines see: a few compiles per property instead of one per
example (0.2-0.5 s each).  The pool covers every loss, depth, bias kind, batch mode and
order; the ``thorough`` profile draws free architectures for them too."""

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"
FIXTURE_START = "--- fixture: save as tests/regressions/<id>.json or fixtures/<document>/<id>.json"
FIXTURE_END = "--- end of fixture ---"

HONEST_NET = 30.0
"""Largest |net| of an identity or relu unit in an honest run."""
SATURATION_NET = 5.0
"""Largest |net| of a sigmoid, tanh or softmax unit: 1 - tanh(5)² = 1.8e-4 keeps 12 digits."""


def examples(weight: float = 1.0) -> int:
    """The profile's example count scaled by ``weight`` (cheap properties get more)."""
    return max(1, round(settings().max_examples * weight))


# --- problems for an engine ----------------------------------------------------------------


def net_limits(problem: Problem) -> dict[int, float]:
    """Largest honest |net| per layer: saturating units must stay short of saturation."""
    return {
        number: HONEST_NET if layer.activation in ("identity", "relu") else SATURATION_NET
        for number, layer in enumerate(problem.layers, start=1)
    }


def stays_honest(problem: Problem) -> bool:
    """Whether the reference engine trains ``problem`` within the honest ranges.

    The numbers drawn start there; training can leave them (three updates at a
    learning rate near 1 can saturate a tanh or overflow ``exp``), and a run
    that does is outside what these properties are about: see the module
    docstring of ``bpcheck.testing.strategies``.
    """
    try:
        trace = REFERENCE.run(problem, range(problem.steps + 1))
    except (ArithmeticError, ValueError):
        return False
    limits = net_limits(problem)
    for values in trace.values():
        for name, value in values.items():
            if not math.isfinite(value):
                return False
            if name.startswith("net[") and abs(value) > limits[int(name[4 : name.index(",")])]:
                return False
    return True


def pooled(engines: Iterable[Engine]) -> bool:
    return POOL_SIZE is not None and any(e.name in COMPILES_PER_SHAPE for e in engines)


def shapes_for(
    engines: Iterable[Engine], change: Callable[[bst.Architecture], bst.Architecture] | None = None
) -> SearchStrategy[bst.Architecture]:
    """Architectures: a fixed pool when a compiling engine is involved, any otherwise."""
    if pooled(engines):
        pool = bst.architecture_pool(POOL_SIZE or 1)
        return st.sampled_from([change(a) if change else a for a in pool])
    shapes = bst.architectures()
    return shapes.map(change) if change else shapes


def problems_for(
    engines: Collection[Engine],
    change: Callable[[bst.Architecture], bst.Architecture] | None = None,
    **options: Any,
) -> SearchStrategy[Problem]:
    """Honest problems every one of ``engines`` can do; ``change`` adapts them to a law.

    A third-party engine without, say, ``loss:bce`` is given no bce problem.
    """
    capable = frozenset.intersection(*(e.capabilities for e in engines))
    return (
        bst.problems(shapes_for(engines, change), **options)
        .filter(lambda p: required_capabilities(p) <= capable)
        .filter(stays_honest)
    )


def full_simultaneous(arch: bst.Architecture) -> bst.Architecture:
    return replace(arch, batch="full", update_order="simultaneous")


def with_hidden_layer(arch: bst.Architecture) -> bst.Architecture:
    """At least one hidden layer (a copy of the output's input size) to permute."""
    if arch.depth > 1:
        return arch
    return replace(
        arch,
        sizes=(arch.sizes[0], max(2, arch.sizes[0]), arch.sizes[1]),
        activations=("tanh", *arch.activations),
        bias_kinds=("per_neuron", *arch.bias_kinds),
        bias_trainable=(True, *arch.bias_trainable),
    )


# --- failure messages: every counterexample a fixture ------------------------------------


def fixture_block(problem: Problem, note: str, claims: Sequence[dict[str, Any]] = ()) -> str:
    text = bfs.problem_as_fixture(problem, note, claims)
    return f"{FIXTURE_START}\n{text}{FIXTURE_END}"


def fail(
    summary: str, details: str, problem: Problem, claims: Sequence[dict[str, Any]]
) -> NoReturn:
    """Raise the failure: what broke, the evidence, and the problem as a ready fixture."""
    raise AssertionError(f"{summary}\n{details}\n{fixture_block(problem, summary, claims)}")


def relative_tolerance(absolute: float, value: float) -> float:
    """A pin tolerance (relative, as claims take it) equivalent to ``absolute`` at ``value``;
    the smallest float for 0, which asks for the value exactly."""
    if absolute == 0.0:
        return math.ulp(0.0)
    return max(absolute / max(abs(value), 1e-300), 1e-15)


def pins(rows: Sequence[tuple[int, str, float, float]], limit: int = 12) -> list[dict[str, Any]]:
    """Claims pinning (step, quantity, expected value, absolute tolerance) rows."""
    return [
        bfs.pinned_claim(f"pin-{n}", name, step, value, relative_tolerance(tol, value))
        for n, (step, name, value, tol) in enumerate(rows[:limit], start=1)
    ]


def traced(engine: Engine, problem: Problem, record: Iterable[int] | None = None) -> Trace:
    """The engine's trace of every step; a crash on a valid problem is a failure."""
    steps = set(record) if record is not None else set(range(problem.steps + 1))
    try:
        return engine.run(problem, steps)
    except Exception as error:
        summary = f"{engine.name} raised {type(error).__name__}: {error}"
        fail(summary, "every valid problem must run", problem, [])


# --- comparing traces: tolerances aware of cancellation ----------------------------------

_INDEXED = re.compile(r"^([A-Za-z_]+)\[(\d+)")
_TERM_PARTIAL = re.compile(r"^dE\[\d+\]_d(out|net)\[(\d+)")
_GROUP_KINDS = {"w": "param", "b": "param", "dE_dw": "grad", "dE_db": "grad"}


def group_of(name: str) -> str:
    """Quantities whose rounding errors share one scale: the same kind in the same layer.

    ``dE_dw[2,1,3]`` and ``dE_db[2]`` are in group ``grad[2``; ``delta[1,2]@3`` in
    ``delta[1``; the per-output terms ``E[k]@s`` in ``E[k]``.
    """
    base = name.partition("@")[0]
    partial = _TERM_PARTIAL.match(base)
    if partial:
        return f"dE[k]_d{partial.group(1)}[{partial.group(2)}"
    if base.startswith("E["):
        return "E[k]"
    indexed = _INDEXED.match(base)
    if indexed:
        return f"{_GROUP_KINDS.get(indexed.group(1), indexed.group(1))}[{indexed.group(2)}"
    return base


def group_scales(values: Mapping[str, float]) -> dict[str, float]:
    scales: dict[str, float] = {}
    for name, value in values.items():
        group = group_of(name)
        scales[group] = max(scales.get(group, 0.0), abs(value))
    return scales


def tolerance_for(
    step: int, expected: float, found: float, scale: float, precision: str = "float64"
) -> float:
    """The agreement tolerance of checking.py, relative to the value or its group's scale
    (in float32's epsilons for a float32 problem)."""
    size = max(abs(expected), abs(found), scale)
    return max(agreement_tolerance(step, precision) * size, agreement_floor(precision))


def trace_differences(
    expected: Trace,
    found: Trace,
    labels: tuple[str, str],
    rename: Callable[[str], str] = str,
    precision: str = "float64",
) -> list[Disagreement]:
    """Every quantity on which ``found`` differs from ``expected`` beyond tolerance.

    ``rename`` maps a name of ``expected`` to the name the same quantity has in
    ``found`` (the identity unless the problems differ by a relabelling).
    """
    rows: list[Disagreement] = []
    for step in sorted(set(expected) | set(found)):
        want, got = expected.get(step, {}), found.get(step, {})
        scales = group_scales(want)
        renamed = {rename(name): name for name in want}
        for name, value in want.items():
            other = got.get(rename(name), math.nan)
            tol = tolerance_for(step, value, other, scales[group_of(name)], precision)
            if not abs(value - other) <= tol:
                values = {labels[0]: value, labels[1]: other}
                rows.append(Disagreement(step, name, values, abs(value - other), tol))
        for name in sorted(set(got) - set(renamed)):
            rows.append(Disagreement(step, name, {labels[1]: got[name]}, math.nan, 0.0))
    return rows


def pinned_rows(rows: Sequence[Disagreement], label: str) -> list[tuple[int, str, float, float]]:
    return [(d.step, d.quantity, d.values[label], d.tolerance) for d in rows if label in d.values]


# --- the properties: engines -----------------------------------------------------------


def check_engines_agree(
    engines: Mapping[str, Engine], problem: Problem, record: Iterable[int] | None = None
) -> None:
    """Every engine's trace equals the first engine's on every quantity of every step
    (of the steps in ``record``, when given)."""
    names = list(engines)
    steps = None if record is None else sorted(record)
    traces = {name: traced(engine, problem, steps) for name, engine in engines.items()}
    first = names[0]
    for other in names[1:]:
        labels = (first, other)
        rows = trace_differences(traces[first], traces[other], labels, precision=problem.precision)
        if rows:
            summary = f"{other} disagrees with {first} on {len(rows)} quantities"
            table = disagreement_table(rows[:20], [first, other])
            summary += f" (the fixture's claims pin {first}'s values)"
            fail(summary, table, problem, pins(pinned_rows(rows, first)))


def fd_tolerance(gradient: float, numeric: float, loss: float) -> float:
    """What a central difference with h = 1e-6 max(1, |p|) can vouch for.

    Rounding: E carries a relative error of a few hundred ulps through a deep
    net, which a difference quotient divides by 2h: ~1e-7 (1 + |E|).
    Truncation: h^2 E'''/6 is far below 1e-5 of the gradient for the smooth
    activations within the honest ranges.
    """
    return 1e-5 * max(abs(gradient), abs(numeric)) + 1e-7 * (1.0 + abs(loss))


def near_kink(engine: Engine, problem: Problem, name: str, value: float, loss: float) -> bool:
    """Whether the loss bends sharply within the stencil (a relu crossing 0 there)."""
    if not any(layer.activation == "relu" for layer in problem.layers):
        return False
    h = 1e-6 * max(1.0, abs(value))
    zero = replace(problem, steps=0)
    up = traced(engine, with_parameter(zero, name, value + h), [0])[0][q.LOSS]
    down = traced(engine, with_parameter(zero, name, value - h), [0])[0][q.LOSS]
    right, left = (up - loss) / h, (loss - down) / h
    return abs(right - left) > fd_tolerance(right, left, loss)


def fd_rows(
    engine: Engine, problem: Problem, picks: Sequence[int]
) -> list[tuple[str, float, float, float]]:
    """(gradient name, engine value, central difference, tolerance) of the picked parameters."""
    zero = replace(problem, steps=0)
    trace = traced(engine, zero, [0])[0]
    parameters = parameter_names(zero)
    chosen = sorted({p % len(parameters) for p in picks}) if picks else range(len(parameters))
    rows = []
    for index in chosen:
        name, gradient = parameters[index]
        value, loss = trace[name], trace[q.LOSS]
        if near_kink(engine, zero, name, value, loss):
            continue
        numeric = central_difference(engine, zero, name, value)
        tol = fd_tolerance(trace[gradient], numeric, loss)
        rows.append((gradient, trace[gradient], numeric, tol))
    return rows


def gradcheck_rows(engine: Engine, problem: Problem) -> list[tuple[str, float, float, float]]:
    """Rows from bpcheck.gradcheck.engine_check.check_gradients, when that module provides it."""
    result = gradcheck.check_gradients(engine, replace(problem, steps=0), method="auto", seed=0)
    if result.outcome not in ("ok", "failed", "skipped"):
        summary = f"{engine.name}: gradient check {result.outcome}: {result.reason}"
        fail(summary, "every valid problem must run", problem, [])
    return [
        (f"dE_d{row.parameter}", row.engine_value, row.reference, row.tolerance)
        for row in result.rows
        if row.status != "kink"
    ]  # a directional check's rows are named dE_ddirection[k]: shown, never pinned


HAVE_GRADCHECK = hasattr(gradcheck, "check_gradients")


def flushed(value: float, reference: float) -> bool:
    """A subnormal true value that the engine flushed to zero, as XLA does on CPU.

    Below the smallest normal float64 (2.2e-308) a gradient has lost its relative
    precision anyway; an engine computing in flush-to-zero mode returns 0 there.
    """
    return value == 0.0 and abs(reference) < sys.float_info.min


def check_gradients_match_finite_differences(
    engine: Engine, problem: Problem, picks: Sequence[int] = (), method: str = "auto"
) -> None:
    """Every dE/dp agrees with a finite difference of the loss (relu kinks excepted).

    ``auto``: with ``bpcheck.gradcheck.engine_check.check_gradients`` (Richardson
    extrapolation, tolerances from a running error analysis) when that exists;
    ``central`` (and ``auto`` without it): a central difference of the engine's
    own loss, on the ``picks`` parameters (indices taken modulo their number).
    """
    if method == "auto" and HAVE_GRADCHECK:
        rows = gradcheck_rows(engine, problem)
    else:
        rows = fd_rows(engine, problem, picks)
    bad = [r for r in rows if not abs(r[1] - r[2]) <= r[3] and not flushed(r[1], r[2])]
    if bad:
        summary = f"{engine.name}'s gradient differs from finite differences on {len(bad)}"
        table = "\n".join(
            f"  {name}: engine {value:.17g}, finite difference {numeric:.17g}, tolerance {tol:.3g}"
            for name, value, numeric, tol in bad[:20]
        )
        pinnable = [row for row in bad if row[0].startswith(("dE_dw[", "dE_db["))]
        claims = pins([(0, name, numeric, tol) for name, _, numeric, tol in pinnable])
        fail(summary, table, replace(problem, steps=0), claims)


def check_loss_is_never_negative(engine: Engine, problem: Problem) -> None:
    """E and every term E[k]@s are >= 0 at every step: each loss is a sum of non-negative terms."""
    trace = traced(engine, problem)
    bad = [
        (step, name, value)
        for step, values in sorted(trace.items())
        for name, value in values.items()
        if (name == q.LOSS or name.startswith("E[")) and not value >= 0.0
    ]
    if bad:
        summary = f"{engine.name} gives a negative loss: {bad[0][1]} = {bad[0][2]!r}"
        details = "\n".join(f"  step {s}: {n} = {v!r}" for s, n, v in bad[:20])
        rows = [(s, n, v, 1e-12 * max(1.0, abs(v))) for s, n, v in bad]
        fail(summary, details, problem, pins(another_engines_values(engine, problem, rows)))


def another_engines_values(
    engine: Engine, problem: Problem, rows: Sequence[tuple[int, str, float, float]]
) -> list[tuple[int, str, float, float]]:
    """The rows with their values from another engine, when there is one.

    A law broken by one engine does not say which side of it is wrong; the
    values of an engine that keeps the law are what a regression fixture pins.
    """
    other = next((e for n, e in ENGINES.items() if n != engine.name), None)
    if other is None:
        return list(rows)
    trace = other.run(problem, {step for step, _, _, _ in rows})
    return [(step, name, trace[step][name], tol) for step, name, _, tol in rows]


DESCENT_FRACTION = 1e-10
"""The small step aims at a first-order decrease of this fraction of the loss."""
STATIONARY = 1e-6
"""|g|^2 below this fraction of E: too near a stationary point to predict a decrease."""


def small_learning_rate(loss: float, squared_norm: float) -> float | None:
    """A rate whose first-order decrease is DESCENT_FRACTION of E, or None near a stationary
    point.  Second-order terms are then ~rate |H| / 2 of the decrease: negligible, since
    rate <= DESCENT_FRACTION / STATIONARY = 1e-4."""
    if loss <= 0.0 or squared_norm < STATIONARY * loss:
        return None
    return DESCENT_FRACTION * loss / squared_norm


def trainable_gradient(problem: Problem, values: Mapping[str, float]) -> list[float]:
    """dE/dp of every parameter that moves (frozen biases do not)."""
    grads = []
    for name, gradient in parameter_names(problem):
        layer = problem.layers[int(name[2:].split(",")[0].rstrip("]")) - 1]
        if name.startswith("w") or layer.bias_trainable:
            grads.append(values[gradient])
    return grads


def crosses_a_kink(
    problem: Problem, before: Mapping[str, float], after: Mapping[str, float]
) -> bool:
    """Whether a relu unit switched on or off between two steps (or sat exactly at 0).

    There the loss is not differentiable and no learning rate is small enough:
    a net input of 1e-181 changes sign under any step.
    """
    relu_layers = {
        n for n, layer in enumerate(problem.layers, start=1) if layer.activation == "relu"
    }
    relu_nets = [
        name
        for name in before
        if name.startswith("net[") and int(name[4 : name.index(",")]) in relu_layers
    ]
    return any((before[n] > 0.0) != (after[n] > 0.0) or before[n] == 0.0 for n in relu_nets)


def check_small_step_does_not_increase_loss(engine: Engine, problem: Problem) -> None:
    """One full-batch simultaneous step at a tiny learning rate does not increase E.

    Vacuous near a stationary point (no decrease to predict) and across a relu
    kink (no derivative to predict it with).
    """
    start = replace(problem, steps=0, batch="full", update_order="simultaneous")
    values = traced(engine, start, [0])[0]
    loss = values[q.LOSS]
    norm = math.fsum(g * g for g in trainable_gradient(start, values))
    rate = small_learning_rate(loss, norm)
    if rate is None:
        return
    stepped = replace(start, learning_rate=rate, steps=1)
    trace = traced(engine, stepped, [0, 1])
    if crosses_a_kink(stepped, trace[0], trace[1]):
        return
    after = trace[1][q.LOSS]
    if not after <= loss + 4 * math.ulp(loss):
        summary = f"{engine.name}: a step at learning rate {rate:.3g} increased E"
        details = f"  E = {loss!r} before, {after!r} after; |g|^2 = {norm!r}"
        relation = {
            "id": "small-step-descends",
            "where": "expected by a bpcheck property: gradient descent at a tiny rate",
            "relation": {
                "left": {"quantity": "E", "step": 1},
                "op": "<",
                "right": {"quantity": "E", "step": 0},
            },
            "expect": "holds",
        }
        fail(summary, details, stepped, [relation])


def check_orders_agree_with_one_layer(engine: Engine, problem: Problem) -> None:
    """With one layer of weights there is no hidden layer below: sequential equals simultaneous.

    Except the gradient by the inputs (``dE_dout[0,i]``), which the sequential order
    carries through the updated weights like any layer below; it is left out.
    """
    assert len(problem.layers) == 1, "this law is about one layer of weights"
    simultaneous = without_input_gradients(
        traced(engine, replace(problem, update_order="simultaneous"))
    )
    sequential_problem = replace(problem, update_order="sequential")
    sequential = without_input_gradients(traced(engine, sequential_problem))
    rows = trace_differences(simultaneous, sequential, ("simultaneous", "sequential"))
    if rows:
        summary = f"{engine.name}: sequential differs from simultaneous with one layer"
        table = disagreement_table(rows[:20], ["simultaneous", "sequential"])
        fail(summary, table, sequential_problem, pins(pinned_rows(rows, "simultaneous")))


def without_input_gradients(trace: Trace) -> Trace:
    return {
        step: {n: v for n, v in values.items() if not n.startswith("dE_dout[0,")}
        for step, values in trace.items()
    }


def sample_problem(problem: Problem, index: int) -> Problem:
    """The problem with sample ``index`` alone (0-based)."""
    return replace(problem, inputs=(problem.inputs[index],), targets=(problem.targets[index],))


def check_batch_gradient_is_sum_of_samples(engine: Engine, problem: Problem) -> None:
    """A full-batch gradient is the sum of per-sample gradients (the mean for mse).

    mse divides each term by outputs x samples: a one-sample problem's gradient
    is a mean over outputs, and the batch gradient their mean over samples.  E
    obeys the same law.
    """
    full = replace(problem, steps=0, batch="full")
    values = traced(engine, full, [0])[0]
    singles = [traced(engine, sample_problem(full, s), [0])[0] for s in range(full.n_samples)]
    weight = 1.0 / full.n_samples if full.loss == "mse" else 1.0
    names = [q.LOSS, *(gradient for _, gradient in parameter_names(full))]
    scales = group_scales(values)
    rows = []
    for name in names:
        parts = [single[name] for single in singles]
        expected = weight * math.fsum(parts)
        scale = max(weight * math.fsum(abs(p) for p in parts), scales[group_of(name)])
        tol = tolerance_for(0, expected, values[name], scale)
        if not abs(values[name] - expected) <= tol:
            row = {"sum of samples": expected, "batch": values[name]}
            rows.append(Disagreement(0, name, row, abs(values[name] - expected), tol))
    if rows:
        how = "mean" if full.loss == "mse" else "sum"
        summary = f"{engine.name}: the batch gradient is not the {how} of per-sample gradients"
        table = disagreement_table(rows[:20], ["sum of samples", "batch"])
        fail(summary, table, full, pins(pinned_rows(rows, "sum of samples")))


def permuted_problem(problem: Problem, layer: int, order: Sequence[int]) -> Problem:
    """Hidden layer ``layer`` (1-based) with its neurons reordered: new j is old order[j].

    Its rows of weights and per-neuron biases move with the neurons, and so do
    the columns of the layer above: the network computes the same function.
    """
    layers = list(problem.layers)
    below, above = layers[layer - 1], layers[layer]
    bias = below.bias
    if below.bias_kind == "per_neuron":
        bias = tuple(bias[j] for j in order)
    layers[layer - 1] = replace(below, weights=tuple(below.weights[j] for j in order), bias=bias)
    columns = tuple(tuple(row[j] for j in order) for row in above.weights)
    layers[layer] = replace(above, weights=columns)
    return replace(problem, layers=tuple(layers))


_POSITIONAL = re.compile(
    r"^(?P<head>.*?)(?P<kind>[A-Za-z_]+)\[(?P<indices>[\d,]+)\](?P<tail>@\d+)?$"
)


def renamer(layer: int, order: Sequence[int]) -> Callable[[str], str]:
    """Maps a quantity's name in the original problem to its name in the permuted one.

    Neuron j of the permuted layer becomes the neuron at ``order.index(j)``: its
    net, out, deltas, term partials, bias and incoming weights (``w[layer,j,i]``),
    and the weights leaving it (``w[layer+1,k,j]``).  Everything else keeps its name.
    """
    new_index = {old + 1: new + 1 for new, old in enumerate(order)}

    def rename(name: str) -> str:
        match = _POSITIONAL.match(name)
        if match is None or name.startswith("E["):
            return name
        indices = [int(n) for n in match["indices"].split(",")]
        if match["kind"] in ("w", "dE_dw", "dw", "net_term"):  # [L,j,i]: a weight's indices
            number, j, i = indices
            j = new_index[j] if number == layer else j
            i = new_index[i] if number == layer + 1 else i
            indices = [number, j, i]
        elif len(indices) == 2 and indices[0] == layer:
            indices = [layer, new_index[indices[1]]]
        joined = ",".join(str(n) for n in indices)
        return f"{match['head']}{match['kind']}[{joined}]{match['tail'] or ''}"

    return rename


def check_hidden_permutation_permutes_gradients(
    engine: Engine, problem: Problem, layer: int, order: Sequence[int]
) -> None:
    """Reordering a hidden layer's neurons reorders every quantity of theirs, and no other."""
    original = traced(engine, problem)
    permuted_p = permuted_problem(problem, layer, order)
    permuted = traced(engine, permuted_p)
    rename = renamer(layer, order)
    rows = trace_differences(original, permuted, ("expected", "permuted"), rename)
    if rows:
        summary = (
            f"{engine.name}: permuting layer {layer}'s neurons as {list(order)} changed values"
        )
        table = disagreement_table(rows[:20], ["expected", "permuted"])
        before = pinned_rows(rows, "expected")
        after = [(s, rename(n), v, t) for s, n, v, t in before]
        sides = [(problem, before, original), (permuted_p, after, permuted)]
        chosen, claims = wrong_side(engine, sides)
        fail(summary, table, chosen, claims)


def wrong_side(
    engine: Engine, sides: Sequence[tuple[Problem, list[tuple[int, str, float, float]], Trace]]
) -> tuple[Problem, list[dict[str, Any]]]:
    """Of two problems a law relates, the one where another engine's values catch ``engine``.

    A law broken between two problems does not say which one the engine gets
    wrong; a regression fixture must hold that one.
    """
    for problem, rows, trace in sides:
        theirs = another_engines_values(engine, problem, rows)
        if any(abs(trace[s][n] - v) > t for s, n, v, t in theirs):
            return problem, pins(theirs)
    problem, rows, _ = sides[-1]
    return problem, pins(rows)


def initial_values(problem: Problem) -> dict[str, float]:
    """Every weight and bias as the problem gives it, by canonical name."""
    values = {}
    for number, layer in enumerate(problem.layers, start=1):
        for j, row in enumerate(layer.weights, start=1):
            for i, w in enumerate(row, start=1):
                values[q.weight(number, j, i)] = w
        if layer.bias_kind == "shared":
            values[q.bias(number, None)] = layer.bias[0]
        elif layer.bias_kind == "per_neuron":
            for j, b in enumerate(layer.bias, start=1):
                values[q.bias(number, j)] = b
    return values


def check_zero_steps_change_nothing(engine: Engine, problem: Problem) -> None:
    """With steps = 0 every parameter in the trace is exactly its initial value."""
    zero = replace(problem, steps=0)
    trace = traced(engine, zero, [0])[0]
    bad = [
        (name, value, trace.get(name))
        for name, value in initial_values(zero).items()
        if trace.get(name) != value
    ]
    if bad:
        summary = f"{engine.name} moved {len(bad)} parameters without a training step"
        details = "\n".join(f"  {n}: given {v!r}, traced {t!r}" for n, v, t in bad[:20])
        fail(summary, details, zero, pins([(0, n, v, 0.0) for n, v, _ in bad]))


# --- the properties: verdicts ---------------------------------------------------------------

Verdict = Callable[[float, str], str]


def check_rounded_print_is_a_match(
    verdict: Verdict, value: float, places: int, scientific: bool = False
) -> None:
    """A value rounded to d decimals, as printed, is a ``match`` for that string."""
    printed = bst.printed_rounded(value, places, scientific)
    found = verdict(value, printed)
    assert found == verdicts.MATCH, (
        f"verdict({value!r}, {printed!r}) = {found!r}, expected 'match': "
        f"{printed} is {value!r} rounded to {verdicts.decimals(printed)} decimals"
    )


def check_cut_print_is_match_or_truncated(verdict: Verdict, value: float, places: int) -> None:
    """A value cut (truncated) at d decimals is ``match`` or ``truncated``, never ``mismatch``."""
    printed = bst.printed_cut(value, places)
    found = verdict(value, printed)
    assert found in (verdicts.MATCH, verdicts.TRUNCATED), (
        f"verdict({value!r}, {printed!r}) = {found!r}, expected 'match' or 'truncated': "
        f"{printed} is {value!r} cut at {places} decimals "
        f"(exactly {Decimal(value).quantize(Decimal(1).scaleb(-places), ROUND_DOWN)})"
    )


def check_verdict_is_total(verdict: Verdict, value: float, printed: str) -> None:
    """Any float against any printed decimal gets one of the three verdicts, without raising."""
    try:
        found = verdict(value, printed)
    except Exception as error:
        raise AssertionError(
            f"verdict({value!r}, {printed!r}) raised {type(error).__name__}: {error!r}"
        ) from error
    assert found in verdicts.VERDICTS, f"verdict({value!r}, {printed!r}) = {found!r}"


# --- the properties: the loader --------------------------------------------------------------

Loader = Callable[[Path], Fixture]


def loaded_from_text(loader: Loader, text: str) -> Fixture | FixtureError:
    """Write ``text`` to a fresh file and load it: a fixture, or the FixtureError raised."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fixture.json"
        path.write_text(text, "utf-8")
        try:
            return loader(path)
        except FixtureError as error:
            return error


def check_loader_raises_only_fixture_error(loader: Loader, text: str) -> None:
    """Whatever the file holds, loading gives a fixture or a FixtureError, nothing else."""
    try:
        loaded_from_text(loader, text)
    except Exception as error:
        raise AssertionError(
            f"loading this file raised {type(error).__name__}: {error!r}; expected a "
            f"FixtureError naming the file, the location and what was expected.\n"
            f"--- file ---\n{text[:4000]}\n--- end of file ---"
        ) from error


def save(document: Any) -> str:
    """A fixture document as a file holds it."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def check_fixture_survives_save_and_load(
    loader: Loader, saver: Callable[[Any], str], document: dict[str, Any]
) -> None:
    """save -> load keeps the document; load -> save -> load gives the same fixture."""
    first = loaded_from_text(loader, saver(document))
    assert isinstance(first, Fixture), f"a valid fixture failed to load:\n{first}"
    assert first.raw == document, (
        "the loaded document differs from the saved one:\n"
        f"saved  {json.dumps(document)[:2000]}\nloaded {json.dumps(first.raw)[:2000]}"
    )
    second = loaded_from_text(loader, saver(first.raw))
    assert isinstance(second, Fixture), f"a saved fixture failed to load again:\n{second}"
    assert replace(second, path=first.path) == first, "load -> save -> load changed the fixture"


def check_problem_survives_fixture(loader: Loader, problem: Problem) -> None:
    """problem_as_fixture -> load gives back exactly the problem."""
    text = bfs.problem_as_fixture(problem, "round trip")
    loaded = loaded_from_text(loader, text)
    assert isinstance(loaded, Fixture), f"problem_as_fixture made an invalid fixture:\n{loaded}"
    assert loaded.problem == problem, (
        f"the problem changed on the way:\n{problem}\n{loaded.problem}"
    )


def one_layer(arch: bst.Architecture) -> bst.Architecture:
    return arch.one_layer()
