"""float32 for the loops engine: a Python float whose every arithmetic result is rounded.

A ``precision: float32`` problem is computed in single precision.  Rather than a
second copy of every formula, the engine runs the same code on :class:`Single`
numbers: a ``float`` whose ``+ - * /`` round their exact float64 result to the
nearest float32.  For two float32 operands that is the float32 operation itself
(float64 holds their product exactly, and rounding a float64 sum, difference or
quotient again to float32 gives the correctly rounded float32 result: 53 >= 2 * 24
+ 2).  The transcendental functions (``exp``, ``log``, ``tanh`` ... in
:mod:`.formulas`) round their result the same way when given a Single.

:func:`in_float32` rounds every number of a problem to float32 first, so nothing
of float64 enters; :func:`plain` turns the trace back into plain floats (each one
a float32 value, held exactly).  A float64 problem never meets this module: its
arithmetic is Python's own, as fast as before.
"""

from __future__ import annotations

import math
import struct
from dataclasses import replace

from bpcheck.model.problem import Layer, Problem
from bpcheck.model.quantities import Trace

_FLOAT32 = struct.Struct("f")


def to_float32(x: float) -> float:
    """The float32 nearest to ``x`` (ties to even), as a float; beyond float32's range, inf."""
    try:
        value: float = _FLOAT32.unpack(_FLOAT32.pack(x))[0]
    except OverflowError:  # struct refuses what rounds to an infinity; IEEE 754 gives one
        return math.copysign(math.inf, x)
    return value


class Single(float):
    """A float32 number: arithmetic with it is float32 arithmetic (see the module)."""

    __slots__ = ()

    def __new__(cls, value: float) -> Single:
        return super().__new__(cls, to_float32(value))

    def __add__(self, other: float, /) -> Single:
        return Single(float.__add__(self, other))

    def __radd__(self, other: float, /) -> Single:
        return Single(float.__radd__(self, other))

    def __sub__(self, other: float, /) -> Single:
        return Single(float.__sub__(self, other))

    def __rsub__(self, other: float, /) -> Single:
        return Single(float.__rsub__(self, other))

    def __mul__(self, other: float, /) -> Single:
        return Single(float.__mul__(self, other))

    def __rmul__(self, other: float, /) -> Single:
        return Single(float.__rmul__(self, other))

    def __truediv__(self, other: float, /) -> Single:
        return Single(float.__truediv__(self, other))

    def __rtruediv__(self, other: float, /) -> Single:
        return Single(float.__rtruediv__(self, other))

    def __neg__(self) -> Single:
        return Single(float.__neg__(self))

    def __pos__(self) -> Single:
        return self

    def __abs__(self) -> Single:
        return Single(float.__abs__(self))


def like(x: float, value: float) -> float:
    """``value`` in the precision of ``x``: rounded to float32 if ``x`` is a :class:`Single`."""
    return Single(value) if type(x) is Single else value


def _numbers(values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(Single(v) for v in values)


def _layer_in_float32(layer: Layer) -> Layer:
    rate = layer.learning_rate
    return replace(
        layer,
        weights=tuple(_numbers(row) for row in layer.weights),
        bias=_numbers(layer.bias),
        slope=Single(layer.slope),
        alpha=Single(layer.alpha),
        learning_rate=None if rate is None else Single(rate),
    )


def in_float32(problem: Problem) -> Problem:
    """The problem with every number rounded to float32 (as a :class:`Single`)."""
    return replace(
        problem,
        layers=tuple(_layer_in_float32(layer) for layer in problem.layers),
        inputs=tuple(_numbers(row) for row in problem.inputs),
        targets=tuple(_numbers(row) for row in problem.targets),
        learning_rate=Single(problem.learning_rate),
        momentum=Single(problem.momentum),
        weight_decay=Single(problem.weight_decay),
    )


def plain(trace: Trace) -> Trace:
    """The trace with plain floats (the same values): what crosses to bpcheck."""
    return {step: {name: float(v) for name, v in values.items()} for step, values in trace.items()}
