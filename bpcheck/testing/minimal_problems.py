"""One small problem per capability, built from what an engine declares.

The conformance suite must not pass by skipping: for every capability an engine
declares, :func:`problem_for` builds a problem that needs it and otherwise only
capabilities the engine also declares (an engine without ``activation:identity``
still gets a ``loss:mse`` problem, with sigmoid units say).  Each problem is the
same 3-2-2 network (non-square layers), two samples, trainable biases, three
steps: small enough for per-parameter finite differences, big enough that a
bias gradient taken from one sample, an mse divided by the wrong count or a
per-sample update that picks the wrong sample shows.

Net inputs stay within +-2 and away from relu's kink, so finite differences are
honest; the kink and large net inputs have problems of their own
(:func:`relu_kink_problem`, :func:`large_net_problem`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

from bpcheck.model.engine import ALL_CAPABILITIES, required_capabilities
from bpcheck.model.problem import (
    ACTIVATIONS,
    BATCH_MODES,
    BIAS_KINDS,
    LOSSES,
    UPDATE_ORDERS,
    Layer,
    Problem,
)

CATEGORIES = ("activation", "loss", "bias", "batch", "order")
"""The kinds of capability: ``activation:relu`` is of kind ``activation``."""

PREFERRED: dict[str, tuple[str, ...]] = {
    "activation": ("sigmoid", "tanh", "identity", "relu", "softmax"),
    "loss": ("half_sse", "mse", "sse", "bce", "softmax_ce"),
    "bias": ("per_neuron", "shared", "none"),
    "batch": ("full", "per_sample"),
    "order": ("simultaneous", "sequential"),
}
"""For the capabilities a problem does not test, the order they are tried in: trainable
per-neuron biases and full batches first, since they exercise the most arithmetic."""

assert set(PREFERRED["activation"]) == set(ACTIVATIONS)
assert set(PREFERRED["loss"]) == set(LOSSES)
assert set(PREFERRED["bias"]) == set(BIAS_KINDS)
assert set(PREFERRED["batch"]) == set(BATCH_MODES)
assert set(PREFERRED["order"]) == set(UPDATE_ORDERS)

HIDDEN_WEIGHTS = ((0.4, -0.3, 0.2), (-0.5, 0.6, 0.1))
OUTPUT_WEIGHTS = ((0.7, -0.4), (0.3, 0.8))
HIDDEN_BIAS = {"none": (), "shared": (0.05,), "per_neuron": (0.1, -0.2)}
OUTPUT_BIAS = {"none": (), "shared": (-0.05,), "per_neuron": (0.2, -0.1)}
INPUTS = ((0.5, -1.0, 0.25), (-0.75, 0.5, 1.0))
"""Two samples whose hidden net inputs have both signs, none within 0.1 of relu's kink."""
TARGETS = {
    "softmax_ce": ((0.0, 1.0), (0.25, 0.75)),
    "other": ((0.2, 0.9), (0.7, 0.1)),
}
LEARNING_RATE = 0.5
STEPS = 3


@dataclass(frozen=True)
class Choice:
    """One capability of each kind: what a minimal problem is made of."""

    activation: str
    loss: str
    bias: str
    batch: str
    order: str
    hidden: str

    def capabilities(self) -> frozenset[str]:
        return required_capabilities(build(self))


def _valid(activation: str, loss: str) -> bool:
    """bce needs sigmoid outputs, softmax_ce softmax outputs (as the loader requires)."""
    required = {"bce": "sigmoid", "softmax_ce": "softmax"}.get(loss)
    return required is None or required == activation


def build(choice: Choice) -> Problem:
    """The 3-2-2 problem of ``choice``: hidden layer ``choice.hidden``, output ``activation``."""
    layers = (
        Layer(HIDDEN_WEIGHTS, choice.hidden, choice.bias, HIDDEN_BIAS[choice.bias], True),
        Layer(OUTPUT_WEIGHTS, choice.activation, choice.bias, OUTPUT_BIAS[choice.bias], True),
    )
    targets = TARGETS["softmax_ce" if choice.loss == "softmax_ce" else "other"]
    return Problem(
        layers=layers,
        inputs=INPUTS,
        targets=targets,
        loss=choice.loss,
        learning_rate=LEARNING_RATE,
        steps=STEPS,
        batch=choice.batch,
        update_order=choice.order,
    )


def _choices() -> Iterator[Choice]:
    """Every valid combination, preferred capabilities first."""
    hidden = [a for a in PREFERRED["activation"] if a != "softmax"]
    for activation, loss, bias, batch, order, below in itertools.product(
        PREFERRED["activation"],
        PREFERRED["loss"],
        PREFERRED["bias"],
        PREFERRED["batch"],
        PREFERRED["order"],
        hidden,
    ):
        if _valid(activation, loss):
            below = below if activation == "softmax" else activation
            yield Choice(activation, loss, bias, batch, order, below)


def problem_for(capability: str, declared: frozenset[str]) -> Problem | None:
    """A minimal problem needing ``capability`` and nothing outside ``declared``; or None.

    None means the engine declares ``capability`` but no problem can use it with
    the rest of what it declares (``loss:bce`` without ``activation:sigmoid``).
    """
    for choice in _choices():
        needed = choice.capabilities()
        if capability in needed and needed <= declared:
            return build(choice)
    return None


def problems_for(declared: frozenset[str]) -> list[tuple[str, Problem]]:
    """One labelled problem per declared capability that some problem can exercise.

    Problems shared by several capabilities appear once, labelled by the first.
    """
    found: list[tuple[str, Problem]] = []
    for capability in sorted(declared):
        problem = problem_for(capability, declared)
        if problem is not None and all(problem != p for _, p in found):
            found.append((capability, problem))
    return found


def relu_kink_problem(bias: str = "per_neuron") -> Problem:
    """relu units whose net input is exactly 0 (dyadic numbers: no rounding on the way).

    Hidden neuron 1 of sample 1 and output neuron 1 of sample 1 have a net input of
    exactly 0: relu'(0) is 0 by convention, so their deltas are 0.
    """
    hidden_bias = {"none": (), "shared": (0.0,), "per_neuron": (0.0, 0.25)}[bias]
    output_bias = {"none": (), "shared": (0.0,), "per_neuron": (0.0, 0.125)}[bias]
    return Problem(
        layers=(
            Layer(((0.5, -0.25, 0.125), (0.25, 0.5, -0.5)), "relu", bias, hidden_bias, True),
            Layer(((0.375, 0.0), (0.5, 0.75)), "relu", bias, output_bias, True),
        ),
        inputs=((0.5, 1.0, 0.0), (1.0, 0.5, 0.25)),
        targets=((0.5, 0.25), (0.75, 0.5)),
        loss="half_sse",
        learning_rate=LEARNING_RATE,
        steps=1,
    )


KINKS = (("delta[1,1]@1", "hidden neuron 1, sample 1"), ("delta[2,1]@1", "output 1, sample 1"))
"""The deltas :func:`relu_kink_problem` makes exactly 0, and where they are."""


def large_net_problem(activation: str, bias: str = "per_neuron") -> Problem:
    """One layer of ``activation`` units with net inputs of about 800 and -800.

    sigmoid and tanh saturate (sigmoid(-800) = e^-800 is 0 in float64, and 1 / (1 + e^800)
    overflows on the way); softmax overflows ``exp`` unless the largest net input is
    subtracted first (e^710 is beyond float64), and subtracted per sample: sample 2's net
    inputs are its biases, some 800 below sample 1's largest.
    """
    kind_bias = {"none": (), "shared": (100.0,), "per_neuron": (100.0, -20.0)}[bias]
    return Problem(
        layers=(Layer(((300.0, -50.0), (-300.0, 30.0)), activation, bias, kind_bias, True),),
        inputs=((2.5, -1.0), (0.0, 0.0)),
        targets=((1.0, 0.0), (0.0, 1.0)) if activation == "softmax" else ((0.5, 0.25),) * 2,
        loss="softmax_ce" if activation == "softmax" else "half_sse",
        learning_rate=0.01,
        steps=1,
    )


def covering_problems(steps: int = 8) -> list[Problem]:
    """Every capability's minimal problem trained ``steps`` steps, and the kink and overflow ones.

    Each has two samples and trainable biases, and each comes in both batch modes and both
    orders, so that between them they hold every bias kind, loss and activation with every
    batch mode and order, with work for an engine's lean path to do: what the
    path-equivalence property runs under every seed.
    """
    minimal = [replace(p, steps=steps) for _, p in problems_for(ALL_CAPABILITIES)]
    problems = list(minimal)
    for twin in (
        *(replace(p, batch="per_sample") for p in minimal),
        *(replace(p, update_order="sequential") for p in minimal),
    ):
        if twin not in problems:  # each loss and activation in each batch mode and order
            problems.append(twin)
    problems += [replace(relu_kink_problem(kind), steps=steps) for kind in PREFERRED["bias"]]
    problems += [replace(large_net_problem(a), steps=steps) for a in ("sigmoid", "softmax")]
    problems.append(replace(dead_relu_overflow_problem(), steps=steps))
    return problems


def dead_relu_overflow_problem() -> Problem:
    """A dead relu unit under an output that overflows: dE/dout reaching it is +inf.

    A dead unit passes nothing back, not even an infinity: its delta and the gradients of
    its weights are 0, where inf x relu'(-1) = inf x 0 would make them NaN.
    """
    return Problem(
        layers=(
            Layer(((1.0, 0.0), (-1.0, 0.0)), "relu", "none", (), True),
            Layer(((1e300, 1e300),), "identity", "none", (), True),
        ),
        inputs=((1e10, 1.0),),
        targets=((0.0,),),
        loss="half_sse",
        learning_rate=0.5,
        steps=2,
    )


def saturated_cross_entropy_problem(loss: str) -> Problem:
    """bce (sigmoid) or softmax_ce (softmax) outputs of exactly 1 and 0, the target on the 0.

    The loss is about 1600 (float64 says +inf: log 0), and dE/dout is +inf and -inf in
    float64: a log or a division written without the limits of ``t log o`` and ``t / o``
    gives NaN, -inf or a crash instead.
    """
    activation = "sigmoid" if loss == "bce" else "softmax"
    return Problem(
        layers=(Layer(((300.0, -50.0), (-300.0, 50.0)), activation, "none", (), True),),
        inputs=((2.5, -1.0),),
        targets=((0.0, 1.0),),
        loss=loss,
        learning_rate=0.01,
        steps=1,
    )
