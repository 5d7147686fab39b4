"""Gradient checks on a 784-256-256-10 network: bpcheck beside JAX's and PyTorch's checkers.

Run ``python benchmarks/gradcheck_bench.py``.  Figures, not tests: nothing is
asserted.  For each checker it prints the time of one check and what it makes of

* the correct gradient (a flag here is a false alarm),
* the gradient with a relative 1e-6 error planted in the weight with the
  largest gradient,
* the smallest planted relative error (by decades) it catches in that weight
  and in a typical weight (the one with the median |gradient|).

The checked function is the same for all: sigmoid hidden layers, a softmax
output, softmax cross-entropy summed over a batch of 64, float64.  The
gradient under test is the matrices engine's (a full trace at step 0, 1.4
million names, about a second).  Planting an error in JAX's or PyTorch's check
goes through a custom VJP / autograd Function that returns the planted
gradient.  Times are medians of three runs after a warm-up.

Then, for small networks, each bpcheck method's detection threshold: the
relative planted error it is sure to catch, ``(tolerance + |error|) / |g|``,
over the parameters of 200 random networks (the median and the worst).
"""

from __future__ import annotations

import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpcheck.checking.results import text_table
from bpcheck.gradcheck.differences import DIRECTIONS, check_directional, unit_directions
from bpcheck.gradcheck.engine_check import METHODS, check_gradients
from bpcheck.gradcheck.error_model import rounding
from bpcheck.gradcheck.network import Network
from bpcheck.gradcheck.result import Row
from bpcheck.model.problem import Layer, Problem

SIZES = (784, 256, 256, 10)
BATCH = 64
DECADES = [10.0**k for k in range(-8, 5)]


def mlp(seed: int = 0) -> Problem:
    """784-256-256-10: sigmoid, sigmoid, softmax; per-neuron trainable biases; seeded."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, size in itertools.pairwise(SIZES):
        weights = rng.normal(0.0, 1.0 / np.sqrt(fan_in), (size, fan_in))
        bias = rng.normal(0.0, 0.1, size)
        activation = "softmax" if size == SIZES[-1] else "sigmoid"
        layers.append(
            Layer(
                tuple(map(tuple, weights.tolist())),
                activation,
                "per_neuron",
                tuple(bias.tolist()),
                True,
            )
        )
    inputs = rng.random((BATCH, SIZES[0]))
    targets = np.eye(SIZES[-1])[np.arange(BATCH) % SIZES[-1]]
    return Problem(
        layers=tuple(layers),
        inputs=tuple(map(tuple, inputs.tolist())),
        targets=tuple(map(tuple, targets.tolist())),
        loss="softmax_ce",
        learning_rate=0.1,
        steps=0,
    )


# --- the gradient under test: the matrices engine -----------------------------------------


def engine_gradient(problem: Problem, network: Network) -> tuple[np.ndarray, str]:
    """dE/dθ from the matrices engine's full trace at step 0, laid out like ``network.theta``."""
    from bpcheck.engines.matrices import MatricesEngine

    start = time.perf_counter()
    trace = MatricesEngine().run(problem, {0})[0]
    seconds = time.perf_counter() - start
    gradient = np.array([trace["dE_d" + name] for name in network.names()])
    return gradient, f"matrices engine, full trace at step 0: {seconds:.2f} s, {len(trace):,} names"


# --- the three checkers -----------------------------------------------------------------------

Checker = Callable[[np.ndarray], tuple[bool, str]]
"""gradient -> (flagged, what it measured, if it says)."""


def bpcheck_checker(network: Network) -> Checker:
    bounds = rounding(network, network.theta)

    def check(gradient: np.ndarray) -> tuple[bool, str]:
        """Flagged or not; the worst error relative to the largest projection, and to its
        tolerance."""
        rows = check_directional(network, gradient, seed=0, bounds=bounds)
        scale = max(abs(r.reference) for r in rows)
        rel = max(r.abs_error for r in rows) / scale
        ratio = max(r.abs_error / r.tolerance for r in rows)
        return any(r.status == "fail" for r in rows), f"rel {rel:.1e}, {ratio:.2g} x tol"

    return check


def jax_checker(network: Network) -> Checker | str:
    try:
        import jax
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError:
        return "jax: not installed"
    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    inputs, targets = jnp.asarray(network.inputs), jnp.asarray(network.targets)
    blocks = network.blocks

    def loss(theta: Any) -> Any:
        out = inputs
        layers = [(b.offset, b.shape) for b in blocks]
        for index in range(0, len(layers), 2):
            (w_at, w_shape), (b_at, b_shape) = layers[index], layers[index + 1]
            w = theta[w_at : w_at + w_shape[0] * w_shape[1]].reshape(w_shape)
            b = theta[b_at : b_at + b_shape[1]]
            net = out @ w.T + b
            last = index == len(layers) - 2
            out = jax.nn.softmax(net, axis=1) if last else jax.nn.sigmoid(net)
        return -jnp.sum(targets * jnp.log(out))

    theta = jnp.asarray(network.theta)

    def check(gradient: np.ndarray) -> tuple[bool, str]:
        planted = jnp.asarray(gradient)

        @jax.custom_vjp
        def f(x: Any) -> Any:
            return loss(x)

        f.defvjp(lambda x: (loss(x), None), lambda _, ct: (ct * planted,))
        try:
            check_grads(f, (theta,), order=1, modes=("rev",))  # type: ignore[no-untyped-call]
        except AssertionError:
            return True, ""
        return False, ""

    return check


def torch_checker(network: Network) -> Checker | str:
    try:
        import torch
    except ImportError:
        return "torch: not installed"
    # On a failure, fast mode recomputes the full numerical Jacobian (one forward pass
    # per parameter, 540,000 here) only to print it; the verdict is already known.
    module: Any = sys.modules["torch.autograd.gradcheck"]
    module._run_slow_mode_and_get_error = lambda *args, **kwargs: " (Jacobian not printed)"
    inputs = torch.from_numpy(network.inputs)
    targets = torch.from_numpy(network.targets)
    blocks = network.blocks

    def loss(theta: Any) -> Any:
        out = inputs
        for index in range(0, len(blocks), 2):
            w_block, b_block = blocks[index], blocks[index + 1]
            w = theta[w_block.offset : w_block.offset + w_block.count].reshape(w_block.shape)
            b = theta[b_block.offset : b_block.offset + b_block.count]
            net = out @ w.T + b
            last = index == len(blocks) - 2
            out = torch.softmax(net, dim=1) if last else torch.sigmoid(net)
        return -(targets * torch.log(out)).sum()

    theta = torch.from_numpy(network.theta.copy()).requires_grad_(True)

    def check(gradient: np.ndarray) -> tuple[bool, str]:
        planted = torch.from_numpy(gradient)

        class Planted(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                return loss(x)

            @staticmethod
            def backward(ctx: Any, grad_out: Any) -> Any:
                return grad_out * planted

        passed = torch.autograd.gradcheck(
            Planted.apply, (theta,), fast_mode=True, raise_exception=False
        )
        return not passed, ""

    return check


# --- measuring --------------------------------------------------------------------------------


def planted(gradient: np.ndarray, index: int, error: float) -> np.ndarray:
    wrong = gradient.copy()
    wrong[index] *= 1.0 + error
    return wrong


def smallest_caught(check: Checker, gradient: np.ndarray, index: int) -> str:
    """The smallest decade of relative error planted at ``index`` that the checker flags.

    A binary search over DECADES (a larger error is caught whenever a smaller
    one is), so that the slower checkers need four runs, not thirteen.
    """
    low, high = 0, len(DECADES)
    while low < high:
        middle = (low + high) // 2
        if check(planted(gradient, index, DECADES[middle]))[0]:
            high = middle
        else:
            low = middle + 1
    return f"{DECADES[low]:.0e}" if low < len(DECADES) else f"> {DECADES[-1]:.0e}"


def seconds(action: Callable[[], object], repeats: int = 3) -> tuple[float, float]:
    """(first run, median of ``repeats`` runs after it): JAX traces, torch allocates."""
    times = []
    for _ in range(1 + repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:])


def verdict(flagged: bool, note: str) -> str:
    text = "flagged" if flagged else "passed"
    return f"{text} ({note})" if note else text


def bpcheck_row(problem: Problem, gradient: np.ndarray, largest: int, typical: int) -> list[str]:
    """bpcheck's figures; its time includes building the arrays and the rounding bounds."""

    def whole_check() -> tuple[bool, str]:
        network = Network(problem, range(problem.n_samples))
        return bpcheck_checker(network)(gradient)

    first, median = seconds(whole_check)
    check = bpcheck_checker(Network(problem, range(problem.n_samples)))
    flagged, rel = check(gradient)
    planted_flag, planted_rel = check(planted(gradient, largest, 1e-6))
    return [
        f"bpcheck directional ({DIRECTIONS} unit directions, 2 Richardson levels)",
        f"{first:.3f}",
        f"{median:.3f}",
        verdict(flagged, rel),
        verdict(planted_flag, planted_rel),
        smallest_caught(check, gradient, largest),
        smallest_caught(check, gradient, typical),
    ]


def other_row(
    label: str, made: Checker | str, gradient: np.ndarray, largest: int, typical: int
) -> list[str]:
    if isinstance(made, str):
        return [made, "-", "-", "-", "-", "-", "-"]
    first, median = seconds(lambda: made(gradient))
    flagged, rel = made(gradient)
    planted_flag, planted_rel = made(planted(gradient, largest, 1e-6))
    return [
        label,
        f"{first:.3f}",
        f"{median:.3f}",
        verdict(flagged, rel),
        verdict(planted_flag, planted_rel),
        smallest_caught(made, gradient, largest),
        smallest_caught(made, gradient, typical),
    ]


HEADERS = [
    "checker",
    "first run s",
    "median s",
    "correct gradient",
    "1e-6 in largest",
    "smallest caught, largest",
    "smallest caught, typical",
]


def big_network_table() -> str:
    problem = mlp()
    network = Network(problem, range(problem.n_samples))
    gradient, source = engine_gradient(problem, network)
    weights = np.concatenate(
        [np.arange(b.offset, b.offset + b.count) for b in network.blocks if b.kind == "w"]
    )
    order = weights[np.argsort(np.abs(gradient[weights]))]
    largest, typical = int(order[-1]), int(order[len(order) // 2])
    print(
        f"{'-'.join(map(str, SIZES))} network, {network.size:,} parameters, batch {BATCH}; "
        f"largest |g| {abs(gradient[largest]):.3g} at {network.name(largest)}, "
        f"typical |g| {abs(gradient[typical]):.3g} at {network.name(typical)}"
    )
    print(f"gradient under test: {source}")
    rows = [bpcheck_row(problem, gradient, largest, typical)]
    rows.append(
        other_row(
            "jax.test_util.check_grads (rev, default eps 1e-4, tol 1e-5)",
            jax_checker(network),
            gradient,
            largest,
            typical,
        )
    )
    rows.append(
        other_row(
            "torch.autograd.gradcheck (fast_mode, default eps 1e-6, rtol 1e-3)",
            torch_checker(network),
            gradient,
            largest,
            typical,
        )
    )
    return text_table(HEADERS, rows)


# --- detection thresholds of each method on small networks -----------------------------------


def small_problem(seed: int) -> Problem:
    """A random 1-3 layer network with every activation, loss and bias kind in turn."""
    rng = random.Random(seed)
    loss = rng.choice(["half_sse", "sse", "mse", "bce", "softmax_ce"])
    depth = rng.randint(1, 3)
    sizes = [rng.randint(1, 4) for _ in range(depth + 1)]
    sizes[-1] = max(2, sizes[-1]) if loss == "softmax_ce" else sizes[-1]
    layers = []
    for index in range(depth):
        activation = rng.choice(["identity", "sigmoid", "tanh", "relu"])
        if index == depth - 1:
            activation = {"bce": "sigmoid", "softmax_ce": "softmax"}.get(loss, activation)
        kind = rng.choice(["none", "shared", "per_neuron"])
        count = {"none": 0, "shared": 1, "per_neuron": sizes[index + 1]}[kind]
        weights = tuple(
            tuple(round(rng.gauss(0, 1), 2) for _ in range(sizes[index]))
            for _ in range(sizes[index + 1])
        )
        bias = tuple(round(rng.gauss(0, 0.5), 2) for _ in range(count))
        layers.append(Layer(weights, activation, kind, bias, True))
    inputs = ((*(round(rng.uniform(-1, 1), 2) for _ in range(sizes[0])),),)
    targets = ((*(float(k == 0) for k in range(sizes[-1])),),)
    return Problem(tuple(layers), inputs, targets, loss, 0.5, 0)


def parameter_thresholds(method: str, rows: list[Row], seed: int, g: np.ndarray) -> np.ndarray:
    """Per parameter k, the relative error of g[k] that the check is sure to catch.

    A per-parameter row catches ``x·|g_k|`` once it exceeds ``tolerance + |error|``;
    a directional row d moves by ``x·|g_k v_dk|``, so the best direction decides.
    """
    slack = np.array([r.tolerance + r.abs_error for r in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        if method != "directional":
            quotient: np.ndarray = slack / np.abs(g)
            return quotient
        directions = unit_directions(g.size, DIRECTIONS, seed)
        result: np.ndarray = np.min(slack[:, None] / np.abs(directions * g), axis=0)
    return result


def thresholds_table(count: int = 200) -> str:
    """Each method's detection threshold over the parameters of ``count`` random networks."""
    from bpcheck.engines.loops import LoopsEngine

    engine = LoopsEngine()
    found: dict[str, list[float]] = {m: [] for m in METHODS}
    spent = dict.fromkeys(METHODS, 0.0)
    for seed in range(count):
        problem = small_problem(seed)
        results = {}
        for method in METHODS:
            start = time.perf_counter()
            results[method] = check_gradients(engine, problem, method=method, seed=seed)
            spent[method] += time.perf_counter() - start
        g = np.array([r.engine_value for r in results["richardson"].rows])
        kinks = np.array([r.status == "kink" for r in results["richardson"].rows])
        keep = ~kinks & (np.abs(g) > 1e-3 * np.abs(g).max())
        for method, result in results.items():
            if any(r.status == "kink" for r in result.rows):
                continue
            found[method].extend(parameter_thresholds(method, result.rows, seed, g)[keep])
    rows = []
    for method, values in found.items():
        values.sort()
        rows.append(
            [
                method,
                str(len(values)),
                f"{statistics.median(values):.1e}",
                f"{values[int(0.99 * len(values))]:.1e}",
                f"{values[-1]:.1e}",
                f"{1000 * spent[method] / count:.1f}",
            ]
        )
    headers = ["method", "parameters", "median", "99th percentile", "worst", "ms per network"]
    return text_table(headers, rows)


def main() -> None:
    print(big_network_table())
    print(
        "\nDetection thresholds on 200 random small networks: the relative error of one"
        "\nparameter's gradient that is sure to fail the check (parameters with |g| above"
        f"\n1e-3 of their network's largest; directional: the best of {DIRECTIONS} directions)"
    )
    print(thresholds_table())


if __name__ == "__main__":
    main()
