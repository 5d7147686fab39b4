"""Hypothesis strategies for issue 17's features: new activations, pairings, objectives,
mini-batches, optimizers, float32.

:func:`feature_problems` takes a problem of :func:`bpcheck.testing.strategies.problems`
(whose draws are those of before issue 17, so that the architecture pool, the corpus and
every seed-bound test stay as they were) and draws the features into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from bpcheck.model.problem import Layer, Problem
from bpcheck.testing.strategies import LEARNING_RATES, problems, target_rows

NEW_HIDDEN = ("leaky_relu", "softplus", "elu")
"""The activations issue 17 added (all may be hidden or output units)."""
FEATURE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "bce": ("sigmoid", "softmax", "identity"),
    "softmax_ce": ("softmax", "sigmoid", "softplus"),
    "mse": ("softmax", "identity", "tanh", *NEW_HIDDEN),
    "output": ("sigmoid", "tanh", "identity", "softmax", *NEW_HIDDEN),
}
"""For each loss :func:`feature_problems` re-pairs, the output activations it may take: the
pairings of issue 17 whose values can stay finite (bce needs outputs in (0, 1), softmax_ce
positive ones; bce on identity outputs often leaves (0, 1): log of a negative is NaN, which
the engines agree on, and which properties that screen for honest runs leave out)."""


def _with_new_activation(draw: st.DrawFn, layer: Layer) -> Layer:
    """``layer`` as a leaky relu (slope 0.01-0.5), softplus or ELU (alpha 0.5-2) layer."""
    activation = draw(st.sampled_from(NEW_HIDDEN))
    return _parametrised(draw, replace(layer, activation=activation))


def _parametrised(draw: st.DrawFn, layer: Layer) -> Layer:
    if layer.activation == "leaky_relu":
        return replace(layer, slope=draw(st.floats(0.01, 0.5)))
    if layer.activation == "elu":
        return replace(layer, alpha=draw(st.floats(0.5, 2.0)))
    return layer


@st.composite
def _repaired_output(draw: st.DrawFn, problem: Problem) -> Problem:
    """The output layer and loss re-paired (:data:`FEATURE_OUTPUTS`), targets drawn anew."""
    loss = draw(st.sampled_from(tuple(FEATURE_OUTPUTS)))
    activation = draw(st.sampled_from(FEATURE_OUTPUTS[loss]))
    output = _parametrised(draw, replace(problem.layers[-1], activation=activation))
    size = output.size
    if loss == "output":
        targets = tuple(tuple(0.0 for _ in range(size)) for _ in problem.inputs)
        objective = draw(st.integers(1, size))
    else:
        rows = target_rows(loss, size)
        targets = tuple(draw(rows) for _ in problem.inputs)
        objective = 0
    layers = (*problem.layers[:-1], output)
    return replace(problem, layers=layers, loss=loss, targets=targets, objective=objective)


@st.composite
def _trained_with_features(draw: st.DrawFn, problem: Problem) -> Problem:
    """Mini-batches in a drawn order, momentum (classical or Nesterov), weight decay and
    per-layer rates, each drawn or not."""
    n = problem.n_samples
    if draw(st.booleans(), label="mini-batches"):
        problem = replace(
            problem,
            batch="mini",
            batch_size=draw(st.integers(1, n)),
            sample_order=tuple(draw(st.permutations(range(n)))),
        )
    if draw(st.booleans(), label="momentum"):
        problem = replace(
            problem, momentum=draw(st.floats(0.1, 0.95)), nesterov=draw(st.booleans())
        )
    if draw(st.booleans(), label="weight decay"):
        problem = replace(problem, weight_decay=draw(st.floats(1e-4, 0.1)))
    if draw(st.booleans(), label="per-layer rates"):
        low, high = LEARNING_RATES
        rates = [draw(st.none() | st.floats(low, high)) for _ in problem.layers]
        layers = tuple(replace(x, learning_rate=r) for x, r in zip(problem.layers, rates))
        problem = replace(problem, layers=layers)
    return problem


@st.composite
def feature_problems(
    draw: st.DrawFn,
    base: SearchStrategy[Problem] | None = None,
    *,
    precisions: Sequence[str] = ("float64",),
) -> Problem:
    """A problem of :func:`problems` (or ``base``) with issue 17's features drawn into it.

    Hidden layers may become leaky relu, softplus or ELU layers (with a drawn slope or
    alpha); the output layer and loss may be re-paired (bce on softmax, mse on softmax or
    ELU, softmax_ce on sigmoid or softplus, an objective ``output k``); training may use
    mini-batches in a drawn sample order, momentum or Nesterov, weight decay and per-layer
    rates; the precision is one of ``precisions``.  Each feature is drawn or not on its own,
    so that shrinking leaves only those a failure needs.
    """
    problem = draw(base if base is not None else problems())
    layers = list(problem.layers)
    for index, layer in enumerate(layers[:-1]):
        if layer.activation != "softmax" and draw(st.booleans(), label="new activation"):
            layers[index] = _with_new_activation(draw, layer)
    problem = replace(problem, layers=tuple(layers))
    if draw(st.booleans(), label="re-paired output"):
        problem = draw(_repaired_output(problem))
    problem = draw(_trained_with_features(problem))
    return replace(problem, precision=draw(st.sampled_from(tuple(precisions))))
