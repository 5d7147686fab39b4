"""The loops engine's state: weights and biases as lists, and one sample's forward values."""

from __future__ import annotations

from dataclasses import dataclass

from bpcheck.engines.loops.formulas import Matrix, Vector
from bpcheck.model.problem import Problem


@dataclass
class Params:
    """Mutable copies of the weights and biases, one list per layer."""

    weights: list[Matrix]
    biases: list[Vector]

    @classmethod
    def of(cls, problem: Problem) -> Params:
        return cls(
            weights=[[list(row) for row in layer.weights] for layer in problem.layers],
            biases=[list(layer.bias) for layer in problem.layers],
        )


def neuron_biases(problem: Problem, params: Params, layer: int) -> Vector:
    """The bias added to each neuron of 0-based ``layer``: none, one shared, or its own."""
    kind, size = problem.layers[layer].bias_kind, len(params.weights[layer])
    if kind == "none":
        return [0.0] * size
    if kind == "shared":
        return params.biases[layer] * size
    return params.biases[layer]


@dataclass
class Forward:
    """Net inputs and outputs of every layer for one sample; ``outs[0]`` is the input."""

    nets: list[Vector]
    outs: list[Vector]
