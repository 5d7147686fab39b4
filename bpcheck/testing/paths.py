"""Path equivalence: a step an engine does not record must be the step it records.

Engines train unrecorded steps on a lean path (no trace kept, fewer lists, in
JAX a compiled loop) and recorded steps on a path that keeps every quantity.
The two are separate code, and nothing else compares them: a bug planted only
in the lean path (a bias gradient from one sample, mse divided by the samples
only, the wrong sample of a per-sample step, an output bias left alone) passes
every fixture that records each step it claims.  :func:`path_differences` runs a
problem twice, once recording only the steps compared and once recording every
step, and lists every quantity at the compared steps that is not the same float.

"The same float" means equal to the last bit: both paths do the same arithmetic
in the same order in all three bundled engines (measured, and shown by the
property tests).  ``-0.0`` and ``0.0`` count as equal (a relu's zero delta may
come out as either, and no later value can tell them apart), and NaN equals NaN
(a diverging run diverges the same way on both paths).
"""

from __future__ import annotations

import math

from bpcheck.model.engine import Engine
from bpcheck.model.problem import Problem


def same_float(a: float, b: float) -> bool:
    """Equal to the last bit, with -0.0 == 0.0 and NaN == NaN (see the module docstring)."""
    return a == b or (math.isnan(a) and math.isnan(b))


def compared_steps(problem: Problem) -> tuple[int, ...]:
    """The last step, and one in the middle so that a long run is checked part way too."""
    middle = problem.steps // 2
    return tuple(sorted({middle, problem.steps}))


def path_differences(engine: Engine, problem: Problem, limit: int = 5) -> list[str]:
    """Up to ``limit`` lines, one per quantity the lean and recorded paths disagree on.

    Empty when the engine trains the same way whether it records a step or not.
    """
    steps = compared_steps(problem)
    lean = engine.run(problem, set(steps))
    recorded = engine.run(problem, set(range(problem.steps + 1)))
    lines: list[str] = []
    for step in steps:
        fast, full = lean.get(step, {}), recorded.get(step, {})
        for name in sorted(set(fast) | set(full)):
            if name not in fast or name not in full:
                where = "lean" if name not in fast else "recorded"
                lines.append(f"step {step}: {name} missing on the {where} path")
            elif not same_float(fast[name], full[name]):
                lines.append(
                    f"step {step}: {name} = {fast[name]:.17g} when only steps {list(steps)} "
                    f"are recorded, {full[name]:.17g} when every step is"
                )
            if len(lines) >= limit:
                return lines
    return lines
