"""Problems of one shape in one call give, to the last bit, what one call each gives."""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("jax", reason="the autodiff engine needs JAX")

from bpcheck.engines.autodiff import AutodiffEngine
from bpcheck.engines.autodiff.engine import bucket
from bpcheck.model.examples import mazur
from bpcheck.model.problem import Problem
from bpcheck.testing.strategies import architecture_pool, seeded_problem

ENGINE = AutodiffEngine()
POOL = architecture_pool(12, seed=3)  # under jax.vmap, 3 of these 12 changed in the last bits


def bits(trace: dict[int, dict[str, float]]) -> dict[int, dict[str, str]]:
    """Every value as its exact text (so NaN equals NaN and -0.0 differs from 0.0)."""
    return {step: {n: float(v).hex() for n, v in values.items()} for step, values in trace.items()}


@pytest.mark.slow  # a JAX compile per architecture; Mazur's batch below is the fast run's
@pytest.mark.parametrize("architecture", POOL, ids=[f"arch{i}" for i in range(len(POOL))])
def test_a_batch_is_each_problem_run_alone_bit_for_bit(architecture: object) -> None:
    problems = [
        seeded_problem(architecture, seed, steps=3, learning_rate=rate)  # type: ignore[arg-type]
        for seed, rate in [(1, 0.1), (2, 0.3), (3, 0.5), (4, 0.05), (5, 0.2)]
    ]
    record = {0, 2, 3}
    batched = ENGINE.run_many(problems, record)
    for problem, trace in zip(problems, batched, strict=True):
        assert bits(trace) == bits(ENGINE.run(problem, record))


def test_mazur_and_its_neighbours_in_one_batch() -> None:
    def moved(problem: Problem, by: float) -> Problem:
        first = problem.layers[0]
        weights = ((first.weights[0][0] + by, first.weights[0][1]), first.weights[1])
        return replace(problem, layers=(replace(first, weights=weights), *problem.layers[1:]))

    problems = [moved(mazur(1000), by) for by in (0.0, 0.01, -0.02)]
    batched = ENGINE.run_many(problems, {0, 1000})
    assert bits(batched[0]) == bits(ENGINE.run(problems[0], {0, 1000}))
    assert bits(batched[2]) == bits(ENGINE.run(problems[2], {0, 1000}))
    assert bits(batched[0]) != bits(batched[1])


def test_problems_of_another_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="one shape"):
        ENGINE.run_many([mazur(1), mazur(2)], {0})


def test_batches_are_compiled_for_powers_of_eight() -> None:
    assert [bucket(n) for n in (1, 2, 8, 9, 63, 64, 65)] == [1, 8, 8, 64, 64, 64, 512]
