"""Engines that are wrong on purpose: a check no broken engine can fail is not a check.

Each is the loops engine with one classic mistake planted, made from a fresh
copy of its module so the real engine stays untouched.
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

from bpcheck.problem import Problem
from bpcheck.quantities import Trace

LOOPS_SOURCE = Path(__file__).resolve().parent.parent / "engines" / "loops.py"


def fresh_loops(name: str) -> ModuleType:
    """A private copy of engines/loops.py whose functions can be replaced safely."""
    spec = importlib.util.spec_from_file_location(f"broken_{name}", LOOPS_SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def to_float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def mutant(name: str, plant: Callable[[ModuleType], None]) -> Any:
    module = fresh_loops(name)
    plant(module)
    engine = module.LoopsEngine()
    engine.name = name
    return engine


def _no_output_derivative(module: ModuleType) -> None:
    """delta = dE/dout at the output layer: the activation's derivative forgotten there."""
    original_back = module.back_through_activation
    original_forward = module.forward
    recent_outputs: list[list[float]] = []

    def forward(problem: Problem, params: Any, x: list[float]) -> Any:
        result = original_forward(problem, params, x)
        recent_outputs[:] = [*recent_outputs[-20:], result.outs[-1]]
        return result

    def back(activation: str, outs: list[float], d_out: list[float]) -> list[float]:
        if any(outs is output for output in recent_outputs):
            return list(d_out)
        return list(original_back(activation, outs, d_out))

    module.forward = forward
    module.back_through_activation = back


def _float32(module: ModuleType) -> None:
    original = module.activate

    def activate(name: str, nets: list[float]) -> list[float]:
        return [to_float32(v) for v in original(name, [to_float32(n) for n in nets])]

    module.activate = activate


def _sequential_always(module: ModuleType) -> None:
    original_run = module.LoopsEngine.run

    def run(self: Any, problem: Problem, record: Collection[int]) -> Trace:
        result: Trace = original_run(self, replace(problem, update_order="sequential"), record)
        return result

    module.LoopsEngine.run = run


def _bias_gradient_dropped(module: ModuleType) -> None:
    original = module.LoopsEngine._layer_gradients

    def layer_gradients(self: Any, *args: Any) -> tuple[Any, list[float]]:
        grad_w, grad_b = original(self, *args)
        return grad_w, [0.0 for _ in grad_b]

    module.LoopsEngine._layer_gradients = layer_gradients


def _records_every_step(module: ModuleType) -> None:
    original_run = module.LoopsEngine.run

    def run(self: Any, problem: Problem, record: Collection[int]) -> Trace:
        result: Trace = original_run(self, problem, range(problem.steps + 1))
        return result

    module.LoopsEngine.run = run


def _frozen_bias_trained(module: ModuleType) -> None:
    original_run = module.LoopsEngine.run

    def run(self: Any, problem: Problem, record: Collection[int]) -> Trace:
        layers = tuple(replace(layer, bias_trainable=True) for layer in problem.layers)
        result: Trace = original_run(self, replace(problem, layers=layers), record)
        return result

    module.LoopsEngine.run = run


def _drops_term_partials(module: ModuleType) -> None:
    module.LoopsEngine._record_term_partials = lambda self, *args: None


BROKEN = {
    "no-output-derivative": (_no_output_derivative, "check_gradients_match_finite_differences"),
    "float32": (_float32, "check_float64"),
    "sequential-when-simultaneous": (_sequential_always, "check_update_rule"),
    "bias-gradient-dropped": (_bias_gradient_dropped, "check_bias_gradients"),
    "records-every-step": (_records_every_step, "check_records_only_requested_steps"),
    "frozen-bias-trained": (_frozen_bias_trained, "check_update_rule"),
    "drops-term-partials": (_drops_term_partials, "check_trace_has_every_name"),
}
"""Broken engine name -> (the mistake it plants, the check that must name it)."""


def broken_engine(name: str) -> Any:
    plant, _ = BROKEN[name]
    return mutant(name, plant)
