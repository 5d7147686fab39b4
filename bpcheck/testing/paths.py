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

An engine that certifies its values (``enclose``, the certified engine) picks its working
precision per run, so its midpoints may differ in the last bits between the two paths;
for it the law is that the two enclosures of every quantity overlap: some value lies in
both, or one of the paths computed something else.
"""

from __future__ import annotations

import math
from decimal import MAX_EMAX, MIN_EMIN, Context, localcontext

from bpcheck.model.engine import Enclosures, Engine, encloses
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
    if encloses(engine):
        return _enclosure_differences(engine, problem, steps, limit)
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


def _enclosure_differences(
    engine: Engine, problem: Problem, steps: tuple[int, ...], limit: int
) -> list[str]:
    """Quantities whose enclosures on the two paths do not overlap."""
    enclose = engine.enclose  # type: ignore[attr-defined]
    lean: Enclosures = enclose(problem, set(steps))
    recorded: Enclosures = enclose(problem, set(range(problem.steps + 1)))
    lines: list[str] = []
    for step in steps:
        fast, full = lean.bounds.get(step, {}), recorded.bounds.get(step, {})
        for name in sorted(set(fast) | set(full)):
            if name not in fast or name not in full:
                where = "lean" if name not in fast else "recorded"
                lines.append(f"step {step}: {name} missing on the {where} path")
            else:
                (low_a, high_a), (low_b, high_b) = fast[name], full[name]
                if not _overlap(fast[name], full[name]):
                    lines.append(
                        f"step {step}: {name} in [{low_a}, {high_a}] when only steps "
                        f"{list(steps)} are recorded, [{low_b}, {high_b}] when every step is"
                    )
            if len(lines) >= limit:
                return lines
    return lines


WIDE = Context(prec=100, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Bounds of a certified engine may carry any exponent (e^(e^40) is still a decimal)."""


def _overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether two enclosures share a value; two that hold NaN (no value) count as equal."""
    with localcontext(WIDE):
        bounds = [WIDE.create_decimal(x) for x in (*a, *b)]
        nan_a = bounds[0].is_nan() or bounds[1].is_nan()
        nan_b = bounds[2].is_nan() or bounds[3].is_nan()
        if nan_a or nan_b:
            return nan_a and nan_b
        return max(bounds[0], bounds[2]) <= min(bounds[1], bounds[3])
