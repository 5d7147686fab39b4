"""What a gradient check finds: one row per parameter, one result per engine and step.

These hold floats as computed (a diverging engine's NaN or infinity included);
:mod:`bpcheck.gradcheck.result_file` turns them into what ``gradcheck --json``
writes.  A result ends with the :class:`~bpcheck.checking.check.Outcome` that
``bpcheck run`` uses: ``ok``, ``failed``, ``errored`` (the engine raised, or its
trace lacked a gradient) or ``skipped`` (it cannot run the problem, or there is
no reference: NumPy missing, overflow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from bpcheck.checking.check import Outcome


class Status(StrEnum):
    """How one row ended (a StrEnum: ``Status.PASS == "pass"``)."""

    PASS = "pass"
    FAIL = "fail"
    KINK = "kink"
    """The loss is not differentiable there (a relu at 0): neither passed nor failed."""


@dataclass(frozen=True)
class Row:
    """One parameter (or, for a directional check, one direction) checked.

    ``tolerance`` is absolute, in the units of the gradient: the row passes when
    ``abs_error <= tolerance``.  ``rel_error`` is ``abs_error`` over the larger of
    the two magnitudes (0 when both are 0).  A ``kink`` carries the one-sided
    derivatives ``(left, right)`` of the loss at the parameter.
    """

    parameter: str
    engine_value: float
    reference: float
    abs_error: float
    rel_error: float
    tolerance: float
    status: Status
    one_sided: tuple[float, float] | None = None


@dataclass
class GradcheckResult:
    """One engine's gradient checked at one step of one problem."""

    engine: str
    step: int
    method: str
    rows: list[Row]
    outcome: Outcome
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.OK

    @property
    def worst_relative_error(self) -> float:
        """The largest relative error over rows that are not kinks (0.0 when there is none)."""
        errors = [r.rel_error for r in self.rows if r.status != Status.KINK]
        return max(errors, default=0.0)


def make_row(
    parameter: str,
    engine_value: float,
    reference: float,
    tolerance: float,
    one_sided: tuple[float, float] | None = None,
) -> Row:
    """A row with its errors and status; a non-finite value always fails."""
    abs_error = abs(engine_value - reference)
    scale = max(abs(engine_value), abs(reference))
    rel_error = abs_error / scale if scale > 0 else (0.0 if abs_error == 0 else math.inf)
    if one_sided is not None:
        status = Status.KINK
    elif math.isfinite(abs_error) and math.isfinite(tolerance) and abs_error <= tolerance:
        status = Status.PASS
    else:
        status = Status.FAIL
    return Row(
        parameter, engine_value, reference, abs_error, rel_error, tolerance, status, one_sided
    )


def outcome_of(rows: list[Row]) -> Outcome:
    return Outcome.FAILED if any(r.status == Status.FAIL for r in rows) else Outcome.OK
