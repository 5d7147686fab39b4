"""Every engine agrees with the reference engine on the covering problems, quantity by quantity.

The same problems as the path-equivalence property (every loss and activation in both
batch modes and both orders, issue 17's features and pairings, float32, relu, leaky relu
and ELU at their kinks, net inputs near +-800), recorded at every
step: what mutation testing of an engine needs beside its own consistency, since an
engine can be consistently wrong.  The compiling and certifying engines take seconds
per problem, so they are ``slow``.
"""

from __future__ import annotations

from typing import Any

import pytest

from bpcheck.checking.check import OK, EngineRun, disagreements
from bpcheck.model.engine import Engine, encloses
from bpcheck.model.problem import Problem
from bpcheck.testing import minimal_problems as mp
from tests.properties.test_path_equivalence import SeamedLoops
from tests.support.laws import ENGINES, REFERENCE

pytestmark = pytest.mark.property

STEPS = 4
COVERING = mp.covering_problems(STEPS, float32=True)
SLOW = {"autodiff", "certified"}


def _label(problem: Problem) -> str:
    parts = [problem.layers[-1].activation, problem.loss, problem.layers[0].bias_kind]
    return "-".join([*parts, problem.batch, problem.update_order, problem.layers[0].activation])


def engine_params() -> list[Any]:
    """Every float engine but the reference, and the reference on its other lean path.

    An engine that certifies its values computes beyond float64's range (where the dead
    relu's output overflows, it has a number); ``bpcheck run`` judges it on its
    enclosures, and its own tests are in tests/certified.
    """
    others = {n: e for n, e in ENGINES.items() if e is not REFERENCE and not encloses(e)}
    return [
        pytest.param(engine, id=name, marks=[pytest.mark.slow] * (name in SLOW))
        for name, engine in {**others, SeamedLoops.name: SeamedLoops()}.items()
    ]


@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize(
    "problem", COVERING, ids=[f"{n}-{_label(p)}" for n, p in enumerate(COVERING)]
)
def test_engine_agrees_with_the_reference(engine: Engine, problem: Problem) -> None:
    """As ``bpcheck run`` judges agreement: NaN and infinities too (docs/engines.md), a
    float32 problem in float32's epsilons."""
    steps = set(range(problem.steps + 1))
    runs = [
        EngineRun(name, OK, engine.run(problem, steps), precision=problem.precision)
        for name, engine in ((REFERENCE.name, REFERENCE), (engine.name, engine))
    ]
    found = disagreements(runs)
    assert not found, "\n".join(
        f"step {d.step} {d.quantity}: {d.values} beyond {d.tolerance:g}" for d in found[:10]
    )
