"""The loops engine's state: weights and biases as lists, and one sample's forward values."""

from __future__ import annotations

from dataclasses import dataclass, field

from bpcheck.engines.loops.formulas import Matrix, Vector
from bpcheck.model.problem import Problem


@dataclass
class Params:
    """Mutable copies of the weights and biases, one list per layer.

    With them, what the optimizer keeps: each parameter's velocity (0 at first), and
    the change the last update applied to it (recorded as ``dw`` and ``db``).
    """

    weights: list[Matrix]
    biases: list[Vector]
    velocity_w: list[Matrix] = field(default_factory=list)
    velocity_b: list[Vector] = field(default_factory=list)
    change_w: list[Matrix] = field(default_factory=list)
    change_b: list[Vector] = field(default_factory=list)

    @classmethod
    def of(cls, problem: Problem) -> Params:
        layers = problem.layers
        return cls(
            weights=[[list(row) for row in layer.weights] for layer in layers],
            biases=[list(layer.bias) for layer in layers],
            velocity_w=[[[0.0] * layer.fan_in for _ in layer.weights] for layer in layers],
            velocity_b=[[0.0] * len(layer.bias) for layer in layers],
            change_w=[[] for _ in layers],
            change_b=[[] for _ in layers],
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
