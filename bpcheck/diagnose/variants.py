"""A catalogue of readings and bugs: the ways a worked example typically goes wrong.

Each entry is a named, documented change to how a problem is computed:

* ``reading``: another reading of the algorithm (update order, trained biases,
  another loss or learning rate).  It changes the problem, so any engine can
  compute it.
* ``bug``: a classic mistake in hand-written backpropagation (a derivative
  forgotten, a sign flipped).  It is planted in a private copy of the loops
  engine, the one engine whose steps are plain functions one can replace.
* ``hand``: the author computed by hand, rounding or cutting every intermediate
  value to k decimals.  Also planted in a copy of the loops engine.
* ``printing``: the number was computed right and printed wrong (one digit
  changed, two digits swapped, a step off by one).

``bpcheck diagnose`` tries them on every erratum; the bug zoo applies the bugs
as mutants and shows which check catches each.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from bpcheck.model.engine import CannotRun, Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace

LOOPS_SOURCE = Path(__file__).resolve().parent.parent / "engines" / "loops.py"

Vector = list[float]


@dataclass(frozen=True)
class Variant:
    """One way of computing a problem other than the standard one."""

    name: str
    kind: str
    """``reading``, ``bug``, ``hand`` or ``printing``."""
    doc: str
    transform: Callable[[Problem], Problem | None] | None = None
    """For readings: the changed problem, or None when the reading does not apply."""
    plant: Callable[[Any], None] | None = None
    """For bugs and hand computation: replaces functions in a copy of the loops engine."""
    step_shift: int = 0
    """For printing: the claim was printed for this many steps earlier (-1) or later."""
    max_steps: int | None = None
    """Only for problems trained at most this many steps (nobody rounds 10,000 steps by hand)."""

    def applies(self, problem: Problem) -> bool:
        if self.max_steps is not None and problem.steps > self.max_steps:
            return False
        return self.transform is None or self.transform(problem) is not None

    @property
    def computes(self) -> bool:
        return self.transform is not None or self.plant is not None


# --- readings: problem changes -------------------------------------------------------


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

    def change(problem: Problem) -> Problem | None:
        if problem.steps == 0:
            return None
        rate = problem.learning_rate
        return replace(problem, learning_rate=rate * rate if factor is None else rate * factor)

    return change


# --- bugs and hand computation: planted in a copy of the loops engine -------------------


def fresh_loops(tag: str) -> ModuleType:
    """A private copy of ``engines/loops.py`` whose functions can be replaced safely."""
    name = f"bpcheck_variant_{tag.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, LOOPS_SOURCE)
    if spec is None or spec.loader is None:
        raise CannotRun(f"cannot load {LOOPS_SOURCE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _track_outputs(module: Any) -> list[Any]:
    """Keep the most recent forward passes so a replaced function can tell layers apart."""
    recent: list[Any] = []
    original = module.forward

    def forward(problem: Problem, params: Any, x: Vector) -> Any:
        result = original(problem, params, x)
        recent[:] = [*recent[-8:], result]
        return result

    module.forward = forward
    return recent


def _is_output(recent: list[Any], outs: Vector) -> bool:
    return any(outs is fwd.outs[-1] for fwd in recent)


def _plant_no_output_derivative(module: Any) -> None:
    """delta = dE/dout at the output layer: the activation's derivative forgotten there."""
    recent = _track_outputs(module)
    original = module.back_through_activation

    def back(activation: str, outs: Vector, d_out: Vector) -> Vector:
        if _is_output(recent, outs):
            return list(d_out)
        result: Vector = original(activation, outs, d_out)
        return result

    module.back_through_activation = back


def _plant_error_as_delta(module: Any) -> None:
    """delta = target - output at the output layer (the error, not dE/dnet)."""
    original = module.output_gradient

    def output_gradient(problem: Problem, target: Vector, outs: Vector, scale: int) -> Vector:
        return [-(t - o) * -1.0 for t, o in zip(target, outs, strict=True)]

    _plant_no_output_derivative(module)
    module.output_gradient = output_gradient
    del original


def _plant_derivative_of_net(module: Any) -> None:
    """f'(net) written as if net were the output: sigmoid' = net (1 - net)."""
    recent = _track_outputs(module)
    original = module.back_through_activation

    def back(activation: str, outs: Vector, d_out: Vector) -> Vector:
        for fwd in recent:
            for index, layer_outs in enumerate(fwd.outs):
                if layer_outs is outs and index > 0:
                    nets: Vector = fwd.nets[index]
                    result: Vector = original(activation, nets, d_out)
                    return result
        fallback: Vector = original(activation, outs, d_out)
        return fallback

    module.back_through_activation = back


def _plant_transposed_weights(module: Any) -> None:
    """Back-propagate through W instead of its transpose (square layers only)."""

    def back_through_weights(weights: list[Vector], d_net: Vector) -> Vector:
        if any(len(row) != len(weights) for row in weights):
            raise CannotRun("a transposed weight matrix only fits square layers")
        return [
            sum(d * w for d, w in zip(d_net, weights[i], strict=True)) for i in range(len(weights))
        ]

    module.back_through_weights = back_through_weights


def _plant_sign_flipped(module: Any) -> None:
    """p <- p + rate * dE/dp: gradient ascent."""
    original = module.apply_update

    def apply_update(problem: Problem, params: Any, index: int, grad_w: Any, grad_b: Any) -> None:
        flipped_w = [[-g for g in row] for row in grad_w]
        original(problem, params, index, flipped_w, [-g for g in grad_b])

    module.apply_update = apply_update


def _plant_bias_gradient_dropped(module: Any) -> None:
    """dE/db left at zero: biases never move, and their gradients read 0."""
    original = module.LoopsEngine._layer_gradients
    original_bias = module.bias_gradient

    def layer_gradients(self: Any, *args: Any) -> tuple[Any, Vector]:
        grad_w, grad_b = original(self, *args)
        return grad_w, [0.0 for _ in grad_b]

    def bias_gradient(layer: Any, per_neuron: Vector) -> Vector:
        return [0.0 for _ in original_bias(layer, per_neuron)]

    module.LoopsEngine._layer_gradients = layer_gradients
    module.bias_gradient = bias_gradient


def _plant_hand(places: int, mode: str) -> Callable[[Any], None]:
    """Every intermediate value rounded (or cut) to ``places`` decimals, as by hand."""
    rounding = ROUND_HALF_EVEN if mode == "round" else ROUND_DOWN
    quantum = Decimal(1).scaleb(-places)

    def cut(value: float) -> float:
        """As a calculator shows it (12 digits, so 0.7513 - 0.01 is 0.7413), then cut."""
        if not math.isfinite(value):
            return value
        return float(Decimal(f"{value:.12g}").quantize(quantum, rounding=rounding))

    def cut_all(values: Any) -> Any:
        return [cut(v) for v in values]

    def plant(module: Any) -> None:
        for name in ("activate", "back_through_activation", "back_through_weights"):
            original = getattr(module, name)
            setattr(module, name, _rounded(original, cut_all))
        module.output_gradient = _rounded(module.output_gradient, cut_all)
        module.elementwise_derivative = _rounded(module.elementwise_derivative, cut)
        module.loss_term = _rounded(module.loss_term, cut)
        jacobian = module.out_net_jacobian
        module.out_net_jacobian = lambda *args: [cut_all(row) for row in jacobian(*args)]
        original_forward = module.forward

        def forward(problem: Problem, params: Any, x: Vector) -> Any:
            result = original_forward(problem, params, x)
            result.nets[:] = [cut_all(net) for net in result.nets]
            return result

        module.forward = forward
        original_update = module.apply_update

        def apply_update(
            problem: Problem, params: Any, index: int, grad_w: Any, grad_b: Any
        ) -> None:
            original_update(problem, params, index, [cut_all(r) for r in grad_w], cut_all(grad_b))
            params.weights[index] = [cut_all(row) for row in params.weights[index]]
            params.biases[index] = cut_all(params.biases[index])

        module.apply_update = apply_update

    return plant


def _rounded(function: Callable[..., Any], cut_all: Callable[[Any], Any]) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        return cut_all(function(*args))

    return wrapper


class VariantEngine:
    """The loops engine with variants planted (bugs) or applied to each problem (readings)."""

    version = "variant of loops"

    def __init__(self, variants: tuple[Variant, ...]) -> None:
        self.variants = variants
        self.name = "+".join(v.name for v in variants)
        module = fresh_loops(self.name)
        for variant in variants:
            if variant.plant is not None:
                variant.plant(module)
        self._engine = module.LoopsEngine()
        self.capabilities = self._engine.capabilities

    def available(self) -> Any:
        return self._engine.available()

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        for variant in self.variants:
            if variant.transform is not None:
                problem = variant.transform(problem) or problem
        trace: Trace = self._engine.run(problem, record)
        return trace


def mutant(variant: Variant) -> Engine:
    """A bug of the catalogue applied to an engine (the loops engine's copy)."""
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


def _as_printed(value: float, printed: str, mode: str) -> str:
    """``value`` written with the printed string's decimals, rounded or cut."""
    places = -Decimal(printed).as_tuple().exponent  # type: ignore[operator]
    rounding = ROUND_HALF_EVEN if mode == "round" else ROUND_DOWN
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=rounding))


def typo_of(value: float, printed: str, swaps: bool) -> bool:
    """Whether ``printed`` is the value (rounded or cut) with one digit changed or swapped."""
    try:
        wanted = Decimal(printed)
    except ArithmeticError:
        return False
    for mode in ("round", "cut"):
        written = _as_printed(value, printed, mode)
        for edit in digit_edits(written):
            is_swap = sorted(edit) == sorted(written)
            if is_swap == swaps and Decimal(edit) == wanted:
                return True
    return False


# --- the catalogue -----------------------------------------------------------------------------


CATALOGUE: tuple[Variant, ...] = (
    Variant(
        "sequential-order",
        "reading",
        "a layer's new weights used while back-propagating into the layer below",
        transform=_order("sequential"),
    ),
    Variant(
        "simultaneous-order",
        "reading",
        "every gradient from the weights before the step",
        transform=_order("simultaneous"),
    ),
    Variant("biases-trained", "reading", "biases updated like weights", transform=_biases(True)),
    Variant("biases-frozen", "reading", "biases left as they were", transform=_biases(False)),
    Variant(
        "loss-sse", "reading", "sum of squared errors, without the 1/2", transform=_loss("sse")
    ),
    Variant(
        "loss-half_sse", "reading", "half the sum of squared errors", transform=_loss("half_sse")
    ),
    Variant("loss-mse", "reading", "mean of squared errors", transform=_loss("mse")),
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
        plant=_plant_no_output_derivative,
    ),
    Variant(
        "error-as-delta",
        "bug",
        "the output delta is target - output (the error itself)",
        plant=_plant_error_as_delta,
    ),
    Variant(
        "derivative-of-net",
        "bug",
        "f' applied to the net input instead of the output (sigmoid' = net (1 - net))",
        plant=_plant_derivative_of_net,
    ),
    Variant(
        "transposed-weights",
        "bug",
        "deltas carried down through W, not its transpose",
        plant=_plant_transposed_weights,
    ),
    Variant(
        "gradient-sign-flipped",
        "bug",
        "p + rate * dE/dp: gradient ascent",
        plant=_plant_sign_flipped,
    ),
    Variant(
        "bias-gradient-dropped", "bug", "dE/db left at zero", plant=_plant_bias_gradient_dropped
    ),
    *(
        Variant(
            f"{mode}ed-{k}-decimals",
            "hand",
            f"every intermediate value {mode}ed to {k} decimals, as by hand",
            plant=_plant_hand(k, mode),
            max_steps=10,
        )
        for mode in ("round", "truncat")
        for k in (2, 3, 4, 5, 6)
    ),
    Variant("cut-when-printed", "printing", "the value cut, not rounded, at the printed place"),
    Variant("typo-one-digit", "printing", "one digit of the printed number changed"),
    Variant("typo-swapped-digits", "printing", "two adjacent digits of the printed number swapped"),
    Variant(
        "one-step-early", "printing", "the number printed is that of the step before", step_shift=-1
    ),
)
"""Every variant bpcheck knows, in the order reports list them."""

BY_NAME = {variant.name: variant for variant in CATALOGUE}
BUGS = tuple(v for v in CATALOGUE if v.kind == "bug")
