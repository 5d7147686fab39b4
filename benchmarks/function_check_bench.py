"""``bpcheck.gradcheck.check`` beside ``torch.autograd.gradcheck`` and JAX's ``check_grads``.

Run ``python benchmarks/function_check_bench.py``.  Figures, not tests: nothing is asserted.

The same functions, float64, for all three checkers:

* ``mlp``: a 4-8-3 network (tanh, then identity), half the summed squared error over 5
  samples, as a function of its 56 weights (one vector); the error is planted in the
  first-layer weight of median |gradient| (about 0.5);
* ``saturated``: the same network with first-layer weights 20 times larger, so that
  hidden units saturate; the error is planted in the first-layer weight at the 10th
  percentile of |gradient| (1e-4 to 1e-11): where an absolute tolerance cannot see an error.

For each of DRAWS seeded parameter vectors, each checker is given

* the correct gradient (a failure is a **false alarm**), and
* the gradient with a relative error planted in one component, for each planted error
  1e-1, 1e-2, ... 1e-12 until the checker passes it: the **smallest planted error found**
  is the median over the draws of the smallest it fails on (none: not even 1e-1), beside
  how many draws it finds 1e-1 in at all.

The gradient under test comes through autodiff with a planted backward (a torch
``autograd.Function`` / a ``jax.custom_vjp``), so each checker sees the same wrong
gradient; bpcheck's ``check`` is given the JAX version (``check`` takes the gradient
from ``jax.grad``), or the torch one where JAX is missing; JAX functions are jitted for
both.  Each checker runs with its defaults: torch ``eps=1e-6, atol=1e-5, rtol=1e-3``;
JAX ``check_grads(order=1, modes=("rev",))``, eps 1e-4 and tolerances 1e-5 for float64,
along a random direction; bpcheck ``method="auto"`` (``richardson`` here), tolerances
from the error bound.  Time: the median of one check of
the correct gradient.  Without torch (the tox ``bench`` environment does not install
it) torch's rows are skipped, saying so; without JAX, JAX's.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpcheck.checking.results import text_table

SIZES = (4, 8, 3)
SAMPLES = 5
DRAWS = 10
PLANTED = [10.0**-k for k in range(1, 13)]
FUNCTIONS = {"mlp": (1.0, 0.5), "saturated": (20.0, 0.1)}
"""Function name -> (scale of the first layer's weights, quantile of |g| planted in)."""


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1000 + seed)
    return rng.standard_normal((SAMPLES, SIZES[0])), rng.standard_normal((SAMPLES, SIZES[-1]))


def parameters(seed: int, scale: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    first = SIZES[0] * SIZES[1]
    theta = rng.standard_normal(first + SIZES[1] * SIZES[2]) / np.sqrt(SIZES[0])
    theta[:first] *= scale
    return theta


def planted_index(gradient: np.ndarray, quantile: float) -> int:
    """The first-layer weight at ``quantile`` of the first layer's |gradient|s."""
    first = np.abs(gradient[: SIZES[0] * SIZES[1]])
    return int(np.argsort(first)[round(quantile * (first.size - 1))])


# --- the function, its true gradient, and the planted gradient in torch and in JAX ---------


def split(theta: Any) -> tuple[Any, Any]:
    at = SIZES[0] * SIZES[1]
    return theta[:at].reshape(SIZES[1], SIZES[0]), theta[at:].reshape(SIZES[2], SIZES[1])


def true_gradient(theta: np.ndarray, seed: int) -> np.ndarray:
    """Backpropagation by hand in NumPy: only to choose the component to plant an error in."""
    x, t = data(seed)
    w1, w2 = split(theta)
    hidden = np.tanh(x @ w1.T)
    d_out = hidden @ w2.T - t
    d_hidden = (d_out @ w2) * (1.0 - hidden**2)
    return np.concatenate([(d_hidden.T @ x).reshape(-1), (d_out.T @ hidden).reshape(-1)])


def torch_function(seed: int, index: int, error: float) -> Any:
    """The loss as a torch autograd Function whose backward plants ``error`` at ``index``."""
    import torch

    x, t = (torch.from_numpy(a) for a in data(seed))

    def loss(theta: Any) -> Any:
        w1, w2 = split(theta)
        return 0.5 * ((t - torch.tanh(x @ w1.T) @ w2.T) ** 2).sum()

    class Planted(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, theta: Any) -> Any:
            ctx.save_for_backward(theta)
            return loss(theta)

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            (theta,) = ctx.saved_tensors
            with torch.enable_grad():
                leaf = theta.detach().requires_grad_(True)
                (g,) = torch.autograd.grad(loss(leaf), leaf)
            g = g.clone()
            g[index] = g[index] * (1.0 + error)
            return grad_out * g

    return Planted.apply


def jax_function(seed: int, index: int, error: float) -> Any:
    """The loss with a custom VJP that plants ``error`` at ``index``."""
    import jax
    import jax.numpy as jnp

    x, t = (jnp.asarray(a) for a in data(seed))

    def loss(theta: Any) -> Any:
        w1, w2 = split(theta)
        return 0.5 * jnp.sum((t - jnp.tanh(x @ w1.T) @ w2.T) ** 2)

    @jax.custom_vjp
    def f(theta: Any) -> Any:
        return loss(theta)

    def backward(theta: Any, ct: Any) -> Any:
        return (ct * jax.grad(loss)(theta).at[index].multiply(1.0 + error),)

    f.defvjp(lambda theta: (loss(theta), theta), backward)
    return f


def available(module: str) -> str | None:
    """Why ``module`` cannot be used here, or None."""
    try:
        __import__(module)
    except ImportError:
        extra = " (pip install -e '.[torch]')" if module == "torch" else ""
        return f"{module} is not installed{extra}"
    if module == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    return None


Checker = Callable[[np.ndarray, int, int, float], bool]
"""(θ, seed, planted index, planted relative error; 0 for none) -> the checker flags it."""


def bpcheck_flags(theta: np.ndarray, seed: int, index: int, error: float) -> bool:
    from bpcheck.gradcheck import check

    if available("jax") is None:
        import jax
        import jax.numpy as jnp

        f = jax.jit(jax_function(seed, index, error))
        return not check(f, jnp.asarray(theta)).passed
    import torch

    return not check(torch_function(seed, index, error), torch.from_numpy(theta.copy())).passed


def torch_flags(theta: np.ndarray, seed: int, index: int, error: float) -> bool:
    import torch

    leaf = torch.from_numpy(theta.copy()).requires_grad_(True)
    f = torch_function(seed, index, error)
    return not torch.autograd.gradcheck(f, (leaf,), raise_exception=False)


def jax_flags(theta: np.ndarray, seed: int, index: int, error: float) -> bool:
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    f = jax.jit(jax_function(seed, index, error))
    try:
        check_grads(f, (jnp.asarray(theta),), order=1, modes=("rev",))
    except AssertionError:
        return True
    return False


# --- measuring -------------------------------------------------------------------------------


def measure(checker: Checker, thetas: list[np.ndarray], indices: list[int]) -> list[str]:
    """[time of one check, false alarms, smallest planted error found: median, draws caught]."""
    draws = list(enumerate(zip(thetas, indices, strict=True)))
    times = []
    alarms = 0
    for seed, (theta, index) in draws:
        start = time.perf_counter()
        alarms += checker(theta, seed, index, 0.0)
        times.append(time.perf_counter() - start)
    smallest = []
    for seed, (theta, index) in draws:
        found = math.inf
        for error in PLANTED:
            if not checker(theta, seed, index, error):
                break
            found = error
        smallest.append(found)
    caught = sum(math.isfinite(x) for x in smallest)
    median = statistics.median_low(smallest)
    shown = f"{median:.0e}" if math.isfinite(median) else "none"
    return [
        f"{statistics.median(times) * 1e3:.1f} ms",
        f"{alarms} of {len(thetas)}",
        shown,
        f"{caught} of {len(thetas)}",
    ]


def main() -> None:
    checkers: list[tuple[str, Checker, str | None]] = [
        ("bpcheck check()", bpcheck_flags, available("jax") and available("torch")),
        ("torch.autograd.gradcheck", torch_flags, available("torch")),
        ("jax check_grads", jax_flags, available("jax")),
    ]
    rows = []
    for name, (scale, quantile) in FUNCTIONS.items():
        thetas = [parameters(seed, scale) for seed in range(DRAWS)]
        gradients = [true_gradient(theta, seed) for seed, theta in enumerate(thetas)]
        indices = [planted_index(g, quantile) for g in gradients]
        planted = [abs(float(g[i])) for g, i in zip(gradients, indices, strict=True)]
        typical = statistics.median(planted)
        for label, checker, missing in checkers:
            if missing:
                rows.append([name, label, "-", "-", "-", f"skipped: {missing}"])
            else:
                rows.append([name, label, *measure(checker, thetas, indices)])
        rows[-3][0] = f"{name} (planted |g| ~ {typical:.0e})"
    print(f"{DRAWS} draws a function; relative errors 1e-1 ... 1e-12 planted in one component\n")
    headers = ["function", "checker", "time", "false alarms", "smallest planted error found"]
    headers += ["draws where 1e-1 is found"]
    print(text_table(headers, rows))


if __name__ == "__main__":
    main()
