"""Bugs of engines that the tutorials' fixtures miss (issue 15), planted in the loops engine.

The catalogue of :mod:`bpcheck.diagnose.variants` holds the mistakes that explain a
document's wrong number; these are mistakes an engine author makes that no bundled
fixture shows: derivatives of the activations the tutorials do not use, the
convention at relu's kink, softmax's overflow and Jacobian, the bce slope, a bias
update, and four bugs in the lean path that trains unrecorded steps (right whenever a
step is recorded).  They are not readings of a document, so diagnose never tries
them; the bug zoo (:mod:`bpcheck.diagnose.zoo`) runs every check against each, and
``tests/support/broken_engines.py`` names the check that must catch each.
"""

from __future__ import annotations

import copy
import math

from bpcheck.diagnose.variants import Variant
from bpcheck.engines.loops import LoopsEngine, Matrix, Params, Vector
from bpcheck.model.problem import Problem

# --- backpropagation written wrong where the tutorials do not look --------------------------


class TanhOneMinusOut(LoopsEngine):
    """tanh'(net) written as 1 - out instead of 1 - out²."""

    def elementwise_derivative(self, name: str, out: float) -> float:
        if name == "tanh":
            return 1.0 - out
        return super().elementwise_derivative(name, out)


class ReluSlopeOneAtZero(LoopsEngine):
    """relu'(0) taken as 1 (``net >= 0``) instead of the convention's 0."""

    def back_through_activation(
        self, activation: str, nets: Vector, outs: Vector, d_out: Vector, output_layer: bool
    ) -> Vector:
        if activation == "relu":
            return [0.0 if n < 0.0 else g for g, n in zip(d_out, nets, strict=True)]
        return super().back_through_activation(activation, nets, outs, d_out, output_layer)


class SoftmaxWithoutMaxShift(LoopsEngine):
    """softmax as e^net / sum e^net, without subtracting the largest net: e^710 overflows."""

    def activate(self, name: str, nets: Vector) -> Vector:
        if name == "softmax":
            exps = [math.exp(x) for x in nets]
            return [e / sum(exps) for e in exps]
        return super().activate(name, nets)


class SoftmaxDiagonalOnly(LoopsEngine):
    """Back through softmax with only the Jacobian's diagonal o (1 - o)."""

    def out_net_jacobian(self, name: str, outs: Vector) -> Matrix:
        jac = super().out_net_jacobian(name, outs)
        n = len(outs)
        return [[jac[a][b] if a == b else 0.0 for b in range(n)] for a in range(n)]


class BceWrongSlope(LoopsEngine):
    """dE/dout of bce taken as o - t (the delta's formula), not (o - t) / (o (1 - o))."""

    def output_gradient(self, problem: Problem, target: Vector, outs: Vector, scale: int) -> Vector:
        if problem.loss == "bce":
            return [o - t for t, o in zip(target, outs, strict=True)]
        return super().output_gradient(problem, target, outs, scale)


class BiasUpdateWithoutRate(LoopsEngine):
    """Biases moved by their whole gradient: the learning rate forgotten on b only."""

    def apply_update(
        self, problem: Problem, params: Params, layer_index: int, grad_w: Matrix, grad_b: Vector
    ) -> None:
        biases = list(params.biases[layer_index])
        super().apply_update(problem, params, layer_index, grad_w, grad_b)
        if problem.layers[layer_index].bias_trainable:
            params.biases[layer_index] = [b - g for b, g in zip(biases, grad_b, strict=True)]


# --- right when a step is recorded, wrong on the lean path of unrecorded steps --------------


class LoopsLeanBiasFromOneSample(LoopsEngine):
    """Lean path: the bias gradient of the batch's first sample only."""

    def _simultaneous_step(
        self, problem: Problem, params: Params, batch: tuple[int, ...], scale: int
    ) -> None:
        first = copy.deepcopy(params)
        super()._simultaneous_step(problem, first, batch[:1], scale)
        super()._simultaneous_step(problem, params, batch, scale)
        params.biases = first.biases


class LoopsLeanMseBySamples(LoopsEngine):
    """Lean path: mse divided by the number of samples only, not outputs x samples."""

    def _simultaneous_step(
        self, problem: Problem, params: Params, batch: tuple[int, ...], scale: int
    ) -> None:
        super()._simultaneous_step(problem, params, batch, len(batch))


class LoopsLeanSampleOffByOne(LoopsEngine):
    """Lean path: per-sample step k trains on sample k + 1 mod n."""

    def _simultaneous_step(
        self, problem: Problem, params: Params, batch: tuple[int, ...], scale: int
    ) -> None:
        if problem.batch == "per_sample":
            batch = ((batch[0] + 1) % problem.n_samples,)
        super()._simultaneous_step(problem, params, batch, scale)


class LoopsLeanOutputBiasFrozen(LoopsEngine):
    """Lean path: the output layer's bias never updated."""

    def _simultaneous_step(
        self, problem: Problem, params: Params, batch: tuple[int, ...], scale: int
    ) -> None:
        output_bias = list(params.biases[-1])
        super()._simultaneous_step(problem, params, batch, scale)
        params.biases[-1] = output_bias


ENGINE_BUGS: tuple[Variant, ...] = (
    Variant(
        "tanh-one-minus-out", "bug", "tanh' written 1 - out, not 1 - out²", planted=TanhOneMinusOut
    ),
    Variant("relu-slope-one-at-zero", "bug", "relu'(0) taken as 1", planted=ReluSlopeOneAtZero),
    Variant(
        "softmax-without-max-shift",
        "bug",
        "softmax without subtracting the largest net input (e^710 overflows)",
        planted=SoftmaxWithoutMaxShift,
    ),
    Variant(
        "softmax-diagonal-only",
        "bug",
        "back through softmax with only its Jacobian's diagonal",
        planted=SoftmaxDiagonalOnly,
    ),
    Variant("bce-wrong-slope", "bug", "bce's dE/dout taken as o - t", planted=BceWrongSlope),
    Variant(
        "bias-update-without-rate",
        "bug",
        "biases moved by their whole gradient (no learning rate)",
        planted=BiasUpdateWithoutRate,
    ),
    Variant(
        "lean-bias-from-one-sample",
        "bug",
        "unrecorded steps: the bias gradient of the batch's first sample only",
        planted=LoopsLeanBiasFromOneSample,
    ),
    Variant(
        "lean-mse-by-samples",
        "bug",
        "unrecorded steps: mse divided by the samples, not outputs x samples",
        planted=LoopsLeanMseBySamples,
    ),
    Variant(
        "lean-sample-off-by-one",
        "bug",
        "unrecorded steps: per-sample step k trains on sample k + 1",
        planted=LoopsLeanSampleOffByOne,
    ),
    Variant(
        "lean-output-bias-frozen",
        "bug",
        "unrecorded steps: the output layer's bias never updated",
        planted=LoopsLeanOutputBiasFrozen,
    ),
)
"""The engine bugs of the zoo, beside the catalogue's (issue 15)."""
