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
disagreement worth reporting.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from bpcheck.model import quantities as q
from bpcheck.model.problem import BATCH_MODES, BIAS_KINDS, LOSSES, UPDATE_ORDERS, Layer, Problem

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

SCHEMA_PATH = "../schema/fixture-v1.schema.json"
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


def reals(bound: float) -> SearchStrategy[float]:
    """Finite floats in [-bound, bound], without subnormals (see the module docstring)."""
    return st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)


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


# --- printed numbers ---------------------------------------------------------------------


def printed_rounded(value: float, places: int, scientific: bool = False) -> str:
    """``value`` rounded as a document prints it: fixed ``places`` decimals, or significant
    digits after the point in scientific notation.  Python formats the exact binary value,
    rounding half to even: the correctly rounded string."""
    return f"{value:.{places}e}" if scientific else f"{value:.{places}f}"


def printed_cut(value: float, places: int) -> str:
    """``value`` cut toward zero at ``places`` decimals, as a truncating author prints it."""
    with localcontext() as ctx:
        ctx.prec = 200
        cut = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    return format(cut, "f")


def printed_numbers() -> SearchStrategy[str]:
    """Decimal strings a document might print: fixed, negative, scientific, trailing zeros.

    Nothing smaller than 1e-30: ``verdicts.verdict`` works in a 100-digit decimal
    context, and a print with a hundred decimals is not what documents hold.
    """
    fixed = st.builds(printed_rounded, reals(1e6), st.integers(0, 12))
    printable = reals(1e6).filter(lambda v: v == 0.0 or abs(v) >= 1e-30)
    scientific = st.builds(printed_rounded, printable, st.integers(0, 10), st.just(True))
    return st.one_of(fixed, scientific, st.sampled_from(["0", "1", "-0.5", "0.50", "1E+2"]))


# --- fixture documents -------------------------------------------------------------------


def layer_document(layer: Layer) -> dict[str, Any]:
    bias: dict[str, Any] = {"kind": layer.bias_kind}
    if layer.bias:
        bias["values"] = list(layer.bias)
    bias["trainable"] = layer.bias_trainable
    return {
        "activation": layer.activation,
        "weights": [list(row) for row in layer.weights],
        "bias": bias,
    }


def problem_document(problem: Problem) -> dict[str, Any]:
    """The ``problem`` object of a fixture, every field explicit so it reads back unchanged."""
    return {
        "inputs": [list(row) for row in problem.inputs],
        "targets": [list(row) for row in problem.targets],
        "layers": [layer_document(layer) for layer in problem.layers],
        "loss": problem.loss,
        "learning_rate": problem.learning_rate,
        "steps": problem.steps,
        "batch": problem.batch,
        "update_order": problem.update_order,
    }


def problem_id(problem: Problem) -> str:
    """A slug that names the problem by its content, stable across runs."""
    text = json.dumps(problem_document(problem), sort_keys=True)
    return "hypothesis-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def fixture_document(
    problem: Problem,
    note: str,
    *,
    claims: Sequence[dict[str, Any]] = (),
    aliases: dict[str, str] | None = None,
    fixture_id: str | None = None,
    schema_path: str = SCHEMA_PATH,
) -> dict[str, Any]:
    """A fixture as a JSON-ready dict: the problem, what was found about it, claims."""
    document: dict[str, Any] = {
        "$schema": schema_path,
        "id": fixture_id or problem_id(problem),
        "title": "Found by a Hypothesis property test of bpcheck",
        "source": {"document": "bpcheck property tests", "notes": note},
        "problem": problem_document(problem),
    }
    if aliases:
        document["aliases"] = dict(aliases)
    document["claims"] = [dict(claim) for claim in claims]
    return document


def problem_as_fixture(problem: Problem, note: str, claims: Sequence[dict[str, Any]] = ()) -> str:
    """JSON text of a fixture for ``problem``, ready to paste into ``fixtures/<document>/``.

    Property tests put it in their failure messages, so that every
    counterexample Hypothesis finds becomes a regression fixture in one step.
    ``claims`` are fixture claims (usually pinned values of what the property
    expected); ``note`` says what was found.
    """
    return json.dumps(fixture_document(problem, note, claims=claims), indent=2) + "\n"


def pinned_claim(
    claim_id: str, quantity: str, step: int, value: float, tolerance: float
) -> dict[str, Any]:
    """A claim that pins ``quantity`` at ``step`` to ``value`` within ``tolerance``."""
    return {
        "id": claim_id,
        "quantity": quantity,
        "step": step,
        "pinned": format(value, ".17g"),
        "pin_tolerance": tolerance,
        "where": "expected by a bpcheck property",
    }


def names_by_step(problem: Problem) -> list[tuple[int, str]]:
    """Every (step, quantity name) a claim may refer to."""
    return [(k, name) for k in range(problem.steps + 1) for name in q.names_at_step(problem, k)]


@st.composite
def value_claims(draw: st.DrawFn, problem: Problem, claim_id: str) -> dict[str, Any]:
    """A printed or pinned claim on a quantity that exists at its step."""
    step, name = draw(st.sampled_from(names_by_step(problem)))
    claim: dict[str, Any] = {"id": claim_id, "quantity": name, "step": step, "where": "text"}
    if draw(st.booleans()):
        claim["pinned"] = format(draw(reals(1e6)), ".17g")
        return claim
    claim["printed"] = draw(printed_numbers())
    claim["expect"] = draw(st.sampled_from(("match", "truncated", "mismatch")))
    if claim["expect"] != "match":
        claim["note"] = "why the document differs"
    return claim


@st.composite
def relation_claims(draw: st.DrawFn, problem: Problem, claim_id: str) -> dict[str, Any]:
    """A relation between two quantities, e.g. the loss after a step below the loss before."""
    left, right = (draw(st.sampled_from(names_by_step(problem))) for _ in range(2))
    relation: dict[str, Any] = {
        "left": {"quantity": left[1], "step": left[0]},
        "op": draw(st.sampled_from(("<", ">", "=="))),
        "right": {"quantity": right[1], "step": right[0]},
    }
    return {
        "id": claim_id,
        "where": "text",
        "relation": relation,
        "expect": draw(st.sampled_from(("holds", "fails"))),
    }


@st.composite
def fixture_documents(
    draw: st.DrawFn, problem_strategy: SearchStrategy[Problem] | None = None
) -> dict[str, Any]:
    """Valid fixtures: a problem, an alias or two, and a few claims of every kind."""
    problem = draw(problem_strategy if problem_strategy is not None else problems())
    weights = [n for n in q.step_names(problem) if n.startswith("w[")]
    aliases = {
        f"w{k}": name
        for k, name in enumerate(
            draw(st.lists(st.sampled_from(weights), max_size=2, unique=True)), start=1
        )
    }
    count = draw(st.integers(0, 4))
    claims = []
    for index in range(count):
        maker = draw(st.sampled_from((value_claims, value_claims, relation_claims)))
        claims.append(draw(maker(problem, f"claim-{index}")))
    if aliases and claims and "quantity" in claims[0]:
        claims[0] = {**claims[0], "quantity": next(iter(aliases)), "step": 0}
    return fixture_document(problem, "generated", claims=claims, aliases=aliases)


# --- broken fixture documents -------------------------------------------------------------


def json_values() -> SearchStrategy[Any]:
    """Any JSON value, nested a few levels."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=8,
    )


JsonPath = tuple[str | int, ...]


def json_paths(document: Any, path: JsonPath = ()) -> list[JsonPath]:
    """Every location in a JSON document, the root included."""
    found = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(json_paths(value, (*path, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(json_paths(value, (*path, index)))
    return found


def replaced_at(document: Any, path: JsonPath, change: Callable[[Any], Any]) -> Any:
    """A copy of ``document`` with the value at ``path`` replaced by ``change(value)``.

    ``change`` returning :data:`DELETE` removes the value from its parent.
    """
    if not path:
        return change(document)
    head, rest = path[0], path[1:]
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    new = replaced_at(copy[head], rest, change)
    if new is DELETE:
        del copy[head]
    else:
        copy[head] = new
    return copy


DELETE = object()
"""Sentinel a mutation returns to remove a value."""


def mutations() -> SearchStrategy[Callable[[Any], Any]]:
    """Ways a hand-edited fixture goes wrong: a value removed, retyped, resized or garbled."""

    def wrap(value: Any) -> Any:
        return [value]

    def unwrap(value: Any) -> Any:
        return value[0] if isinstance(value, list) and value else value

    def shorten(value: Any) -> Any:
        return value[:-1] if isinstance(value, list | str) else value

    def lengthen(value: Any) -> Any:
        return [*value, *value[:1]] if isinstance(value, list) else value

    def negate(value: Any) -> Any:
        return -value if isinstance(value, int | float) and not isinstance(value, bool) else value

    def add_key(key: str, new: Any) -> Callable[[Any], Any]:
        return lambda value: {**value, key: new} if isinstance(value, dict) else value

    fixed = st.sampled_from([lambda value: DELETE, wrap, unwrap, shorten, lengthen, negate])
    replace_with = json_values().map(lambda new: lambda value: new)
    added = st.builds(add_key, st.text(max_size=8), json_values())
    return st.one_of(fixed, replace_with, added)


@st.composite
def mutated_documents(
    draw: st.DrawFn, documents: SearchStrategy[dict[str, Any]] | None = None
) -> Any:
    """A valid fixture with one to three mutations at random locations."""
    document: Any = draw(documents if documents is not None else fixture_documents())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(json_paths(document)))
        document = replaced_at(document, path, draw(mutations()))
        if document is DELETE:
            document = {}
    return document


@st.composite
def mutated_texts(draw: st.DrawFn, documents: SearchStrategy[dict[str, Any]] | None = None) -> str:
    """A valid fixture's JSON text cut short, spliced or given a stray character."""
    text = json.dumps(draw(documents if documents is not None else fixture_documents()))
    at = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(("cut", "insert", "delete", "duplicate")))
    if how == "cut":
        return text[:at]
    if how == "insert":
        return text[:at] + draw(st.text(min_size=1, max_size=3)) + text[at:]
    if how == "delete":
        return text[:at] + text[at + 1 :]
    return text[:at] + text[at // 2 : at] + text[at:]


@functools.cache
def schema_documents() -> SearchStrategy[Any]:
    """Documents generated from the fixture schema itself by hypothesis-jsonschema.

    Cached: building the strategy canonicalises the whole schema (a second or two).
    """
    from hypothesis_jsonschema import from_schema

    from bpcheck.io.loader import schema

    return from_schema(schema())


def schema_generation_problem() -> str | None:
    """Why :func:`schema_documents` cannot run with the installed Hypothesis, or None.

    hypothesis-jsonschema 0.23.1 drives private Hypothesis internals
    (``many.more()``) that Hypothesis 6.170.10 removed; with both installed every
    object it generates fails with AttributeError.
    """
    try:
        from hypothesis.internal.conjecture.utils import many
    except ImportError:  # pragma: no cover - internals moved again
        return "hypothesis.internal.conjecture.utils.many is gone"
    if not hasattr(many, "more"):
        return (
            "hypothesis-jsonschema needs many.more(), removed in hypothesis 6.170.10: "
            "install hypothesis<6.170.10 to fuzz the loader from the schema"
        )
    return None
