"""diagnose on fixtures with issue 17's features: it explains what it can, and says what it
did not try, and why, instead of crashing or pretending."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from bpcheck.diagnose.diagnosis import diagnose
from bpcheck.diagnose.graph import FLOAT, build_graph
from bpcheck.diagnose.variants import BY_NAME
from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.verdicts import MISMATCH

PROBLEM = Problem(
    layers=(
        Layer(((0.3, -0.4), (0.5, 0.2)), "leaky_relu", "per_neuron", (0.1, -0.2), slope=0.2),
        Layer(((0.4, -0.3), (-0.1, 0.6)), "elu", "shared", (0.1,), alpha=0.7, learning_rate=0.25),
    ),
    inputs=((0.5, -1.0), (1.5, 0.25), (-0.75, 0.5)),
    targets=((0.2, 0.8), (0.9, 0.1), (0.4, 0.6)),
    loss="mse",
    learning_rate=0.5,
    steps=3,
    batch="mini",
    batch_size=2,
    sample_order=(2, 0, 1),
    momentum=0.9,
    nesterov=True,
    weight_decay=0.01,
)

FEATURES = {
    "every training feature": PROBLEM,
    "objective": replace(PROBLEM, loss="output", objective=2, targets=((0.0, 0.0),) * 3),
    "softplus, per sample, sequential": replace(
        PROBLEM,
        layers=(replace(PROBLEM.layers[0], activation="softplus"), PROBLEM.layers[1]),
        batch="per_sample",
        batch_size=0,
        sample_order=(),
        update_order="sequential",
    ),
    "float32": replace(PROBLEM, precision="float32"),
    "plain descent, decay, own rates": replace(PROBLEM, momentum=0.0, nesterov=False),
}


def with_typo(problem: Problem) -> Fixture:
    """A fixture whose printed w[1,1,1] at step 1 has one digit changed (the 2nd decimal)."""
    value = LoopsEngine().run(problem, {1})[1]["w[1,1,1]"]
    printed = f"{value:.4f}"
    wrong = printed[:3] + str((int(printed[3]) + 3) % 10) + printed[4:]
    claim = Claim("w", "p. 1", "w[1,1,1]", "w[1,1,1]", 1, printed=wrong, expect="mismatch")
    return Fixture("f", "f", Path("f.json"), {}, problem, {}, (claim,))


@pytest.mark.parametrize("feature", list(FEATURES))
def test_diagnose_explains_a_typo_on_a_feature_fixture(feature: str) -> None:
    found = diagnose(with_typo(FEATURES[feature]), budget=5.0)
    (erratum,) = found.errata
    assert erratum.verdict == MISMATCH
    assert "typo-one-digit" in [c.name for c in erratum.explanations]


def test_a_float32_fixture_is_not_tried_as_rounded_by_hand_and_says_so() -> None:
    problem = FEATURES["float32"]
    assert not BY_NAME["rounded-4-decimals"].applies(problem)
    assert BY_NAME["rounded-4-decimals"].applies(PROBLEM)
    notes = diagnose(with_typo(problem), budget=5.0).notes
    assert any("rounded-4-decimals" in n and "not rounded by hand" in n for n in notes), notes


def test_a_learning_rate_reading_scales_each_layers_own_rate_too() -> None:
    changed = BY_NAME["learning-rate-x2"].transform
    assert changed is not None
    doubled = changed(PROBLEM)
    assert doubled is not None
    assert doubled.learning_rate == 1.0 and doubled.layers[1].learning_rate == 0.5
    assert doubled.layers[0].learning_rate is None


@pytest.mark.parametrize("feature", list(FEATURES))
def test_every_formula_of_the_graph_gives_the_traced_value(feature: str) -> None:
    """The slip search and the rounded chains recompute values with the graph's formulas: on a
    feature fixture each formula it writes must hold (one it cannot write is a leaf)."""
    problem = FEATURES[feature]
    graph = build_graph(problem, LoopsEngine().run(problem, {0, 1, 2}))
    written = [key for key, node in graph.nodes.items() if node.op != "leaf"]
    for key in written:
        value = graph.evaluate(key, graph.values.__getitem__, FLOAT)
        assert math.isclose(value, graph.values[key], rel_tol=1e-6, abs_tol=1e-9), key
    kinds = {graph.nodes[key].op for key in written}
    assert {"act", "dact", "loss", "dloss"} <= kinds
    assert ("update" in kinds) == (problem.momentum == 0.0)
