"""A problem as the ``problem`` object of a fixture file: what strategies and pins write.

Kept apart from the Hypothesis strategies so that writing a fixture needs no Hypothesis
(``bpcheck conform`` and :mod:`bpcheck.testing.conformance_fixtures` run without it).
Fields of issue 17 (an objective, a mini-batch size and sample order, momentum, Nesterov,
weight decay, float32, a layer's slope, alpha or rate) are written only when they differ
from the defaults, so that a plain problem's document is what it always was.
"""

from __future__ import annotations

from typing import Any

from bpcheck.model.problem import Layer, Problem


def layer_document(layer: Layer) -> dict[str, Any]:
    bias: dict[str, Any] = {"kind": layer.bias_kind}
    if layer.bias:
        bias["values"] = list(layer.bias)
    bias["trainable"] = layer.bias_trainable
    document: dict[str, Any] = {
        "activation": layer.activation,
        "weights": [list(row) for row in layer.weights],
        "bias": bias,
    }
    if layer.activation == "leaky_relu":
        document["slope"] = layer.slope
    if layer.activation == "elu":
        document["alpha"] = layer.alpha
    if layer.learning_rate is not None:
        document["learning_rate"] = layer.learning_rate
    return document


def problem_document(problem: Problem) -> dict[str, Any]:
    """The ``problem`` object of a fixture, every field explicit so it reads back unchanged.

    An objective (loss ``output``) is written as ``"objective": "output k"``, without
    targets; a mini-batch as its size, with the sample order 1-based.
    """
    document: dict[str, Any] = {"inputs": [list(row) for row in problem.inputs]}
    if problem.has_targets:
        document["targets"] = [list(row) for row in problem.targets]
    document["layers"] = [layer_document(layer) for layer in problem.layers]
    if problem.has_targets:
        document["loss"] = problem.loss
    else:
        document["objective"] = f"output {problem.objective}"
    if problem.learning_rate > 0:  # a loaded fixture with no rate (nothing uses it) has 0.0
        document["learning_rate"] = problem.learning_rate
    document["steps"] = problem.steps
    if problem.batch == "mini":
        document["batch"] = problem.batch_size
        if problem.sample_order:
            document["sample_order"] = [s + 1 for s in problem.sample_order]
    else:
        document["batch"] = problem.batch
    document["update_order"] = problem.update_order
    document.update(_training_extras(problem))
    return document


def _training_extras(problem: Problem) -> dict[str, Any]:
    """momentum, nesterov, weight_decay and precision, where they are not the defaults."""
    extras: dict[str, Any] = {}
    if problem.momentum:
        extras["momentum"] = problem.momentum
    if problem.nesterov:
        extras["nesterov"] = True
    if problem.weight_decay:
        extras["weight_decay"] = problem.weight_decay
    if problem.precision != "float64":
        extras["precision"] = problem.precision
    return extras
