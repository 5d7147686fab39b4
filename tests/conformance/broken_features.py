"""Engines wrong on purpose in one feature of issue 17 each, and the check that catches each.

Each is the loops engine with one mistake planted: where the mistake is one of the
problem's settings read wrongly (a slope, a sign, an order, a precision), by changing the
problem the engine is given; where it is a formula, by overriding one of the engine's seams
(``net_derivative``, ``output_gradient``, ``back_through_activation``, ``apply_update``);
where it is a name recorded wrongly, by changing the trace.  The real engine stays
untouched.  :data:`FEATURE_BUGS` maps each to the conformance check that must fail it;
``tests/engines/test_conformance.py`` runs each check alone on its engine.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection
from dataclasses import replace

from bpcheck.engines.loops import LoopsEngine, Params
from bpcheck.model.engine import Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace


def _to_float32(value: float) -> float:
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return value


class _Given(LoopsEngine):
    """The loops engine given another problem than it was asked (:meth:`given`)."""

    def given(self, problem: Problem) -> Problem:
        raise NotImplementedError

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        return super().run(self.given(problem), record)


class _Recorded(LoopsEngine):
    """The loops engine with some recorded values changed (:meth:`recorded`)."""

    def recorded(self, name: str, value: float) -> float:
        raise NotImplementedError

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        trace = super().run(problem, record)
        return {
            step: {name: self.recorded(name, v) for name, v in values.items()}
            for step, values in trace.items()
        }


class LeakySlopeIgnored(_Given):
    """leaky_relu with the default slope 0.01, whatever the layer says."""

    def given(self, problem: Problem) -> Problem:
        return replace(problem, layers=tuple(replace(x, slope=0.01) for x in problem.layers))


class LeakySlopeOneAtZero(LoopsEngine):
    """leaky_relu'(0) = 1: the right branch at the kink."""

    def net_derivative(self, name: str, net: float) -> float:
        if name == "leaky_relu" and net == 0.0:
            return 1.0
        return super().net_derivative(name, net)


class EluSlopeOneAtZero(LoopsEngine):
    """elu'(0) = 1: the right branch at the kink (alpha is its left limit)."""

    def net_derivative(self, name: str, net: float) -> float:
        if name == "elu" and net == 0.0:
            return 1.0
        return super().net_derivative(name, net)


class SoftplusSlopeIsOutput(LoopsEngine):
    """softplus' taken as its output, log(1 + e^x), instead of the logistic of the net."""

    def net_derivative(self, name: str, net: float) -> float:
        if name == "softplus":
            return self.activate(name, [net])[0]
        return super().net_derivative(name, net)


class MomentumSignWrong(_Given):
    """v <- -mu v - eta g: the velocity's sign flipped."""

    def given(self, problem: Problem) -> Problem:
        return replace(problem, momentum=-problem.momentum)


class NesterovAsClassical(_Given):
    """Nesterov momentum trained as classical momentum."""

    def given(self, problem: Problem) -> Problem:
        return replace(problem, nesterov=False)


class WeightDecayOnBiases(LoopsEngine):
    """Biases decayed too: their update adds weight_decay * b to the gradient."""

    def apply_update(
        self,
        problem: Problem,
        params: Params,
        layer_index: int,
        grad_w: list[list[float]],
        grad_b: list[float],
    ) -> None:
        biases = params.biases[layer_index]
        decayed = [g + problem.weight_decay * b for g, b in zip(grad_b, biases, strict=False)]
        super().apply_update(problem, params, layer_index, grad_w, decayed)


class LayerRateIgnored(_Given):
    """Every layer trained at the problem's rate, its own ignored."""

    def given(self, problem: Problem) -> Problem:
        layers = tuple(replace(x, learning_rate=None) for x in problem.layers)
        return replace(problem, layers=layers)


class SampleOrderIgnored(_Given):
    """Mini-batches taken in the samples' order 1, 2, 3, ..., not the stated one."""

    def given(self, problem: Problem) -> Problem:
        return replace(problem, sample_order=())


class Float32InFloat64(LoopsEngine):
    """float32 asked for: computed in float64 and each value rounded to float32 at the end."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        if problem.precision != "float32":
            return super().run(problem, record)
        trace = super().run(replace(problem, precision="float64"), record)
        return {s: {n: _to_float32(v) for n, v in vs.items()} for s, vs in trace.items()}


class ObjectiveSeedsEveryOutput(LoopsEngine):
    """loss ``output``: dE/dout = 1 at every output, not at the objective's only."""

    def output_gradient(
        self, problem: Problem, target: list[float], outs: list[float], scale: int
    ) -> list[float]:
        if problem.loss == "output":
            return [1.0 for _ in outs]
        return super().output_gradient(problem, target, outs, scale)


class _FusedOutputDelta(LoopsEngine):
    """The output layer's delta by a shortcut that holds for another pairing only."""

    loss = ""
    activation = ""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        self._fused = problem.loss == self.loss
        return super().run(problem, record)

    def back_through_activation(
        self,
        activation: str,
        nets: list[float],
        outs: list[float],
        d_out: list[float],
        output_layer: bool,
    ) -> list[float]:
        if output_layer and self._fused and activation == self.activation:
            return self.fused(outs, d_out)
        return super().back_through_activation(activation, nets, outs, d_out, output_layer)

    def fused(self, outs: list[float], d_out: list[float]) -> list[float]:
        raise NotImplementedError


class BceFusedOnSoftmax(_FusedOutputDelta):
    """bce on softmax outputs: delta = o - t, the shortcut of bce on sigmoid outputs
    (dE/do x o (1 - o), softmax's Jacobian taken as its diagonal)."""

    loss, activation = "bce", "softmax"

    def fused(self, outs: list[float], d_out: list[float]) -> list[float]:
        return [g * (o * (1.0 - o)) for g, o in zip(d_out, outs, strict=True)]


class BceFusedOnIdentity(_FusedOutputDelta):
    """bce on identity outputs: delta = o - t, as if the output were a sigmoid."""

    loss, activation = "bce", "identity"

    def fused(self, outs: list[float], d_out: list[float]) -> list[float]:
        return [g * (o * (1.0 - o)) for g, o in zip(d_out, outs, strict=True)]


class SoftmaxCeFusedOnSigmoid(_FusedOutputDelta):
    """softmax_ce on sigmoid outputs: delta = o - t, the shortcut of softmax_ce on softmax
    (t read back from dE/do = -t / o)."""

    loss, activation = "softmax_ce", "sigmoid"

    def fused(self, outs: list[float], d_out: list[float]) -> list[float]:
        return [o + g * o for g, o in zip(d_out, outs, strict=True)]


class InputGradientDoubled(_Recorded):
    """dE_dout[0,i] recorded twice too large."""

    def recorded(self, name: str, value: float) -> float:
        return 2.0 * value if name.startswith("dE_dout[0,") else value


class ErrorTermNotNegated(_Recorded):
    """error_term recorded as delta itself, not -delta."""

    def recorded(self, name: str, value: float) -> float:
        return -value if name.startswith("error_term[") else value


class ChangeSignFlipped(_Recorded):
    """dw and db recorded as +eta g: the step's change with the wrong sign."""

    def recorded(self, name: str, value: float) -> float:
        return -value if name.startswith(("dw[", "db[")) else value


MakeEngine = Callable[[], Engine]

FEATURE_BUGS: dict[str, tuple[str, MakeEngine, str]] = {
    "leaky-slope-ignored": ("leaky_relu", LeakySlopeIgnored, "check_forward_values"),
    "leaky-slope-one-at-zero": (
        "leaky_relu",
        LeakySlopeOneAtZero,
        "check_kinks_take_the_left_branch",
    ),
    "elu-slope-one-at-zero": ("elu", EluSlopeOneAtZero, "check_kinks_take_the_left_branch"),
    "softplus-slope-is-output": (
        "softplus",
        SoftplusSlopeIsOutput,
        "check_gradients_match_finite_differences",
    ),
    "momentum-sign-wrong": ("momentum", MomentumSignWrong, "check_momentum"),
    "nesterov-as-classical": ("nesterov", NesterovAsClassical, "check_momentum"),
    "weight-decay-on-biases": ("weight decay", WeightDecayOnBiases, "check_update_rule"),
    "layer-rate-ignored": ("per-layer rates", LayerRateIgnored, "check_update_rule"),
    "sample-order-ignored": ("mini-batch", SampleOrderIgnored, "check_mini_batch"),
    "float32-in-float64": ("float32", Float32InFloat64, "check_float32"),
    "objective-seeds-every-output": (
        "objective output k",
        ObjectiveSeedsEveryOutput,
        "check_gradients_match_finite_differences",
    ),
    "bce-fused-on-softmax": (
        "bce on softmax",
        BceFusedOnSoftmax,
        "check_gradients_match_finite_differences",
    ),
    "bce-fused-on-identity": (
        "bce on identity",
        BceFusedOnIdentity,
        "check_gradients_match_finite_differences",
    ),
    "softmax-ce-fused-on-sigmoid": (
        "softmax_ce on sigmoid",
        SoftmaxCeFusedOnSigmoid,
        "check_gradients_match_finite_differences",
    ),
    "input-gradient-doubled": ("dE_dout[0,i]", InputGradientDoubled, "check_input_gradients"),
    "error-term-not-negated": ("error_term", ErrorTermNotNegated, "check_extended_identities"),
    "change-sign-flipped": ("dw, db", ChangeSignFlipped, "check_parameter_changes"),
}
"""Bug name -> (the feature it breaks, the engine with it planted, the check that must fail it)."""


def feature_bug(name: str) -> Engine:
    """The broken engine ``name``, under that name."""
    _, make, _ = FEATURE_BUGS[name]
    engine = make()
    engine.name = name
    return engine
