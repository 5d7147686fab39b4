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

import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

from bpcheck.model.engine import ALL_CAPABILITIES, OPTIMIZER_CAPABILITIES, required_capabilities
from bpcheck.model.problem import (
    ACTIVATIONS,
    BATCH_MODES,
    BIAS_KINDS,
    LOSSES,
    PRECISIONS,
    UPDATE_ORDERS,
    Layer,
    Problem,
)
from bpcheck.model.quantities import EXTENDED

OPTIMIZERS = tuple(c.partition(":")[2] for c in OPTIMIZER_CAPABILITIES)
"""momentum, nesterov, weight_decay, layer_rates."""
Matrix = tuple[tuple[float, ...], ...]

CATEGORIES = ("activation", "loss", "bias", "batch", "order", "optimizer", "precision")
"""The kinds of capability: ``activation:relu`` is of kind ``activation``."""

PREFERRED: dict[str, tuple[str, ...]] = {
    "activation": (
        "sigmoid",
        "tanh",
        "identity",
        "relu",
        "softmax",
        "leaky_relu",
        "softplus",
        "elu",
    ),
    "loss": ("half_sse", "mse", "sse", "bce", "softmax_ce", "output"),
    "bias": ("per_neuron", "shared", "none"),
    "batch": ("full", "per_sample", "mini"),
    "order": ("simultaneous", "sequential"),
    "optimizer": ("", *OPTIMIZERS),
    "precision": PRECISIONS,
}
"""For the capabilities a problem does not test, the order they are tried in: trainable
per-neuron biases, full batches, plain descent and float64 first, since they exercise the
most arithmetic (``""``: plain descent, which needs no optimizer capability)."""

assert set(PREFERRED["activation"]) == set(ACTIVATIONS)
assert set(PREFERRED["loss"]) == set(LOSSES)
assert set(PREFERRED["bias"]) == set(BIAS_KINDS)
assert set(PREFERRED["batch"]) == set(BATCH_MODES)
assert set(PREFERRED["order"]) == set(UPDATE_ORDERS)

OUTPUTS_OF: dict[str, tuple[str, ...]] = {
    "bce": ("sigmoid", "softmax"),
    "softmax_ce": ("softmax", "sigmoid", "softplus"),
}
"""Output activations a minimal problem pairs a cross-entropy with, natural pairing first:
any loss goes with any output (the model allows it), but bce needs outputs in (0, 1) and
softmax_ce positive ones for finite values.  The other pairings are :data:`PAIRINGS`."""

PAIRINGS = (
    ("bce", "softmax"),
    ("bce", "identity"),
    ("mse", "softmax"),
    ("softmax_ce", "sigmoid"),
)
"""Losses on output activations they are not usually paired with: an engine's backward
pass must follow the activation's full Jacobian, not a shortcut that holds for one
pairing (softmax_ce on softmax: o - t).  Each has a problem of its own."""

IDENTITY_BCE_RATE = 0.05
"""bce on identity outputs trains at this rate: its outputs stay in (0, 1) for 8 steps, one
sample at a time too (at 0.1 they leave it)."""

HIDDEN_WEIGHTS = ((0.4, -0.3, 0.2), (-0.5, 0.6, 0.1))
OUTPUT_WEIGHTS = ((0.7, -0.4), (0.3, 0.8))
HIDDEN_BIAS = {"none": (), "shared": (0.05,), "per_neuron": (0.1, -0.2)}
OUTPUT_BIAS = {"none": (), "shared": (-0.05,), "per_neuron": (0.2, -0.1)}
INPUTS = ((0.5, -1.0, 0.25), (-0.75, 0.5, 1.0))
"""Two samples whose hidden net inputs have both signs, none within 0.1 of relu's kink."""
THIRD_INPUT = (0.3, 0.8, -0.5)
"""The third sample of a mini-batch problem (two samples make no mini-batch worth the name)."""
TARGETS = {
    "softmax_ce": ((0.0, 1.0), (0.25, 0.75), (1.0, 0.0)),
    "other": ((0.2, 0.9), (0.7, 0.1), (0.4, 0.6)),
}
LEARNING_RATE = 0.5
STEPS = 3
SLOPE = 0.2
"""leaky_relu's slope in these problems: not the default 0.01, so an ignored slope shows."""
ALPHA = 0.7
"""elu's alpha in these problems: not the default 1, so an ignored alpha shows."""
MINI_BATCH = 2
SAMPLE_ORDER = (2, 0, 1)
"""Mini-batches of 2 in this order: (3, 1), then (2), in 1-based samples."""
MOMENTUM = 0.5
WEIGHT_DECAY = 0.1
HIDDEN_RATE = 0.25
"""The hidden layer's own rate with ``optimizer:layer_rates`` (the output keeps 0.5)."""
OBJECTIVE = 2
"""The output ``loss: output`` takes: the second, so that off by one shows."""


@dataclass(frozen=True)
class Choice:
    """One capability of each kind: what a minimal problem is made of."""

    activation: str
    loss: str
    bias: str
    batch: str
    order: str
    hidden: str
    optimizer: str = ""
    precision: str = "float64"

    def capabilities(self) -> frozenset[str]:
        return required_capabilities(build(self))


def _valid(activation: str, loss: str) -> bool:
    """Whether a minimal problem pairs ``loss`` with ``activation`` (:data:`OUTPUTS_OF`)."""
    return activation in OUTPUTS_OF.get(loss, (activation,))


def _layer(weights: Matrix, activation: str, kind: str, bias: tuple[float, ...]) -> Layer:
    """A trainable layer with this module's slope and alpha (only where they apply)."""
    slope = SLOPE if activation == "leaky_relu" else 0.01
    alpha = ALPHA if activation == "elu" else 1.0
    return Layer(weights, activation, kind, bias, True, slope=slope, alpha=alpha)


def build(choice: Choice) -> Problem:
    """The 3-2-2 problem of ``choice``: hidden layer ``choice.hidden``, output ``activation``."""
    hidden = _layer(HIDDEN_WEIGHTS, choice.hidden, choice.bias, HIDDEN_BIAS[choice.bias])
    output = _layer(OUTPUT_WEIGHTS, choice.activation, choice.bias, OUTPUT_BIAS[choice.bias])
    if choice.optimizer == "layer_rates":
        hidden = replace(hidden, learning_rate=HIDDEN_RATE)
    samples = 3 if choice.batch == "mini" else 2
    targets = TARGETS["softmax_ce" if choice.loss == "softmax_ce" else "other"][:samples]
    if choice.loss == "output":
        targets = ((0.0, 0.0),) * samples
    return Problem(
        layers=(hidden, output),
        inputs=(*INPUTS, THIRD_INPUT)[:samples],
        targets=targets,
        loss=choice.loss,
        learning_rate=LEARNING_RATE,
        steps=STEPS,
        batch=choice.batch,
        update_order=choice.order,
        objective=OBJECTIVE if choice.loss == "output" else 0,
        batch_size=MINI_BATCH if choice.batch == "mini" else 0,
        sample_order=SAMPLE_ORDER if choice.batch == "mini" else (),
        momentum=MOMENTUM if choice.optimizer in ("momentum", "nesterov") else 0.0,
        nesterov=choice.optimizer == "nesterov",
        weight_decay=WEIGHT_DECAY if choice.optimizer == "weight_decay" else 0.0,
        precision=choice.precision,
    )


def _kind_and_value(capability: str) -> tuple[str, str]:
    """``optimizer:momentum`` -> (optimizer, momentum); ``precision:float32`` likewise."""
    kind, _, value = capability.partition(":")
    return kind, value


def _options(kind: str, declared: frozenset[str]) -> list[str]:
    """The declared values of one kind, preferred first; plain descent and float64 always."""
    values = [v for v in PREFERRED[kind] if f"{kind}:{v}" in declared]
    if kind == "optimizer":
        return ["", *[v for v in values if v]]
    if kind == "precision":
        return ["float64", *[v for v in values if v != "float64"]]
    return values


def _choices(capability: str, declared: frozenset[str]) -> Iterator[Choice]:
    """Every valid combination of declared capabilities holding ``capability``, preferred first."""
    fixed_kind, fixed_value = _kind_and_value(capability)
    options = {kind: _options(kind, declared) for kind in CATEGORIES}
    if fixed_kind in options:
        options[fixed_kind] = [fixed_value]
    if fixed_kind == "loss" and fixed_value in OUTPUTS_OF:
        paired = OUTPUTS_OF[fixed_value]
        options["activation"].sort(key=lambda a: paired.index(a) if a in paired else len(paired))
    hidden = [a for a in _options("activation", declared) if a != "softmax"]
    for activation, loss, bias, batch, order, optimizer, precision in itertools.product(
        *(options[kind] for kind in CATEGORIES)
    ):
        if not _valid(activation, loss):
            continue
        if activation != "softmax":
            yield Choice(activation, loss, bias, batch, order, activation, optimizer, precision)
            continue
        for below in hidden:
            yield Choice(activation, loss, bias, batch, order, below, optimizer, precision)


def problem_for(capability: str, declared: frozenset[str]) -> Problem | None:
    """A minimal problem needing ``capability`` and nothing outside ``declared``; or None.

    None means the engine declares ``capability`` but no problem can use it with
    the rest of what it declares (``loss:bce`` without ``activation:sigmoid`` or
    ``activation:softmax``).  ``quantity:extended`` is no problem's: any problem will do.
    """
    return _problem_for(capability, declared)


@functools.lru_cache(maxsize=4096)
def _problem_for(capability: str, declared: frozenset[str]) -> Problem | None:
    if capability == EXTENDED:
        return next(
            (build(c) for c in _choices("", declared) if c.capabilities() <= declared), None
        )
    for choice in _choices(capability, declared):
        needed = choice.capabilities()
        if capability in needed and needed <= declared:
            return build(choice)
    return None


def problems_for(declared: frozenset[str], *, float32: bool = False) -> list[tuple[str, Problem]]:
    """One labelled problem per declared capability that some problem can exercise, and one
    per pairing of :data:`PAIRINGS` the engine declares.

    Problems shared by several capabilities appear once, labelled by the first.  Without
    ``float32`` the float32 problem is left out: the checks that compare with formulas
    and finite differences in float64 cannot judge it (:func:`float32_probe` and its
    check can).
    """
    return list(_problems_for(frozenset(declared), float32))


@functools.lru_cache(maxsize=256)
def _problems_for(declared: frozenset[str], float32: bool) -> tuple[tuple[str, Problem], ...]:
    found: list[tuple[str, Problem]] = []
    for capability in sorted(declared):
        problem = problem_for(capability, declared)
        if problem is None or (problem.precision == "float32" and not float32):
            continue
        if all(problem != p for _, p in found):
            found.append((capability, problem))
    for label, problem in pairing_problems(declared):
        if all(problem != p for _, p in found):
            found.append((label, problem))
    return tuple(found)


def pairing_problems(declared: frozenset[str]) -> list[tuple[str, Problem]]:
    """One problem per pairing of :data:`PAIRINGS` whose capabilities the engine declares:
    the loss's own minimal problem with the pairing's output activation."""
    found = []
    hidden = [a for a in _options("activation", declared) if a != "softmax"]
    for loss, activation in PAIRINGS:
        choice = next(_choices(f"loss:{loss}", declared), None)
        if choice is None or not hidden:
            continue
        problem = build(replace(choice, activation=activation, hidden=hidden[0]))
        if activation == "identity":  # at 0.5 an identity output leaves (0, 1): log < 0 is NaN
            problem = replace(problem, learning_rate=IDENTITY_BCE_RATE)
        if required_capabilities(problem) <= declared:
            found.append((f"pairing:{loss}-on-{activation}", problem))
    return found


def relu_kink_problem(bias: str = "per_neuron", activation: str = "relu") -> Problem:
    """relu units whose net input is exactly 0 (dyadic numbers: no rounding on the way).

    Hidden neuron 1 of sample 1 and output neuron 1 of sample 1 have a net input of
    exactly 0: relu'(0) is 0 by convention, so their deltas are 0.  With ``activation``
    ``leaky_relu`` (slope :data:`KINK_SLOPE`) or ``elu`` (alpha :data:`KINK_ALPHA`) the
    same kinks take the left branch too: the slope there is the slope, or alpha.
    Every other net input is positive.
    """
    hidden_bias = {"none": (), "shared": (0.0,), "per_neuron": (0.0, 0.25)}[bias]
    output_bias = {"none": (), "shared": (0.0,), "per_neuron": (0.0, 0.125)}[bias]
    hidden = ((0.5, -0.25, 0.125), (0.25, 0.5, -0.5))
    output = ((0.375, 0.0), (0.5, 0.75))
    return Problem(
        layers=tuple(
            Layer(w, activation, bias, b, True, slope=KINK_SLOPE, alpha=KINK_ALPHA)
            for w, b in ((hidden, hidden_bias), (output, output_bias))
        ),
        inputs=((0.5, 1.0, 0.0), (1.0, 0.5, 0.25)),
        targets=((0.5, 0.25), (0.75, 0.5)),
        loss="half_sse",
        learning_rate=LEARNING_RATE,
        steps=1,
    )


KINK_SLOPE = 0.25
KINK_ALPHA = 0.5
"""elu's alpha at the kink: not 1, so that elu'(0) = 1 (the right branch) shows."""


def slope_at_kink(activation: str) -> float:
    """d out / d net at a net input of exactly 0 in :func:`relu_kink_problem`: the left branch."""
    return {"relu": 0.0, "leaky_relu": KINK_SLOPE, "elu": KINK_ALPHA}[activation]


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


def covering_problems(steps: int = 8, *, float32: bool = False) -> list[Problem]:
    """Every capability's minimal problem trained ``steps`` steps, and the kink and overflow ones.

    Each has two samples (three for mini-batches) and trainable biases, and each full-batch
    one comes in both batch modes and both orders, so that between them they hold every
    bias kind, loss and activation with every batch mode and order, with work for an
    engine's lean path to do: what the path-equivalence property runs under every seed.
    ``float32``: the float32 problem too (its values are compared with float32 tolerances).
    """
    minimal = [replace(p, steps=steps) for _, p in problems_for(ALL_CAPABILITIES, float32=float32)]
    problems = list(minimal)
    full = [p for p in minimal if p.batch == "full"]
    for twin in (
        *(replace(p, batch="per_sample") for p in full),
        *(replace(p, update_order="sequential") for p in full),
    ):
        if twin not in problems:  # each loss and activation in each batch mode and order
            problems.append(twin)
    problems += [replace(relu_kink_problem(kind), steps=steps) for kind in PREFERRED["bias"]]
    problems += [
        replace(relu_kink_problem("per_neuron", kinked), steps=steps)
        for kinked in ("leaky_relu", "elu")
    ]
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
