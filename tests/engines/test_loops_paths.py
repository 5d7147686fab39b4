"""The loops engine's hot loop (engines/loops/inline.py) trains exactly as its recorded path.

:mod:`bpcheck.engines.loops.inline` writes the seams' arithmetic out for speed, so it is
separate code doing the same sums; these properties compare it, to the last bit, with
the path that records every step (which goes through every seam), on any problem the
strategies draw, edge problems included (kinks, overflow, saturation).
"""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from bpcheck.engines.loops import LoopsEngine, Params
from bpcheck.engines.loops.engine import LoopsEngine as Engine
from bpcheck.engines.loops.inline import seams_are_ours, train
from bpcheck.model.examples import mazur
from bpcheck.model.problem import Problem
from bpcheck.testing.strategies import edge_problems, problems


def same(a: float, b: float) -> bool:
    """The same float: equal (so -0.0 is 0.0: no later value can tell them apart), or NaN."""
    return a == b or (math.isnan(a) and math.isnan(b))


def differences(problem: Problem) -> list[str]:
    """Quantities at the last step that differ between the inline and the recorded path."""
    engine = LoopsEngine()
    last = problem.steps
    inline = engine.run(problem, {last})[last]
    recorded = engine.run(problem, set(range(last + 1)))[last]
    assert inline.keys() == recorded.keys()
    return [
        f"{n}: {inline[n]!r} != {recorded[n]!r}" for n in inline if not same(inline[n], recorded[n])
    ]


def sized(problem: Problem) -> Problem:
    """A drawn ``mini`` batch without a size made a batch of two (the strategies draw the mode,
    not yet its size), so that the inline path's mini-batches are compared too."""
    if problem.batch == "mini" and not problem.batch_size:
        return replace(problem, batch_size=2)
    return problem


@given(
    problems(steps=st.integers(1, 4)).map(lambda p: sized(replace(p, update_order="simultaneous")))
)
def test_the_inline_path_is_the_recorded_path(problem: Problem) -> None:
    assert differences(problem) == []


@given(
    edge_problems().map(lambda p: sized(replace(p, update_order="simultaneous", steps=p.steps + 1)))
)
def test_the_inline_path_is_the_recorded_path_at_the_edges(problem: Problem) -> None:
    assert differences(problem) == []


def test_mazur_after_a_thousand_steps_is_the_same_either_way() -> None:
    """A long span (the recorded path, step by step, is what costs: 10,000 took 4 s)."""
    assert differences(mazur(1000)) == []


def test_an_overridden_seam_turns_the_inline_path_off() -> None:
    class Doubled(LoopsEngine):
        def back_through_weights(
            self, weights: list[list[float]], d_net: list[float]
        ) -> list[float]:
            return [2.0 * g for g in super().back_through_weights(weights, d_net)]

    assert seams_are_ours(LoopsEngine, Engine) and not seams_are_ours(Doubled, Engine)
    problem = mazur(3)
    assert Doubled().run(problem, {3})[3] == Doubled().run(problem, {0, 1, 2, 3})[3]
    assert Doubled().run(problem, {3})[3] != LoopsEngine().run(problem, {3})[3]


def test_the_inline_path_updates_the_parameters_it_is_given() -> None:
    problem = mazur(2)
    params = Params.of(problem)
    train(LoopsEngine(), problem, params, range(2))
    assert params.weights[0][0][0] == LoopsEngine().run(problem, {2})[2]["w[1,1,1]"]
