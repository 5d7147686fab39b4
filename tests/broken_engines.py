"""Engines that are wrong on purpose: a check no broken engine can fail is not a check.

Each is the loops engine with one classic mistake planted, made from a fresh
copy of its module (``bpcheck.diagnose.variants.fresh_loops``) so the real engine stays
untouched.  Bugs of bpcheck's catalogue are taken from it; the contract
mistakes that are not bugs of backpropagation (float32, recording every step)
are planted here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection
from dataclasses import replace
from types import ModuleType
from typing import Any

from bpcheck.diagnose.variants import BY_NAME, fresh_loops
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace


def _from_catalogue(name: str) -> Callable[[Any], None]:
    """A bug of bpcheck's catalogue (``bpcheck.diagnose.variants``), planted the same way."""
    plant = BY_NAME[name].plant
    assert plant is not None, f"{name} is not planted in the engine"
    return plant


def to_float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def mutant(name: str, plant: Callable[[ModuleType], None]) -> Any:
    module = fresh_loops(name)
    plant(module)
    engine = module.LoopsEngine()
    engine.name = name
    return engine


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
    "no-output-derivative": (
        _from_catalogue("output-derivative-missing"),
        "check_gradients_match_finite_differences",
    ),
    "float32": (_float32, "check_float64"),
    "sequential-when-simultaneous": (_sequential_always, "check_update_rule"),
    "bias-gradient-dropped": (_from_catalogue("bias-gradient-dropped"), "check_bias_gradients"),
    "records-every-step": (_records_every_step, "check_records_only_requested_steps"),
    "frozen-bias-trained": (_frozen_bias_trained, "check_update_rule"),
    "drops-term-partials": (_drops_term_partials, "check_trace_has_every_name"),
}
"""Broken engine name -> (the mistake it plants, the check that must name it)."""


def broken_engine(name: str) -> Any:
    plant, _ = BROKEN[name]
    return mutant(name, plant)
