"""Worked examples as problems: the networks the tutorials, the checks and the benchmarks share."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bpcheck.model.problem import Layer, Problem


def mazur(steps: int = 1, order: str = "simultaneous") -> Problem:
    """Mazur's worked example as the text teaches it: 2-2-2 sigmoid, frozen shared biases."""
    return Problem(
        layers=(
            Layer(((0.15, 0.20), (0.25, 0.30)), "sigmoid", "shared", (0.35,), False),
            Layer(((0.40, 0.45), (0.50, 0.55)), "sigmoid", "shared", (0.60,), False),
        ),
        inputs=((0.05, 0.10),),
        targets=((0.01, 0.99),),
        loss="half_sse",
        learning_rate=0.5,
        steps=steps,
        update_order=order,
    )


def mazur_like(**changes: Any) -> Problem:
    """The 2-2-2 sigmoid network of the tutorials, with per-neuron trainable biases."""
    problem = Problem(
        layers=(
            Layer(((0.15, 0.20), (0.25, 0.30)), "sigmoid", "per_neuron", (0.35, 0.30), True),
            Layer(((0.40, 0.45), (0.50, 0.55)), "sigmoid", "per_neuron", (0.60, 0.65), True),
        ),
        inputs=((0.05, 0.10),),
        targets=((0.01, 0.99),),
        loss="half_sse",
        learning_rate=0.5,
        steps=1,
    )
    return replace(problem, **changes)
