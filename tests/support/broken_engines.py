"""Engines that are wrong on purpose: a check no broken engine can fail is not a check.

Each is the loops engine with one classic mistake planted, as a subclass that
overrides one of the seams the engine offers (see ``bpcheck.engines.loops``),
so the real engine stays untouched; the lean-path bugs of the matrices engine
wrap its ``train_step`` for the length of a run.  Bugs of bpcheck's catalogue are taken
from it (``bpcheck.diagnose.planted``); the contract mistakes that are not bugs
of backpropagation (float32, recording every step) are planted here.
"""

from __future__ import annotations

import copy
import math
import struct
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any

import numpy as np

from bpcheck.checking.enclosures import midpoint
from bpcheck.diagnose.engine_bugs import (
    BceWrongSlope,
    BiasUpdateWithoutRate,
    LoopsLeanBiasFromOneSample,
    LoopsLeanMseBySamples,
    LoopsLeanOutputBiasFrozen,
    LoopsLeanSampleOffByOne,
    ReluSlopeOneAtZero,
    SoftmaxDiagonalOnly,
    SoftmaxWithoutMaxShift,
    TanhOneMinusOut,
)
from bpcheck.diagnose.variants import BY_NAME
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine, Params, Vector
from bpcheck.engines.loops import engine as loops_engine
from bpcheck.engines.loops import inline as loops_inline
from bpcheck.engines.matrices import engine as matrices_engine
from bpcheck.engines.matrices import network as matrices_network
from bpcheck.engines.matrices.engine import MatricesEngine
from bpcheck.model.engine import Enclosures, Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace

MakeEngine = Callable[[], Engine]


def _from_catalogue(name: str) -> MakeEngine:
    """A bug of bpcheck's catalogue (``bpcheck.diagnose.variants``), planted the same way."""
    planted = BY_NAME[name].planted
    assert planted is not None, f"{name} is not planted in the engine"
    return planted


def to_float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def mutant(name: str, make: MakeEngine) -> Engine:
    """The broken engine ``make`` builds, under ``name``."""
    engine = make()
    engine.name = name
    return engine


class Float32(LoopsEngine):
    """Net inputs and outputs stored in single precision."""

    def activate(self, name: str, nets: list[float]) -> list[float]:
        return [to_float32(v) for v in super().activate(name, [to_float32(n) for n in nets])]


class SequentialAlways(LoopsEngine):
    """Every problem trained in sequential order, whatever it asks for."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        return super().run(replace(problem, update_order="sequential"), record)


class RecordsEveryStep(LoopsEngine):
    """Every step in the trace, not only those asked for."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        return super().run(problem, range(problem.steps + 1))


class FrozenBiasTrained(LoopsEngine):
    """Frozen biases trained like the others."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        layers = tuple(replace(layer, bias_trainable=True) for layer in problem.layers)
        return super().run(replace(problem, layers=layers), record)


class DropsTermPartials(LoopsEngine):
    """No ``dE[k]_d...`` partials of one output's loss term in the trace."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        trace = super().run(problem, record)
        return {
            step: {name: v for name, v in values.items() if not name.startswith("dE[")}
            for step, values in trace.items()
        }


BROKEN: dict[str, tuple[MakeEngine, str]] = {
    "no-output-derivative": (
        _from_catalogue("output-derivative-missing"),
        "check_gradients_match_finite_differences",
    ),
    "float32": (Float32, "check_float64"),
    "sequential-when-simultaneous": (SequentialAlways, "check_update_rule"),
    "bias-gradient-dropped": (_from_catalogue("bias-gradient-dropped"), "check_bias_gradients"),
    "records-every-step": (RecordsEveryStep, "check_records_only_requested_steps"),
    "frozen-bias-trained": (FrozenBiasTrained, "check_update_rule"),
    "drops-term-partials": (DropsTermPartials, "check_trace_has_every_name"),
}
"""Broken engine name -> (the engine with the mistake planted, the check that must name it)."""


def broken_engine(name: str) -> Engine:
    make, _ = BROKEN[name]
    return mutant(name, make)


# --- bugs the bundled fixtures miss (issue 15): see bpcheck.diagnose.engine_bugs ------------
#
# The loops engine's are there (the bug zoo runs them too); those of the inline hot loop and
# of the matrices engine, which replace module functions for the length of a run, are here.


class ReluSlopeRecordedAsOne(LoopsEngine):
    """relu's dout_dnet recorded as 1 everywhere (training itself is right)."""

    def elementwise_derivative(self, name: str, out: float) -> float:
        return 1.0 if name == "relu" else super().elementwise_derivative(name, out)


class LogOfZeroIsNan(LoopsEngine):
    """t log o without its limit: log 0 taken as NaN (math.log would raise)."""

    def loss_term(self, loss: str, target: float, out: float, scale: int) -> float:
        if loss in ("bce", "softmax_ce") and out in (0.0, 1.0):
            return math.nan
        return super().loss_term(loss, target, out, scale)


# --- bugs planted only in the lean path of unrecorded steps ----------------------------------
#
# Each is right whenever a step is recorded and wrong only when it is not: nothing but a
# comparison of the two paths (bpcheck.testing.paths) can see them.  They wrap the lean
# step rather than copy it, so they follow the engines' code as it changes.


class _InlineLeanBug(LoopsEngine):
    """The loops engine with a function of its inline hot loop (``loops.inline``) replaced
    for the length of a run: the path a plain loops engine takes for unrecorded steps."""

    def planted(self, problem: Problem) -> dict[str, Any]:
        raise NotImplementedError

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        replaced = self.planted(problem)
        modules = {name: loops_engine if name == "train" else loops_inline for name in replaced}
        originals = {name: getattr(modules[name], name) for name in replaced}
        for name, function in replaced.items():
            setattr(modules[name], name, function)
        try:
            return super().run(problem, record)
        finally:
            for name, function in originals.items():
                setattr(modules[name], name, function)


class InlineBiasFromOneSample(_InlineLeanBug):
    """Inline path: the bias gradient of the batch's first sample only."""

    def planted(self, problem: Problem) -> dict[str, Any]:
        added = loops_inline.added

        def first_bias(summed: Any, more: Any) -> Any:
            return added(summed, more)[0], summed[1]

        return {"added": first_bias}


class InlineMseBySamples(_InlineLeanBug):
    """Inline path: mse divided by the number of samples only, not outputs x samples."""

    def planted(self, problem: Problem) -> dict[str, Any]:
        derivative = getattr(loops_inline, "loss_term_derivative")  # noqa: B009 - imported there

        def by_samples(loss: str, target: float, out: float, scale: int) -> float:
            count = scale // problem.n_outputs if loss == "mse" else scale
            return float(derivative(loss, target, out, count))

        return {"loss_term_derivative": by_samples}


class InlineSampleOffByOne(_InlineLeanBug):
    """Inline path: per-sample step k trains on sample k + 1 mod n."""

    def planted(self, problem: Problem) -> dict[str, Any]:
        train = getattr(loops_engine, "train")  # noqa: B009 - imported there

        def shifted(engine: Any, problem: Problem, params: Params, steps: range) -> None:
            train(engine, problem, params, range(steps.start + 1, steps.stop + 1))

        return {"train": shifted}


class InlineOutputBiasFrozen(_InlineLeanBug):
    """Inline path: the output layer's bias never updated."""

    def planted(self, problem: Problem) -> dict[str, Any]:
        update_bias = loops_inline.update_bias
        top = len(problem.layers) - 1

        def all_but_output(problem: Problem, params: Params, index: int, grads: Vector) -> None:
            if index != top:
                update_bias(problem, params, index, grads)

        return {"update_bias": all_but_output}


TrainStep = Callable[..., None]


class _MatricesLeanBug(MatricesEngine):
    """The matrices engine with its lean ``train_step`` wrapped by :meth:`planted`."""

    def planted(self, problem: Problem, train_step: TrainStep) -> TrainStep:
        raise NotImplementedError

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        original = getattr(matrices_engine, "train_step")  # noqa: B009 - not re-exported
        setattr(matrices_engine, "train_step", self.planted(problem, original))  # noqa: B010
        try:
            return super().run(problem, record)
        finally:
            setattr(matrices_engine, "train_step", original)  # noqa: B010


class MatricesLeanBiasFromOneSample(_MatricesLeanBug):
    """Lean path: the bias gradient of the batch's first sample only."""

    def planted(self, problem: Problem, train_step: TrainStep) -> TrainStep:
        def step(layers: list[Any], x: Any, target: Any, *rest: Any) -> None:
            first = copy.deepcopy(layers)
            train_step(first, x[:1], target[:1], *rest)
            train_step(layers, x, target, *rest)
            for layer, alone in zip(layers, first, strict=True):
                layer.bias[...] = alone.bias

        return step


class MatricesLeanMseBySamples(_MatricesLeanBug):
    """Lean path: mse divided by the number of samples only, not outputs x samples."""

    def planted(self, problem: Problem, train_step: TrainStep) -> TrainStep:
        slopes = matrices_network._loss_slopes

        def by_samples(loss: str, out: Any, target: Any) -> Any:
            result = slopes(loss, out, target)
            return result * out.shape[1] if loss == "mse" else result

        def step(*args: Any) -> None:
            matrices_network._loss_slopes = by_samples
            try:
                train_step(*args)
            finally:
                matrices_network._loss_slopes = slopes

        return step


class MatricesLeanSampleOffByOne(_MatricesLeanBug):
    """Lean path: per-sample step k trains on sample k + 1 mod n."""

    def planted(self, problem: Problem, train_step: TrainStep) -> TrainStep:
        def step(layers: list[Any], x: Any, target: Any, *rest: Any) -> None:
            if problem.batch == "per_sample":  # rows in the run's dtype (float32 problems)
                inputs = np.array(problem.inputs, dtype=x.dtype)
                targets = np.array(problem.targets, dtype=x.dtype)
                rows = [(tuple(i), tuple(t)) for i, t in zip(inputs.tolist(), targets.tolist())]
                index = rows.index((tuple(x[0].tolist()), tuple(target[0].tolist())))
                following = (index + 1) % problem.n_samples
                x, target = inputs[following : following + 1], targets[following : following + 1]
            train_step(layers, x, target, *rest)

        return step


class MatricesLeanOutputBiasFrozen(_MatricesLeanBug):
    """Lean path: the output layer's bias never updated."""

    def planted(self, problem: Problem, train_step: TrainStep) -> TrainStep:
        def step(layers: list[Any], *rest: Any) -> None:
            output_bias = layers[-1].bias.copy()
            train_step(layers, *rest)
            layers[-1].bias[...] = output_bias

        return step


LEAN_PATH_BUGS: dict[str, Callable[[], Engine]] = {
    "loops-inline-bias-from-one-sample": InlineBiasFromOneSample,
    "loops-inline-mse-by-samples": InlineMseBySamples,
    "loops-inline-sample-off-by-one": InlineSampleOffByOne,
    "loops-inline-output-bias-frozen": InlineOutputBiasFrozen,
    "loops-lean-bias-from-one-sample": LoopsLeanBiasFromOneSample,
    "loops-lean-mse-by-samples": LoopsLeanMseBySamples,
    "loops-lean-sample-off-by-one": LoopsLeanSampleOffByOne,
    "loops-lean-output-bias-frozen": LoopsLeanOutputBiasFrozen,
    "matrices-lean-bias-from-one-sample": MatricesLeanBiasFromOneSample,
    "matrices-lean-mse-by-samples": MatricesLeanMseBySamples,
    "matrices-lean-sample-off-by-one": MatricesLeanSampleOffByOne,
    "matrices-lean-output-bias-frozen": MatricesLeanOutputBiasFrozen,
}
"""The four bugs of issue 15 planted in the lean paths of loops (its inline hot loop, taken
while no seam is overridden, and ``_simultaneous_step``, taken when one is) and of matrices."""

BROKEN.update(
    {
        "tanh-one-minus-out": (TanhOneMinusOut, "check_gradients_match_finite_differences"),
        "relu-slope-one-at-zero": (ReluSlopeOneAtZero, "check_relu_kink"),
        "softmax-without-max-shift": (SoftmaxWithoutMaxShift, "check_large_net_inputs"),
        "softmax-diagonal-only": (
            SoftmaxDiagonalOnly,
            "check_gradients_match_finite_differences",
        ),
        "bce-wrong-slope": (BceWrongSlope, "check_gradients_match_finite_differences"),
        "bias-update-without-rate": (BiasUpdateWithoutRate, "check_update_rule"),
        "relu-slope-recorded-as-one": (ReluSlopeRecordedAsOne, "check_backward_values"),
        "log-of-zero-is-nan": (LogOfZeroIsNan, "check_saturated_cross_entropy"),
        **{
            name: (make, "check_lean_path_matches_recorded_path")
            for name, make in LEAN_PATH_BUGS.items()
        },
    }
)


# --- certified engines that break their promise (issue 18) ---------------------------------


class DroppedRadius(CertifiedEngine):
    """Each ball's radius dropped: the bounds collapsed to the midpoint, which is not the
    exact value (some 10^-57 away), so the promise that the bounds contain it breaks."""

    def enclose(self, problem: Problem, record: Collection[int]) -> Enclosures:
        found = super().enclose(problem, record)
        collapsed = {
            step: {name: (str(midpoint(*pair)),) * 2 for name, pair in values.items()}
            for step, values in found.bounds.items()
        }
        return Enclosures(collapsed, found.float64, found.precision, found.digits)


class TooFewBits(CertifiedEngine):
    """A precision too low for the problem: just the bits 50 digits need, never raised
    when the problem cancels some (1 - out at net input 16 takes 23 of them)."""

    def __init__(self) -> None:
        super().__init__(max_bits=math.ceil(50 * math.log2(10)))


BROKEN.update(
    {
        "certified-radius-dropped": (DroppedRadius, "check_enclosures_contain_the_truth"),
        "certified-precision-too-low": (TooFewBits, "check_certifies_fifty_digits"),
    }
)
