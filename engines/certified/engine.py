"""The certified engine: every value as a ball that contains the exact result, to 50 digits.

The float engines compute in float64 and share formulations, so where a formula
loses digits (``s (1 - s)`` of a sigmoid saturated at 16 keeps about 9 of its 16)
they lose them together and agree.  This engine computes the problem as stated,
with its inputs and parameters taken as the exact decimals the fixture prints, in
Arb's ball arithmetic (:mod:`bpcheck.engines.certified.balls`).  Each value comes
back as rigorous decimal bounds (:class:`~bpcheck.model.engine.Enclosures`).

Precision.  The engine starts at enough bits for :attr:`CertifiedEngine.digits`
correct digits plus a margin, and looks at the least accurate value it computed.
Where a radius grew too wide (a long training, a saturated unit), it runs again
with the bits that were lost added, up to :data:`MAX_BITS`, and reports the
precision it used.  A value it cannot decide even then (the log of an output that
may be 0) makes it give up for the problem: :class:`CannotRun`, with the reason; so
does a value that is no real number at all (the log of a negative output: float
arithmetic calls it NaN), at once.  A relu, leaky relu or ELU whose input's ball
holds its kink gets a ball holding both branches' values and slopes instead.

float32.  The engine encloses the real numbers the problem states; a float32 fixture
asks for float32's roundings, which it does not model: :class:`CannotRun` (and its
capabilities lack ``precision:float32``).

Time.  A long training costs thousands of ball steps.  The engine stops and
says so (``skipped for time``) when the run goes beyond its time budget
(:data:`BUDGET_VARIABLE`, seconds; :data:`DEFAULT_BUDGET` when unset), judging
early from the first steps whether the whole run can fit.

Float64's share.  Beside the bounds, the same computation runs once at 53 bits,
from the same decimals: the radius of each value there is what float64 rounding
can do to it, the tolerance the float engines are held to (docs/engines.md).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Collection
from decimal import Decimal, localcontext

from flint import arb

from bpcheck.engines.certified.balls import (
    Undecided,
    Undefined,
    bounds,
    correct_bits,
    working_precision,
)
from bpcheck.engines.certified.network import Record, start, train_step
from bpcheck.model.engine import (
    ALL_CAPABILITIES,
    FLOAT32,
    Availability,
    CannotRun,
    Enclosures,
)
from bpcheck.model.problem import Problem, layer_rate
from bpcheck.model.quantities import Trace

DIGITS_VARIABLE = "BPCHECK_CERTIFIED_DIGITS"
"""Environment variable: the correct significant digits wanted (default :data:`DEFAULT_DIGITS`)."""
BUDGET_VARIABLE = "BPCHECK_CERTIFIED_BUDGET"
"""Environment variable: seconds the engine may spend on one problem (``bpcheck run
--certified-budget`` sets it)."""
DEFAULT_DIGITS = 50
DEFAULT_BUDGET = 30.0
"""Seconds: under the worker's 60-second timeout, above Mazur's 10,000 steps (about 10 s)."""
MAX_BITS = 1 << 13
"""The most bits the engine will try before it reports the digits it could certify."""
MARGIN_BITS = 24
"""Bits added to what the digits need: the rounding of a few dozen operations, and spare."""
FLOAT64_BITS = 53


class OutOfTime(Exception):
    """The run went, or would go, beyond the time budget."""


def _setting(variable: str, default: float) -> float:
    text = os.environ.get(variable, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value > 0 and math.isfinite(value) else default


class CertifiedEngine:
    """Arb ball arithmetic: rigorous enclosures of the exact values, to :attr:`digits` digits."""

    name = "certified"
    version = "1"
    capabilities = ALL_CAPABILITIES - {FLOAT32}
    """Everything but float32: it encloses real numbers, not a float32 computation."""

    def __init__(
        self, digits: int | None = None, budget: float | None = None, max_bits: int = MAX_BITS
    ) -> None:
        self.digits = (
            digits if digits is not None else int(_setting(DIGITS_VARIABLE, DEFAULT_DIGITS))
        )
        self.budget = budget if budget is not None else _setting(BUDGET_VARIABLE, DEFAULT_BUDGET)
        self.max_bits = max_bits
        self.version = f"1, {self.digits} digits"  # what it certifies is part of what it is

    def available(self) -> Availability:
        return Availability(True)

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        """The contract's trace: each value the float64 nearest its certified midpoint."""
        enclosed = self.enclose(problem, record)
        return {
            step: {name: _midpoint(low, high) for name, (low, high) in values.items()}
            for step, values in enclosed.bounds.items()
        }

    def enclose(self, problem: Problem, record: Collection[int]) -> Enclosures:
        """Bounds of every value at the recorded steps, at a precision that certifies them."""
        _check_supported(problem)
        deadline = time.monotonic() + self.budget
        needed = self.digits * math.log2(10)
        bits = math.ceil(needed) + MARGIN_BITS
        worst = -math.inf
        while True:
            try:
                balls = self._train(problem, record, bits, deadline)
            except Undecided as error:
                if bits >= self.max_bits:
                    raise CannotRun(f"cannot decide at {bits} bits: {error}") from None
                bits = min(self.max_bits, 2 * bits)
                continue
            except OutOfTime as error:
                raise CannotRun(f"skipped for time: {error}") from None
            except Undefined as error:
                raise CannotRun(f"no real value to enclose: {error}") from None
            worst, before = _worst(balls), worst
            if worst >= needed or bits >= self.max_bits or not worst > before:
                break  # certified; or as far as it goes; or more bits no longer help
            lost = bits - worst if math.isfinite(worst) else bits
            # the bits this run lost will be lost again: start with them added
            bits = min(
                self.max_bits, max(bits + MARGIN_BITS, math.ceil(needed + lost) + MARGIN_BITS)
            )
        float64 = self._float64_radii(problem, record, deadline)
        shown = self.digits + 5
        return Enclosures(
            bounds={s: {n: bounds(b, shown) for n, b in v.items()} for s, v in balls.items()},
            float64=float64,
            precision=bits,
            digits=min(worst, bits) / math.log2(10),
        )

    def _train(
        self, problem: Problem, record: Collection[int], bits: int, deadline: float
    ) -> dict[int, Record]:
        """Every recorded step's balls, training at ``bits`` bits within the deadline."""
        found: dict[int, Record] = {}
        began = time.monotonic()
        with working_precision(bits):
            params, data = start(problem)
            for number in range(problem.steps + 1):
                last = number == problem.steps
                if number in record:
                    found[number] = train_step(problem, params, data, number, not last, True)
                elif not last:
                    train_step(problem, params, data, number, True, False)
                _watch(began, deadline, number + 1, problem.steps + 1, bits, self.budget)
        return found

    def _float64_radii(
        self, problem: Problem, record: Collection[int], deadline: float
    ) -> dict[int, dict[str, float]]:
        """The radius of every value computed at float64's 53 bits (inf where undecided)."""
        try:
            balls = self._train(problem, record, FLOAT64_BITS, deadline)
        except (Undecided, Undefined):
            return {s: {} for s in record}
        return {s: {n: _radius(b) for n, b in v.items()} for s, v in balls.items()}


def _worst(balls: dict[int, Record]) -> float:
    """The fewest correct bits of any value (values whose ball holds 0 do not count)."""
    found = (correct_bits(b) for v in balls.values() for b in v.values())
    return min((bits for bits in found if bits != -math.inf), default=math.inf)


def _watch(began: float, deadline: float, done: int, total: int, bits: int, budget: float) -> None:
    """OutOfTime when past the deadline, or when the first steps say the rest cannot fit."""
    now = time.monotonic()
    if now > deadline:
        raise OutOfTime(
            f"{now - began:.1f} s for {done} of {total} steps at {bits} bits, "
            f"beyond the budget of {budget:g} s ({BUDGET_VARIABLE})"
        )
    if done in (10, 100, 1000) and total > done:
        projected = (now - began) * total / done
        if began + projected > deadline + budget:  # twice what is left: the estimate is rough
            raise OutOfTime(
                f"{total} steps at {bits} bits would take about {projected:.0f} s, "
                f"beyond the budget of {budget:g} s ({BUDGET_VARIABLE})"
            )


def _radius(ball: arb) -> float:
    """An upper bound of the ball's radius as a float (inf when it is not finite)."""
    if not ball.is_finite():
        return math.inf
    radius = float(ball.rad())
    return math.nextafter(radius, math.inf) if radius else 0.0


def _midpoint(low: str, high: str) -> float:
    with localcontext() as context:
        context.prec = 200
        return float((Decimal(low) + Decimal(high)) / 2)


FLOAT32_REASON = (
    "precision float32: the certified engine encloses the exact real values; "
    "float32's rounding is not what it models"
)


def _check_supported(problem: Problem) -> None:
    """CannotRun for float32, and for a number no decimal prints (an infinity or NaN)."""
    if problem.precision == "float32":
        raise CannotRun(FLOAT32_REASON)
    numbers = [x for row in problem.inputs for x in row]
    numbers += [t for row in problem.targets for t in row] if problem.has_targets else []
    numbers += [problem.momentum, problem.weight_decay]
    if problem.steps:
        numbers += [layer_rate(problem, i) for i in range(len(problem.layers))]
    for layer in problem.layers:
        numbers += [w for row in layer.weights for w in row] + list(layer.bias)
        numbers += [layer.slope, layer.alpha]
    if not all(math.isfinite(x) for x in numbers):
        raise CannotRun("an input or parameter is not a finite number: no decimal to certify")
