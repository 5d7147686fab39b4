"""Engine benchmarks: figures printed beside their targets, never asserted by tests.

Three cases, per engine (the certified one too, in ball arithmetic):

* ``mazur-step``: one recorded training step of the Mazur network;
* ``mazur-10k``: 10,000 training steps of the Mazur 2-2-2 sigmoid network,
  recording only the final step (what a claim after training needs);
* ``mlp-step``: one training step of a 784-128-10 sigmoid/softmax network
  (softmax cross-entropy) on a batch of 64, measured as the marginal cost of a
  step: ``(run with 1 + n steps - run with 1 step) / n``, so that converting the
  problem's 100,000 weights into an engine's own arrays is reported apart.

JAX compile time is the first run of a new shape minus a warm run.  Each figure
is the median of repeats.  The floor is NumPy doing only the matrix products a
step needs (forward, back-propagation and weight gradients), the least any
engine could spend.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from bpcheck.checking.results import text_table
from bpcheck.model.engine import Engine
from bpcheck.model.examples import mazur
from bpcheck.model.problem import Layer, Problem

TARGETS = {
    ("mazur-10k", "loops"): 0.050,
    ("mazur-10k", "matrices"): 0.400,
    ("mazur-10k", "autodiff"): 0.005,
    ("mlp-step", "matrices"): 0.0015,
    ("mlp-step", "autodiff"): 0.0015,
    ("compile", "autodiff"): 1.0,
}
"""Seconds; from issue #4 (a general engine may pay a little for generality)."""


def mlp(steps: int, seed: int = 0) -> Problem:
    """784-128-10, sigmoid hidden layer, softmax output, batch of 64, seeded weights."""
    rng = random.Random(seed)

    def matrix(rows: int, cols: int, scale: float) -> tuple[tuple[float, ...], ...]:
        return tuple(tuple(rng.gauss(0.0, scale) for _ in range(cols)) for _ in range(rows))

    inputs = tuple(tuple(rng.random() for _ in range(784)) for _ in range(64))
    targets = tuple(tuple(1.0 if k == s % 10 else 0.0 for k in range(10)) for s in range(64))
    return Problem(
        layers=(
            Layer(matrix(128, 784, 0.05), "sigmoid", "per_neuron", (0.0,) * 128, True),
            Layer(matrix(10, 128, 0.1), "softmax", "per_neuron", (0.0,) * 10, True),
        ),
        inputs=inputs,
        targets=targets,
        loss="softmax_ce",
        learning_rate=0.1,
        steps=steps,
    )


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_time(action: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(action) for _ in range(repeats))


@dataclass(frozen=True)
class Figure:
    case: str
    engine: str
    seconds: float
    floor: float | None
    note: str = ""


def numpy_floor(problem: Problem, steps: int, repeats: int) -> float | None:
    """The matrix products of ``steps`` training steps, and nothing else."""
    try:
        import numpy as np
    except ImportError:
        return None
    weights = [np.array(layer.weights) for layer in problem.layers]
    x = np.array(problem.inputs)

    def products() -> None:
        for _ in range(steps):
            outs = [x]
            for w in weights:
                outs.append(outs[-1] @ w.T)
            delta = outs[-1]
            for index in range(len(weights) - 1, -1, -1):
                _ = delta.T @ outs[index]
                if index:
                    delta = delta @ weights[index]

    return median_time(products, repeats)


SLOW = {"loops": 1, "certified": 2}
"""Engines whose 784-128-10 step takes about a second: timed once, with this many extra steps
(the certified engine's setup, reading 100,000 decimals into balls, varies as much as a step)."""


def bench_mazur(engine: Engine, repeats: int) -> list[Figure]:
    problem = mazur(10_000)
    step = median_time(lambda: engine.run(mazur(1), {1}), repeats)
    figures = [Figure("mazur-step", engine.name, step, None, "one recorded step")]
    cold = timed(lambda: engine.run(problem, {10_000}))
    warm = median_time(lambda: engine.run(problem, {10_000}), repeats)
    if engine.name == "autodiff":
        figures.append(Figure("compile", engine.name, max(cold - warm, 0.0), None, "mazur shape"))
    floor = numpy_floor(problem, 10_000, 1)
    figures.append(Figure("mazur-10k", engine.name, warm, floor))
    return figures


def bench_mlp(engine: Engine, repeats: int) -> list[Figure]:
    extra = SLOW.get(engine.name, 10)
    one, more = mlp(1), mlp(1 + extra)
    repeats = 1 if engine.name in SLOW else repeats
    engine.run(one, set())
    engine.run(more, set())
    setup_and_one = median_time(lambda: engine.run(one, set()), repeats)
    with_more = median_time(lambda: engine.run(more, set()), repeats)
    step = max(with_more - setup_and_one, 0.0) / extra
    setup = max(setup_and_one - step, 0.0)
    floor = numpy_floor(one, 1, max(repeats, 5))
    return [
        Figure("mlp-step", engine.name, step, floor),
        Figure("mlp-setup", engine.name, setup, None, "problem data into the engine"),
    ]


def run_benchmarks(engines: dict[str, Engine], repeats: int) -> list[Figure]:
    figures: list[Figure] = []
    for engine in engines.values():
        if not engine.available().available:
            continue
        figures.extend(bench_mazur(engine, repeats))
        figures.extend(bench_mlp(engine, repeats))
    return figures


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.0f} us"


def figures_table(figures: list[Figure]) -> str:
    rows = []
    for f in figures:
        target = TARGETS.get((f.case, f.engine))
        rows.append(
            [
                f.case,
                f.engine,
                seconds(f.seconds),
                seconds(target),
                "-" if target is None else f"{f.seconds / target:.2f}",
                seconds(f.floor),
                "-" if not f.floor else f"{f.seconds / f.floor:.1f}",
                f.note,
            ]
        )
    headers = ["case", "engine", "median", "target", "/target", "floor", "/floor", "note"]
    return text_table(headers, rows)
