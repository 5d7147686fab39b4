"""A catalogue of readings and bugs: the ways a worked example typically goes wrong.

Each entry is a named, documented change to how a problem is computed:

* ``reading``: another reading of the algorithm (update order, trained biases,
  another loss or learning rate).  It changes the problem, so any engine can
  compute it.
* ``bug``: a classic mistake in hand-written backpropagation (a derivative
  forgotten, a sign flipped).  It is planted in the loops engine through the
  seams it offers (:mod:`bpcheck.diagnose.planted`).
* ``hand``: the author computed by hand, rounding or cutting every intermediate
  value to k decimals.  Also planted in the loops engine.
* ``printing``: the number was computed right and printed wrong (one digit
  changed, two digits swapped, a step off by one).

``bpcheck diagnose`` tries them on every erratum; the bug zoo applies the bugs
as mutants and shows which check catches each.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

from bpcheck.diagnose.planted import (
    BiasGradientDropped,
    ByHand,
    DerivativeOfNet,
    ErrorAsDelta,
    GradientSignFlipped,
    OutputDerivativeMissing,
    TransposedWeights,
)
from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.decimals import Mode, at_places, places_of
from bpcheck.model.engine import Availability, Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from bpcheck.model.verdicts import printed_problem, printed_value


@dataclass(frozen=True)
class Variant:
    """One way of computing a problem other than the standard one."""

    name: str
    kind: str
    """``reading``, ``bug``, ``hand`` or ``printing``."""
    doc: str
    transform: Callable[[Problem], Problem | None] | None = None
    """For readings: the changed problem, or None when the reading does not apply."""
    planted: Callable[[], LoopsEngine] | None = None
    """For bugs and hand computation: the loops engine with the mistake planted."""
    step_shift: int = 0
    """For printing: the claim was printed for this many steps earlier (-1) or later."""
    max_steps: int | None = None
    """Only for problems trained at most this many steps (nobody rounds 10,000 steps by hand)."""
    reaches: str = "update"
    """The first stage of step 0 it changes (:data:`STAGES`); every stage after a step is run."""

    def applies(self, problem: Problem) -> bool:
        if self.max_steps is not None and problem.steps > self.max_steps:
            return False
        if self.why_not(problem) is not None:
            return False
        return self.transform is None or self.transform(problem) is not None

    def why_not(self, problem: Problem) -> str | None:
        """Why the variant does not fit a problem's features (None: it may apply)."""
        if self.kind == "hand" and problem.precision == "float32":
            return "a float32 fixture was computed by a machine, not rounded by hand"
        return None

    @property
    def computes(self) -> bool:
        return self.transform is not None or self.planted is not None


# --- readings: problem changes -------------------------------------------------------


STAGES = ("forward", "loss", "backward", "update", "print")
"""What a variant can change, earliest first: ``forward`` values, the ``loss`` and dE/dout at
the output, the ``backward`` pass, only what follows an ``update``, or only the ``print``.
A variant is computed only for a fixture with a wrong number it can reach."""


def _order(order: str) -> Callable[[Problem], Problem | None]:
    def change(problem: Problem) -> Problem | None:
        if problem.update_order == order or len(problem.layers) < 2:
            return None
        return replace(problem, update_order=order)

    return change


def _biases(trainable: bool) -> Callable[[Problem], Problem | None]:
    def change(problem: Problem) -> Problem | None:
        with_bias = [layer for layer in problem.layers if layer.bias_kind != "none"]
        if not with_bias or all(layer.bias_trainable == trainable for layer in with_bias):
            return None
        layers = tuple(replace(layer, bias_trainable=trainable) for layer in problem.layers)
        return replace(problem, layers=layers)

    return change


SQUARED_LOSSES = ("half_sse", "sse", "mse")


def _loss(loss: str) -> Callable[[Problem], Problem | None]:
    def change(problem: Problem) -> Problem | None:
        if problem.loss == loss or problem.loss not in SQUARED_LOSSES:
            return None
        return replace(problem, loss=loss)

    return change


def _rate(factor: float | None) -> Callable[[Problem], Problem | None]:
    """Multiply the learning rate by ``factor``; None squares it (applied twice)."""

    def scaled(rate: float) -> float:
        return rate * rate if factor is None else rate * factor

    def change(problem: Problem) -> Problem | None:
        if problem.steps == 0:
            return None
        layers = tuple(  # a layer's own rate is read the same way as the problem's
            layer
            if layer.learning_rate is None
            else replace(layer, learning_rate=scaled(layer.learning_rate))
            for layer in problem.layers
        )
        return replace(problem, learning_rate=scaled(problem.learning_rate), layers=layers)

    return change


# --- the variant engine: readings applied, a bug or hand computation planted -------------


class VariantEngine:
    """The loops engine with a variant planted (a bug, a hand computation) and readings applied.

    At most one planted variant: each is a subclass of the loops engine, and the
    diagnosis never combines two (a pair is a reading and one other variant).
    """

    version = "variant of loops"

    def __init__(self, variants: tuple[Variant, ...]) -> None:
        self.variants = variants
        self.name = "+".join(v.name for v in variants)
        planted = {v.name: v.planted for v in variants if v.planted is not None}
        if len(planted) > 1:
            raise ValueError(f"one planted variant at a time, not {', '.join(planted)}")
        make = next(iter(planted.values()), LoopsEngine)
        self._engine = make()
        self.capabilities = self._engine.capabilities

    def available(self) -> Availability:
        return self._engine.available()

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        for variant in self.variants:
            if variant.transform is not None:
                problem = variant.transform(problem) or problem
        return self._engine.run(problem, record)


def mutant(variant: Variant) -> Engine:
    """A bug of the catalogue as an engine (the loops engine with it planted)."""
    return VariantEngine((variant,))


# --- printing slips ---------------------------------------------------------------------------


def digit_edits(text: str) -> Iterator[str]:
    """Every string one digit change or one adjacent swap away from ``text``."""
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    for i in digits:
        for d in "0123456789":
            if d != text[i]:
                yield text[:i] + d + text[i + 1 :]
    for a, b in itertools.pairwise(digits):
        if b == a + 1 and text[a] != text[b]:
            yield text[:a] + text[b] + text[a] + text[b + 1 :]


def typo_of(value: float, printed: str, swaps: bool) -> bool:
    """Whether ``printed`` is the value (rounded or cut) with one digit changed or swapped."""
    if not math.isfinite(value) or printed_problem(printed) is not None:
        return False
    wanted = printed_value(printed)
    places = places_of(printed)
    modes: tuple[Mode, ...] = ("round", "cut")
    for mode in modes:
        written = str(at_places(value, places, mode))
        for edit in digit_edits(written):
            is_swap = sorted(edit) == sorted(written)
            if is_swap == swaps and Decimal(edit) == wanted:
                return True
    return False


# --- the catalogue -----------------------------------------------------------------------------


HAND_STEPS = 10
"""Problems trained at most this many steps may have been computed by hand (rounded, slipped)."""

HAND_MODES: tuple[tuple[str, Mode], ...] = (("round", "round"), ("truncat", "cut"))
"""How the hand variants are named (rounded-k-, truncated-k-decimals) and how they cut."""

CATALOGUE: tuple[Variant, ...] = (
    Variant(
        "sequential-order",
        "reading",
        "a layer's new weights used while back-propagating into the layer below",
        transform=_order("sequential"),
        reaches="backward",
    ),
    Variant(
        "simultaneous-order",
        "reading",
        "every gradient from the weights before the step",
        transform=_order("simultaneous"),
        reaches="backward",
    ),
    Variant("biases-trained", "reading", "biases updated like weights", transform=_biases(True)),
    Variant("biases-frozen", "reading", "biases left as they were", transform=_biases(False)),
    Variant(
        "loss-sse",
        "reading",
        "sum of squared errors, without the 1/2",
        transform=_loss("sse"),
        reaches="loss",
    ),
    Variant(
        "loss-half_sse",
        "reading",
        "half the sum of squared errors",
        transform=_loss("half_sse"),
        reaches="loss",
    ),
    Variant(
        "loss-mse", "reading", "mean of squared errors", transform=_loss("mse"), reaches="loss"
    ),
    Variant("learning-rate-x2", "reading", "twice the learning rate", transform=_rate(2.0)),
    Variant("learning-rate-x0.5", "reading", "half the learning rate", transform=_rate(0.5)),
    Variant("learning-rate-x10", "reading", "ten times the learning rate", transform=_rate(10.0)),
    Variant("learning-rate-x0.1", "reading", "a tenth of the learning rate", transform=_rate(0.1)),
    Variant(
        "learning-rate-twice",
        "bug",
        "the learning rate applied twice (rate squared)",
        transform=_rate(None),
    ),
    Variant(
        "output-derivative-missing",
        "bug",
        "the output layer's delta lacks f'(net)",
        planted=OutputDerivativeMissing,
        reaches="backward",
    ),
    Variant(
        "error-as-delta",
        "bug",
        "the output delta is target - output (the error itself)",
        planted=ErrorAsDelta,
        reaches="loss",
    ),
    Variant(
        "derivative-of-net",
        "bug",
        "f' applied to the net input instead of the output (sigmoid' = net (1 - net))",
        planted=DerivativeOfNet,
        reaches="backward",
    ),
    Variant(
        "transposed-weights",
        "bug",
        "deltas carried down through W, not its transpose",
        planted=TransposedWeights,
        reaches="backward",
    ),
    Variant(
        "gradient-sign-flipped",
        "bug",
        "p + rate * dE/dp: gradient ascent",
        planted=GradientSignFlipped,
    ),
    Variant(
        "bias-gradient-dropped",
        "bug",
        "dE/db left at zero",
        planted=BiasGradientDropped,
        reaches="backward",
    ),
    *(
        Variant(
            f"{mode}ed-{k}-decimals",
            "hand",
            f"every intermediate value {mode}ed to {k} decimals, as by hand",
            planted=functools.partial(ByHand, k, how),
            max_steps=HAND_STEPS,
            reaches="forward",
        )
        for mode, how in HAND_MODES
        for k in (2, 3, 4, 5, 6)
    ),
    Variant(
        "from-printed-inputs",
        "search",
        "computed from the document's own printed (rounded) values of its operands",
        reaches="print",
    ),
    Variant(
        "formula-slip",
        "search",
        "one operand or factor of one formula wrong (a neighbour's value, a sign, a factor 2 "
        "or ½, a factor dropped), and every number after it inheriting the slip",
        reaches="print",
    ),
    Variant(
        "cut-when-printed",
        "printing",
        "the value cut, not rounded, at the printed place",
        reaches="print",
    ),
    Variant(
        "typo-one-digit", "printing", "one digit of the printed number changed", reaches="print"
    ),
    Variant(
        "typo-swapped-digits",
        "printing",
        "two adjacent digits of the printed number swapped",
        reaches="print",
    ),
    Variant(
        "one-step-early",
        "printing",
        "the number printed is that of the step before",
        step_shift=-1,
        reaches="print",
    ),
)
"""Every variant bpcheck knows, in the order reports list them."""

BY_NAME = {variant.name: variant for variant in CATALOGUE}
BUGS = tuple(v for v in CATALOGUE if v.kind == "bug")
