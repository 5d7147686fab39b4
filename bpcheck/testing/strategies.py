"""Hypothesis strategies for bpcheck: networks, data, settings, printed numbers and fixtures.

Fixtures check the networks someone wrote down; these strategies make the ones
nobody did, for property tests that hunt disagreements between engines.  They
live in one public module so that a user testing their own engine can reuse
them::

    from hypothesis import given
    from bpcheck.testing.strategies import problems

    @given(problems())
    def test_my_engine_agrees_with_loops(problem): ...

Hypothesis is imported here at module level: this module is for tests only and
the rest of bpcheck never imports it.

Ranges are chosen to keep float64 honest rather than to stress it: weights and
inputs within +-2, biases within +-1, and every net input within
+-:data:`NET_BOUND` (weights of wide or deep layers are drawn from a narrower
range).  A saturated unit is where float64 stops being honest: the derivative
``1 - tanh²`` or ``o (1 - o)`` written from the output, as tutorials write it,
cancels to a few digits near saturation (at net 11, 1 - tanh² = 1e-9 keeps 7
digits), and engines that all compute correctly may then differ in the 8th.
Subnormal numbers are left out: XLA flushes them to zero on CPU, which is not a
disagreement worth reporting.  So are numbers below :data:`TINY` in size (drawn as 0):
a net input made of a few of them underflows float64 (2.2e-262 times 4.1e-85 is 0), and
a relu kink decided by a real number float64 cannot hold is no engine's bug.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from bpcheck.model.decimals import at_places
from bpcheck.model.problem import BIAS_KINDS, UPDATE_ORDERS, Layer, Problem

LOSSES = ("half_sse", "sse", "mse", "bce", "softmax_ce")
"""The losses :func:`architectures` draws and the pool cycles through: those before issue 17
(the objective ``output`` needs an output index: see :mod:`~bpcheck.testing.feature_strategies`)."""
BATCH_MODES = ("full", "per_sample")
"""Batch modes drawn here; mini-batches need a size and an order (``feature_problems``)."""
HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
"""Activations allowed below the output layer (softmax is output-only)."""
OUTPUT_ACTIVATIONS = (*HIDDEN_ACTIVATIONS, "softmax")
REQUIRED_OUTPUT = {"bce": "sigmoid", "softmax_ce": "softmax"}
"""Losses that fix the output activation, as the loader requires."""

MAX_DEPTH = 4
MAX_WIDTH = 8
MAX_SAMPLES = 4
MAX_STEPS = 3
WEIGHT_BOUND = 2.0
"""|w| and |x| stay within this."""
BIAS_BOUND = 1.0
NET_BOUND = 4.0
"""|net| of every neuron stays within this: 1 - tanh(4)² = 1.3e-3 keeps 13 digits."""
TARGET_BOUND = 2.0
LEARNING_RATES = (0.01, 1.0)


"""``$schema`` as a fixture in ``fixtures/<document>/`` names it."""


# --- the structure of a network ---------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    """A problem without its numbers: everything the autodiff engine compiles per.

    ``sizes`` counts neurons per layer, inputs first; the other tuples have one
    entry per layer of weights.  Two problems of one architecture share the
    JAX engine's compiled code, so drawing architectures from a small pool
    (:func:`architecture_pool`) keeps a property run's compile time bounded.
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    bias_kinds: tuple[str, ...]
    bias_trainable: tuple[bool, ...]
    loss: str
    n_samples: int
    batch: str
    update_order: str

    @property
    def depth(self) -> int:
        return len(self.activations)

    def one_layer(self) -> Architecture:
        """The output layer alone, fed straight by the inputs (one layer of weights)."""
        return replace(
            self,
            sizes=(self.sizes[0], self.sizes[-1]),
            activations=self.activations[-1:],
            bias_kinds=self.bias_kinds[-1:],
            bias_trainable=self.bias_trainable[-1:],
        )


def output_activations(loss: str) -> tuple[str, ...]:
    """The output activations a loss allows: bce needs sigmoid, softmax_ce softmax."""
    required = REQUIRED_OUTPUT.get(loss)
    return (required,) if required else OUTPUT_ACTIVATIONS


@st.composite
def architectures(
    draw: st.DrawFn,
    *,
    depths: SearchStrategy[int] | None = None,
    widths: SearchStrategy[int] | None = None,
    losses: Sequence[str] = LOSSES,
    samples: SearchStrategy[int] | None = None,
    batches: Sequence[str] = BATCH_MODES,
    orders: Sequence[str] = UPDATE_ORDERS,
) -> Architecture:
    """Depth 1-4, widths 1-8, every activation, bias kind, loss, batch mode and order."""
    depth = draw(depths if depths is not None else st.integers(1, MAX_DEPTH))
    width = widths if widths is not None else st.integers(1, MAX_WIDTH)
    loss = draw(st.sampled_from(tuple(losses)))
    hidden = [draw(st.sampled_from(HIDDEN_ACTIVATIONS)) for _ in range(depth - 1)]
    return Architecture(
        sizes=tuple(draw(width) for _ in range(depth + 1)),
        activations=(*hidden, draw(st.sampled_from(output_activations(loss)))),
        bias_kinds=tuple(draw(st.sampled_from(BIAS_KINDS)) for _ in range(depth)),
        bias_trainable=tuple(draw(st.booleans()) for _ in range(depth)),
        loss=loss,
        n_samples=draw(samples if samples is not None else st.integers(1, MAX_SAMPLES)),
        batch=draw(st.sampled_from(tuple(batches))),
        update_order=draw(st.sampled_from(tuple(orders))),
    )


def architecture_pool(size: int, seed: int = 0) -> tuple[Architecture, ...]:
    """``size`` fixed architectures that between them use every feature of the model.

    Losses, depths, activations, bias kinds, batch modes and update orders are
    cycled so that a pool of 6 holds each of them; widths come from a seeded
    generator.  Deterministic: the same pool in every run and process.
    """
    rng = random.Random(seed)
    pool = []
    for index in range(size):
        depth = 1 + index % MAX_DEPTH
        loss = LOSSES[index % len(LOSSES)]
        hidden = [
            HIDDEN_ACTIVATIONS[(index + n) % len(HIDDEN_ACTIVATIONS)] for n in range(1, depth)
        ]
        outputs = output_activations(loss)
        pool.append(
            Architecture(
                sizes=tuple(rng.randint(1, MAX_WIDTH) for _ in range(depth + 1)),
                activations=(*hidden, outputs[(3 * index + index // len(LOSSES)) % len(outputs)]),
                bias_kinds=tuple(BIAS_KINDS[(index + n) % len(BIAS_KINDS)] for n in range(depth)),
                bias_trainable=tuple((index + n) % 2 == 0 for n in range(depth)),
                loss=loss,
                n_samples=1 + (index * 3) % MAX_SAMPLES,
                batch=BATCH_MODES[index % 2],
                update_order=UPDATE_ORDERS[index // 2 % 2],
            )
        )
    return tuple(pool)


# --- the numbers ----------------------------------------------------------------------


TINY = 1e-60
"""The smallest size of a drawn nonzero number: a product of :data:`MAX_DEPTH` + 1 of them
(a net input of the deepest network) stays above float64's smallest normal, 2.2e-308."""


def reals(bound: float) -> SearchStrategy[float]:
    """Finite floats in [-bound, bound], 0 or at least :data:`TINY` in size (module docstring)."""
    drawn = st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)
    return drawn.map(lambda x: x if abs(x) >= TINY else 0.0)


def output_bound(activation: str, net_bound: float) -> float:
    """The largest |out| an activation gives for |net| <= net_bound."""
    return 1.0 if activation in ("sigmoid", "tanh", "softmax") else net_bound


def weight_bound(fan_in: int, below: float) -> float:
    """Weights small enough that fan_in * |w| * below + |b| stays within NET_BOUND."""
    room = NET_BOUND - BIAS_BOUND
    return min(WEIGHT_BOUND, room / (fan_in * below))


def bias_count(kind: str, size: int) -> int:
    return {"none": 0, "shared": 1, "per_neuron": size}[kind]


@st.composite
def layers_for(draw: st.DrawFn, arch: Architecture) -> tuple[Layer, ...]:
    """Weights and biases for ``arch``, each layer's range set by the bound of the one below."""
    below = WEIGHT_BOUND
    layers = []
    for number, activation in enumerate(arch.activations):
        fan_in, size = arch.sizes[number], arch.sizes[number + 1]
        bound = weight_bound(fan_in, below)
        weights = tuple(tuple(draw(reals(bound)) for _ in range(fan_in)) for _ in range(size))
        kind = arch.bias_kinds[number]
        bias = tuple(draw(reals(BIAS_BOUND)) for _ in range(bias_count(kind, size)))
        trainable = arch.bias_trainable[number]
        layers.append(Layer(weights, activation, kind, bias, trainable))
        below = output_bound(activation, NET_BOUND)
    return tuple(layers)


@st.composite
def probability_vectors(draw: st.DrawFn, size: int) -> tuple[float, ...]:
    """Non-negative targets summing to 1 (up to rounding); one-hot vectors included."""
    weights = [draw(st.floats(0.0, 1.0, allow_subnormal=False)) for _ in range(size)]
    total = math.fsum(weights)
    if total == 0.0:
        hot = draw(st.integers(0, size - 1))
        return tuple(1.0 if k == hot else 0.0 for k in range(size))
    return tuple(w / total for w in weights)


def target_rows(loss: str, size: int) -> SearchStrategy[tuple[float, ...]]:
    """One sample's targets: probabilities for the cross-entropies, any real otherwise.

    bce targets include 0 and 1, the labels documents use; softmax targets are a
    probability vector, one-hot included.
    """
    if loss == "softmax_ce":
        return probability_vectors(size)
    if loss == "bce":
        return st.tuples(*[st.floats(0.0, 1.0, allow_subnormal=False)] * size)
    return st.tuples(*[reals(TARGET_BOUND)] * size)


@st.composite
def problems(
    draw: st.DrawFn,
    architecture: SearchStrategy[Architecture] | None = None,
    *,
    steps: SearchStrategy[int] | None = None,
    learning_rates: SearchStrategy[float] | None = None,
) -> Problem:
    """A whole problem: an architecture (free by default) filled with honest numbers.

    Batch size 1-4, learning rates 0.01-1 and 0-3 steps unless told otherwise.
    """
    arch = draw(architecture if architecture is not None else architectures())
    inputs = st.tuples(*[reals(WEIGHT_BOUND)] * arch.sizes[0])
    low, high = LEARNING_RATES
    return Problem(
        layers=draw(layers_for(arch)),
        inputs=tuple(draw(inputs) for _ in range(arch.n_samples)),
        targets=tuple(draw(target_rows(arch.loss, arch.sizes[-1])) for _ in range(arch.n_samples)),
        loss=arch.loss,
        learning_rate=draw(learning_rates if learning_rates is not None else st.floats(low, high)),
        steps=draw(steps if steps is not None else st.integers(0, MAX_STEPS)),
        batch=arch.batch,
        update_order=arch.update_order,
    )


def seeded_problem(
    arch: Architecture, seed: int, *, steps: int = 3, learning_rate: float = 0.3
) -> Problem:
    """A fixed problem of ``arch`` with the ranges of :func:`problems`, from a seeded generator.

    For example-based tests that name their cases: the same seed gives the same problem
    in every run and process, with weights, biases, inputs and targets in the bounds the
    strategies use (targets fit the loss: probability vectors for softmax_ce, [0, 1] for bce).
    """
    rng = random.Random(seed)
    below, layers = WEIGHT_BOUND, []
    for number, activation in enumerate(arch.activations):
        fan_in, size = arch.sizes[number], arch.sizes[number + 1]
        bound = weight_bound(fan_in, below)
        weights = tuple(
            tuple(rng.uniform(-bound, bound) for _ in range(fan_in)) for _ in range(size)
        )
        kind = arch.bias_kinds[number]
        bias = tuple(rng.uniform(-BIAS_BOUND, BIAS_BOUND) for _ in range(bias_count(kind, size)))
        layers.append(Layer(weights, activation, kind, bias, arch.bias_trainable[number]))
        below = output_bound(activation, NET_BOUND)
    n_in, n_out = arch.sizes[0], arch.sizes[-1]
    inputs = tuple(
        tuple(rng.uniform(-WEIGHT_BOUND, WEIGHT_BOUND) for _ in range(n_in))
        for _ in range(arch.n_samples)
    )
    targets = tuple(_seeded_targets(rng, arch.loss, n_out) for _ in range(arch.n_samples))
    return Problem(
        tuple(layers),
        inputs,
        targets,
        arch.loss,
        learning_rate,
        steps,
        arch.batch,
        arch.update_order,
    )


def _seeded_targets(rng: random.Random, loss: str, size: int) -> tuple[float, ...]:
    if loss == "softmax_ce":
        hot = rng.randrange(size)
        return tuple(float(k == hot) for k in range(size))
    if loss == "bce":
        return tuple(rng.uniform(0.0, 1.0) for _ in range(size))
    return tuple(rng.uniform(-TARGET_BOUND, TARGET_BOUND) for _ in range(size))


# --- printed numbers ---------------------------------------------------------------------


def printed_rounded(value: float, places: int, scientific: bool = False) -> str:
    """``value`` rounded as a document prints it: fixed ``places`` decimals, or significant
    digits after the point in scientific notation.  Python formats the exact binary value,
    rounding half to even: the correctly rounded string."""
    return f"{value:.{places}e}" if scientific else f"{value:.{places}f}"


def printed_cut(value: float, places: int) -> str:
    """``value`` cut toward zero at ``places`` decimals, as a truncating author prints it."""
    return format(at_places(value, places, "cut"), "f")


def printed_numbers() -> SearchStrategy[str]:
    """Decimal strings a document might print: fixed, negative, scientific, trailing zeros.

    Nothing smaller than 1e-30: ``verdicts.verdict`` works in a 100-digit decimal
    context, and a print with a hundred decimals is not what documents hold.
    """
    fixed = st.builds(printed_rounded, reals(1e6), st.integers(0, 12))
    printable = reals(1e6).filter(lambda v: v == 0.0 or abs(v) >= 1e-30)
    scientific = st.builds(printed_rounded, printable, st.integers(0, 10), st.just(True))
    return st.one_of(fixed, scientific, st.sampled_from(["0", "1", "-0.5", "0.50", "1E+2"]))


# --- problems at the edges ---------------------------------------------------------------

SATURATION = (20.0, 1000.0)
"""|net| of the saturated sample's units: sigmoid and tanh flat, e^|net| past float64 at 710."""
EDGE_STEPS = 8
OVERFLOW = 710.0
"""e^710 is beyond float64's largest number."""


def _edge_architecture(arch: Architecture, draw: st.DrawFn) -> Architecture:
    """Softmax outputs get a bias (a large one is drawn: see :func:`edge_problems`), and at
    least one layer with a bias has it trainable."""
    kinds = list(arch.bias_kinds)
    if arch.activations[-1] == "softmax" and kinds[-1] == "none":
        kinds[-1] = draw(st.sampled_from(("shared", "per_neuron")))
    trainable = list(arch.bias_trainable)
    with_bias = [n for n, kind in enumerate(kinds) if kind != "none"]
    if with_bias and not any(trainable[n] for n in with_bias):
        trainable[draw(st.sampled_from(with_bias))] = True
    return replace(arch, bias_kinds=tuple(kinds), bias_trainable=tuple(trainable))


def _kinked(layer: Layer) -> Layer:
    """Neuron 1 of the layer with no weights and a zero bias: its net input is exactly 0."""
    weights = (tuple(0.0 for _ in layer.weights[0]), *layer.weights[1:])
    bias = layer.bias
    if layer.bias_kind == "shared":
        bias = (0.0,)
    elif layer.bias_kind == "per_neuron":
        bias = (0.0, *layer.bias[1:])
    return replace(layer, weights=weights, bias=bias)


@st.composite
def edge_problems(
    draw: st.DrawFn,
    architecture: SearchStrategy[Architecture] | None = None,
    *,
    steps: SearchStrategy[int] | None = None,
) -> Problem:
    """Problems that aim at the edges, every one of them, not by luck of the seed.

    * Kinks: neuron 1 of every layer has zero weights and a zero bias (a shared
      bias is 0 for the whole layer), so its net input is exactly 0 for every sample:
      relu'(0) is exercised wherever relu is drawn.
    * Overflow: a softmax output layer always has a bias, and every bias of it is
      moved by the same amount, 710 to 1000 in size.  Softmax cancels a shift common
      to all its inputs, so the outputs are as moderate as without it, and only an
      engine that forgets to subtract the largest net input (e^710 overflows) notices.
    * Saturation: when drawn, one more sample whose inputs are 20 to 1000 in size,
      so the first layer's net inputs are far beyond where sigmoid and tanh bend.
    * Several samples (2 to 4) with a trainable bias somewhere, 2 to 8 steps, so that
      both batch modes, both orders and the unrecorded steps have work to do.
    """
    samples = st.integers(2, MAX_SAMPLES)
    arch = draw(architecture if architecture is not None else architectures(samples=samples))
    arch = _edge_architecture(arch, draw)
    problem = draw(problems(st.just(arch), steps=steps or st.integers(2, EDGE_STEPS)))
    layers = [_kinked(layer) for layer in problem.layers]
    output = layers[-1]
    if output.activation == "softmax":
        big = draw(st.floats(OVERFLOW, SATURATION[1])) * draw(st.sampled_from((1.0, -1.0)))
        layers[-1] = replace(output, bias=tuple(big + b for b in output.bias))
    inputs, targets = problem.inputs, problem.targets
    if draw(st.booleans(), label="saturated sample"):
        low, high = SATURATION
        size = st.floats(low, high) if arch.sizes[0] else st.just(low)
        row = tuple(draw(size) * draw(st.sampled_from((1.0, -1.0))) for _ in inputs[0])
        inputs, targets = (*inputs, row), (*targets, targets[0])
    return replace(problem, layers=tuple(layers), inputs=inputs, targets=targets)


def __getattr__(name: str) -> Any:
    """``feature_problems`` and its tables live in :mod:`bpcheck.testing.feature_strategies`
    (which builds on this module); read here too, as they were first written here."""
    if name in ("feature_problems", "FEATURE_OUTPUTS", "NEW_HIDDEN"):
        from bpcheck.testing import feature_strategies

        return getattr(feature_strategies, name)
    raise AttributeError(f"module 'bpcheck.testing.strategies' has no attribute {name!r}")
