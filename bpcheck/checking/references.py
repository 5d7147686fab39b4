"""Hand-written references for the benchmarks: the same work, written for one case only.

An engine's time means little alone on a shared, noisy machine; beside code that
does the same work in the same run, the ratio does.  Each reference here trains
the same problem as the engine it is compared with, with nothing general about it:

* :func:`naive_loops`: a plain-Python network of any shape, written the obvious way
  (lists of lists, a function per layer), the generic code the loops engine must beat;
* :func:`unrolled_mazur`: the 2-2-2 sigmoid network with every weight a local
  variable, the fastest plain Python can be (and no longer generic);
* :func:`numpy_step`: one 784-128-10 sigmoid/softmax training step in NumPy, as a
  person would write it for exactly that network.

They return the trained weights, so a benchmark can check they did the work.
"""

from __future__ import annotations

import math
from typing import Any

from bpcheck.model.problem import Problem


def naive_loops(problem: Problem) -> list[list[list[float]]]:
    """``problem.steps`` full-batch updates of a sigmoid network with half_sse, no bias."""
    weights = [[list(row) for row in layer.weights] for layer in problem.layers]
    rate = problem.learning_rate

    def layer_forward(matrix: list[list[float]], below: list[float]) -> list[float]:
        return [1.0 / (1.0 + math.exp(-sum(w * x for w, x in zip(row, below)))) for row in matrix]

    for _ in range(problem.steps):
        for x, target in zip(problem.inputs, problem.targets, strict=True):
            outs = [list(x)]
            for matrix in weights:
                outs.append(layer_forward(matrix, outs[-1]))
            deltas = [(o - t) * o * (1.0 - o) for o, t in zip(outs[-1], target)]
            for index in range(len(weights) - 1, -1, -1):
                matrix, below = weights[index], outs[index]
                back = [
                    sum(d * row[i] for d, row in zip(deltas, matrix)) for i in range(len(below))
                ]
                for row, d in zip(matrix, deltas):
                    for i, o in enumerate(below):
                        row[i] -= rate * d * o
                deltas = [b * o * (1.0 - o) for b, o in zip(back, below)]
    return weights


def unrolled_mazur(problem: Problem) -> tuple[float, ...]:
    """Mazur's 2-2-2 network (frozen shared biases), every weight a local variable."""
    ((w1, w2), (w3, w4)), ((w5, w6), (w7, w8)) = (layer.weights for layer in problem.layers)
    b1, b2 = problem.layers[0].bias[0], problem.layers[1].bias[0]
    (i1, i2), (t1, t2), rate = problem.inputs[0], problem.targets[0], problem.learning_rate
    exp = math.exp
    for _ in range(problem.steps):
        h1 = 1.0 / (1.0 + exp(-(w1 * i1 + w2 * i2 + b1)))
        h2 = 1.0 / (1.0 + exp(-(w3 * i1 + w4 * i2 + b1)))
        o1 = 1.0 / (1.0 + exp(-(w5 * h1 + w6 * h2 + b2)))
        o2 = 1.0 / (1.0 + exp(-(w7 * h1 + w8 * h2 + b2)))
        d1, d2 = (o1 - t1) * o1 * (1.0 - o1), (o2 - t2) * o2 * (1.0 - o2)
        e1 = (d1 * w5 + d2 * w7) * h1 * (1.0 - h1)
        e2 = (d1 * w6 + d2 * w8) * h2 * (1.0 - h2)
        w5, w6, w7, w8 = (
            w5 - rate * d1 * h1,
            w6 - rate * d1 * h2,
            w7 - rate * d2 * h1,
            w8 - rate * d2 * h2,
        )
        w1, w2, w3, w4 = (
            w1 - rate * e1 * i1,
            w2 - rate * e1 * i2,
            w3 - rate * e2 * i1,
            w4 - rate * e2 * i2,
        )
    return w1, w2, w3, w4, w5, w6, w7, w8


def numpy_step(arrays: dict[str, Any], rate: float) -> None:
    """One sigmoid/softmax training step (softmax cross-entropy), the arrays updated in place.

    ``arrays``: ``x`` (batch, 784), ``t`` (batch, 10), ``w1`` (128, 784), ``b1``, ``w2``
    (10, 128), ``b2``, as :func:`numpy_arrays` makes them.
    """
    np = arrays["np"]
    x, t, w1, b1, w2, b2 = (arrays[k] for k in ("x", "t", "w1", "b1", "w2", "b2"))
    hidden = 1.0 / (1.0 + np.exp(-(x @ w1.T + b1)))
    net = hidden @ w2.T + b2
    shifted = np.exp(net - net.max(axis=1, keepdims=True))
    out = shifted / shifted.sum(axis=1, keepdims=True)
    d2 = out - t  # softmax and cross-entropy together
    d1 = (d2 @ w2) * hidden * (1.0 - hidden)
    w2 -= rate * (d2.T @ hidden)
    b2 -= rate * d2.sum(axis=0)
    w1 -= rate * (d1.T @ x)
    b1 -= rate * d1.sum(axis=0)


def numpy_arrays(problem: Problem) -> dict[str, Any]:
    """The arrays :func:`numpy_step` works on, from a two-layer problem."""
    import numpy as np

    first, second = problem.layers
    return {
        "np": np,
        "x": np.array(problem.inputs),
        "t": np.array(problem.targets),
        "w1": np.array(first.weights),
        "b1": np.array(first.bias),
        "w2": np.array(second.weights),
        "b2": np.array(second.bias),
    }
