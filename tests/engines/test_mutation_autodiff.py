"""The autodiff engine against loops on nine problems that hold every capability between them.

The conformance suite compiles the JAX engine for dozens of shapes (40 s); mutation testing
of the autodiff engine (``tox -e mutation -- --engines autodiff``) needs one test that
reaches every line of it in a few compiles.  These nine problems do: every activation,
loss, bias kind (trainable and frozen), batch mode and order, optimizer, precision, several
samples, and unrecorded steps, each compared quantity by quantity (the extended names too)
with the loops engine and with the engine's own recorded path.  ``slow``: each problem is a
compile (about 1 s).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import replace

import pytest

from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.engine import ALL_CAPABILITIES, Availability, Engine, required_capabilities
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.quantities import EXTENDED
from bpcheck.testing.paths import path_differences
from tests.support.laws import check_engines_agree

pytestmark = pytest.mark.slow

X = ((0.5, -1.0, 0.25), (-0.75, 0.5, 1.0))
W1 = ((0.4, -0.3, 0.2), (-0.5, 0.6, 0.1))
W2 = ((0.7, -0.4), (0.3, 0.8))


def problem(
    hidden: str, out: str, loss: str, kinds: tuple[str, str], batch: str, order: str
) -> Problem:
    bias = {"none": (), "shared": (0.1,), "per_neuron": (0.1, -0.2)}
    targets = (
        ((0.0, 1.0), (0.25, 0.75)) if loss in ("softmax_ce", "bce") else ((0.2, 0.9), (0.7, 0.1))
    )
    return Problem(
        layers=(
            Layer(W1, hidden, kinds[0], bias[kinds[0]], True),
            Layer(W2, out, kinds[1], bias[kinds[1]], kinds[1] != "shared"),
        ),
        inputs=X,
        targets=targets,
        loss=loss,
        learning_rate=0.5,
        steps=3,
        batch=batch,
        update_order=order,
    )


THREE_LAYERS = Problem(
    layers=(
        Layer(W1, "relu", "per_neuron", (0.1, -0.2), True),
        Layer(W2, "tanh", "shared", (0.05,), True),
        Layer(((0.5, -0.6), (0.2, 0.9), (-0.3, 0.4)), "softmax", "none", (), False),
    ),
    inputs=X,
    targets=((0.0, 1.0, 0.0), (0.5, 0.25, 0.25)),
    loss="mse",
    learning_rate=0.5,
    steps=3,
)
"""Three layers, the output wider than the layer below: the backward pass and mse's divisor
must find the output layer as the last, not the second."""


def with_features(base: Problem, first: dict[str, object], **settings: object) -> Problem:
    """``base`` with its first layer's fields ``first`` and the problem's ``settings``."""
    layers = (replace(base.layers[0], **first), *base.layers[1:])  # type: ignore[arg-type]
    return replace(base, layers=layers, **settings)  # type: ignore[arg-type]


X3 = (*X, (0.3, 0.2, -0.6))
FEATURES = (
    # leaky relu into elu, loss output (no targets: zeros), mini-batches of 2 in an order
    # (a shorter last batch), momentum, the first layer's own rate
    with_features(
        problem("leaky_relu", "elu", "sse", ("per_neuron", "shared"), "full", "simultaneous"),
        {"slope": 0.1, "learning_rate": 0.2},
        inputs=X3,
        targets=((0.0, 0.0),) * 3,
        loss="output",
        objective=2,
        batch="mini",
        batch_size=2,
        sample_order=(2, 0, 1),
        momentum=0.9,
        steps=4,
    ),
    # softplus, bce on softmax, Nesterov and weight decay in the sequential order
    with_features(
        problem("softplus", "softmax", "bce", ("shared", "per_neuron"), "per_sample", "sequential"),
        {},
        momentum=0.5,
        nesterov=True,
        weight_decay=0.05,
    ),
    # float32 with momentum and weight decay, an elu of its own alpha
    with_features(
        problem("elu", "sigmoid", "mse", ("per_neuron", "none"), "full", "simultaneous"),
        {"alpha": 0.5},
        precision="float32",
        momentum=0.8,
        weight_decay=0.01,
    ),
)
"""Issue 17's features: every new activation, loss output, mini-batches, the optimizers, float32."""

PROBLEMS = (
    THREE_LAYERS,
    problem("tanh", "sigmoid", "bce", ("per_neuron", "shared"), "full", "simultaneous"),
    problem("relu", "softmax", "softmax_ce", ("shared", "per_neuron"), "per_sample", "sequential"),
    problem("identity", "relu", "mse", ("per_neuron", "none"), "full", "sequential"),
    problem("sigmoid", "identity", "sse", ("none", "per_neuron"), "per_sample", "simultaneous"),
    problem("tanh", "tanh", "half_sse", ("shared", "shared"), "full", "simultaneous"),
    *FEATURES,
)


def test_the_problems_hold_every_capability() -> None:
    held = frozenset().union(*(required_capabilities(p) for p in PROBLEMS))
    assert held | {EXTENDED} == ALL_CAPABILITIES  # extended: every trace has those names


@pytest.fixture(scope="module")
def autodiff(engines: dict[str, Engine]) -> Engine:
    engine = engines["autodiff"]
    status = engine.available()
    if not status.available:
        assert importlib.util.find_spec("jax") is None, f"JAX is installed, yet: {status}"
        pytest.skip(str(status.reason))
    if os.environ.get("BPCHECK_MUTATION"):  # each mutant must compile its own code
        from bpcheck.engines.autodiff import network

        network.compiled_for.cache_clear()
    return engine


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
def test_autodiff_agrees_with_loops_and_with_itself(autodiff: Engine, index: int) -> None:
    check_engines_agree({"loops": LoopsEngine(), "autodiff": autodiff}, PROBLEMS[index])
    assert not path_differences(autodiff, PROBLEMS[index])


def test_autodiff_is_available_with_jax_and_says_why_without(
    autodiff: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With JAX installed (the fixture skips otherwise) the engine is available; told JAX is
    missing, it says so and how to install it (``tox -e nojax`` checks it for real)."""
    from bpcheck.engines.autodiff import engine as module

    assert autodiff.available() == Availability(True)
    monkeypatch.setattr(module, "HAVE_JAX", False)
    status = autodiff.available()
    assert status.available is False
    assert status.reason == "jax is not installed (pip install 'bpcheck[jax]')"
