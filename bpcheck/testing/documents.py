"""A problem as the ``problem`` object of a fixture file: what strategies and pins write.

Kept apart from the Hypothesis strategies so that writing a fixture needs no Hypothesis
(``bpcheck conform`` and :mod:`bpcheck.testing.conformance_fixtures` run without it).
"""

from __future__ import annotations

from typing import Any

from bpcheck.model.problem import Layer, Problem


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
