"""The float engines' libraries stay within the error the certified tolerance allows them.

:data:`bpcheck.checking.certified.FLOAT64_SAFETY` assumes that no elementary function
an engine calls is off by more than that many ULPs of the true value (XLA's tanh on the
CPU reaches 6.5).  A library that grows worse than that would make the certified
agreement fail for the library's sake, not the engine's: this test says so first.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import mpmath
import pytest

from bpcheck.checking.certified import FLOAT64_SAFETY

POINTS = [random.Random(7).uniform(-30.0, 30.0) for _ in range(400)]
TRUE: dict[str, Callable[[mpmath.mpf], mpmath.mpf]] = {
    "tanh": mpmath.tanh,
    "exp": mpmath.exp,
    "log1p": lambda x: mpmath.log1p(mpmath.exp(x)),  # called on exp(x), as a softplus is
}


def worst_ulps(function: Callable[[list[float]], list[float]], name: str) -> float:
    """The largest error, in ULPs of the true value, over :data:`POINTS`."""
    mpmath.mp.prec = 200
    worst = 0.0
    argument = [math.exp(x) if name == "log1p" else x for x in POINTS]
    for x, got in zip(POINTS, function(argument), strict=True):
        true = TRUE[name](mpmath.mpf(x))
        worst = max(worst, float(abs(mpmath.mpf(got) - true)) / math.ulp(float(true)))
    return worst


def on_math(name: str, xs: list[float]) -> list[float]:
    function = getattr(math, name)
    return [function(x) for x in xs]


def on_numpy(name: str, xs: list[float]) -> list[float]:
    np = pytest.importorskip("numpy")
    return [float(v) for v in getattr(np, name)(np.array(xs))]


def on_jax(name: str, xs: list[float]) -> list[float]:
    pytest.importorskip("jax", reason="JAX is not installed: the autodiff engine cannot run")
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    return [float(v) for v in jax.jit(getattr(jnp, name))(jnp.array(xs))]


@pytest.mark.parametrize("library", ["math", "numpy", "jax"])
@pytest.mark.parametrize("name", sorted(TRUE))
def test_each_library_function_is_within_the_assumed_ulps(library: str, name: str) -> None:
    call = {"math": on_math, "numpy": on_numpy, "jax": on_jax}[library]
    worst = worst_ulps(lambda xs: call(name, xs), name)
    assert worst <= FLOAT64_SAFETY, (
        f"{library}.{name} is off by {worst:.3g} ULPs somewhere in [-30, 30]; "
        f"the certified tolerance assumes at most {FLOAT64_SAFETY:g}"
    )
