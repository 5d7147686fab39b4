"""Random small problems: the certified balls hold the truth, the float engines lie near it.

Two properties, on networks Hypothesis draws (one or two layers, every activation and
loss, decimals as documents print them):

* every value the certified engine encloses at steps 0 and 1 contains the value an
  independent mpmath recomputation at 100 digits gives (tests/support/mp_reference.py);
* every float64 engine lies within its derived tolerance of the certified midpoint
  (:func:`bpcheck.checking.certified.disagreements` finds nothing).
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import mpmath
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.checking.certified import disagreements
from bpcheck.checking.check import OK, run_problem
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.model.engine import Engine, encloses
from bpcheck.model.problem import Layer, Problem
from tests.support.mp_reference import recompute

HIDDEN = ("identity", "sigmoid", "tanh", "relu")
OUTPUT = {
    "half_sse": ("identity", "sigmoid", "tanh"),
    "sse": ("identity", "sigmoid", "tanh"),
    "mse": ("identity", "sigmoid", "tanh"),
    "bce": ("sigmoid",),
    "softmax_ce": ("softmax",),
}


def decimals(low: int, high: int, places: int = 2) -> st.SearchStrategy[float]:
    """A number as a document prints it, ``places`` decimals, as the float a fixture holds."""
    return st.integers(low, high).map(lambda n: float(Decimal(n).scaleb(-places)))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    loss = draw(st.sampled_from(sorted(OUTPUT)))
    n_in = draw(st.integers(1, 3))
    n_out = draw(st.integers(2 if loss == "softmax_ce" else 1, 3))
    sizes = [n_in, *draw(st.lists(st.integers(1, 3), max_size=1)), n_out]
    layers = []
    for number, (fan_in, size) in enumerate(pairwise(sizes), start=1):
        top = number == len(sizes) - 1
        activation = draw(st.sampled_from(OUTPUT[loss] if top else HIDDEN))
        weights = tuple(
            tuple(draw(decimals(-300, 300)) for _ in range(fan_in)) for _ in range(size)
        )
        kind = draw(st.sampled_from(["none", "per_neuron"]))
        bias = tuple(draw(decimals(-100, 100)) for _ in range(size)) if kind != "none" else ()
        layers.append(Layer(weights, activation, kind, bias))
    samples = draw(st.integers(1, 2))
    inputs = tuple(tuple(draw(decimals(-200, 200)) for _ in range(n_in)) for _ in range(samples))
    if loss == "softmax_ce":
        hot = [draw(st.integers(0, n_out - 1)) for _ in range(samples)]
        targets = tuple(tuple(float(k == h) for k in range(n_out)) for h in hot)
    else:
        low = 0 if loss == "bce" else -100
        targets = tuple(
            tuple(draw(decimals(low, 100)) for _ in range(n_out)) for _ in range(samples)
        )
    rate = draw(st.sampled_from([0.05, 0.1, 0.5, 1.0]))
    return Problem(tuple(layers), inputs, targets, loss=loss, learning_rate=rate, steps=1)


def _decimal(value: object) -> Decimal:
    return Decimal(mpmath.nstr(value, 110, strip_zeros=False))


@given(problems())
def test_the_certified_balls_contain_an_mpmath_recomputation_at_100_digits(
    problem: Problem,
) -> None:
    enclosed = CertifiedEngine().enclose(problem, {0, 1})
    assert enclosed.digits >= 50 or enclosed.precision >= 166
    for step, values in recompute(problem).items():
        for name, value in values.items():
            low, high = enclosed.bounds[step][name]
            exact = _decimal(value)
            assert Decimal(low) <= exact <= Decimal(high), (step, name, low, exact, high)


@given(problem=problems())
def test_every_float_engine_lies_within_its_derived_tolerance(
    available: dict[str, Engine], problem: Problem
) -> None:
    certified = run_problem(CertifiedEngine(), problem, {0, 1}, "certified")
    assert certified.outcome == OK, certified.reason
    floats = [
        run_problem(engine, problem, {0, 1}, name)
        for name, engine in available.items()
        if not encloses(engine)
    ]
    assert all(run.outcome == OK for run in floats), [run.reason for run in floats]
    found = disagreements([certified, *floats])
    assert found == [], found[:3]
