"""Engines that are wrong on purpose: a check no broken engine can fail is not a check.

Each is the loops engine with one classic mistake planted, as a subclass that
overrides one of the seams the engine offers (see ``bpcheck.engines.loops``),
so the real engine stays untouched.  Bugs of bpcheck's catalogue are taken
from it (``bpcheck.diagnose.planted``); the contract mistakes that are not bugs
of backpropagation (float32, recording every step) are planted here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection
from dataclasses import replace

from bpcheck.diagnose.variants import BY_NAME
from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace

MakeEngine = Callable[[], LoopsEngine]


def _from_catalogue(name: str) -> MakeEngine:
    """A bug of bpcheck's catalogue (``bpcheck.diagnose.variants``), planted the same way."""
    planted = BY_NAME[name].planted
    assert planted is not None, f"{name} is not planted in the engine"
    return planted


def to_float32(value: float) -> float:
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def mutant(name: str, make: MakeEngine) -> LoopsEngine:
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


def broken_engine(name: str) -> LoopsEngine:
    make, _ = BROKEN[name]
    return mutant(name, make)
