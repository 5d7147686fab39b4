"""The ``gradcheck --json`` file: typed records, written and read through one schema.

The records mirror the file field for field (``bpcheck/io/schema/
gradcheck-result-v1.schema.json``), so that what is written and what a reader
gets back are the same values: a float written at full precision reads back
exactly, and a NaN or infinity (JSON has neither) is ``None`` on both sides.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpcheck import __version__
from bpcheck.checking.check import Outcome
from bpcheck.gradcheck.result import GradcheckResult, Row, Status
from bpcheck.io.files import write_atomically
from bpcheck.io.schemas import load_schema, read_checked
from bpcheck.model.fixture import Fixture

SCHEMA_NAME = "gradcheck-result-v1.schema.json"
SCHEMA_ID = f"https://bpcheck.invalid/schema/{SCHEMA_NAME}"
"""What a file's ``"$schema"`` says: the format and its version, for readers to tell apart."""


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    return value if math.isfinite(value) else None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class RowRecord:
    """One row of the file: :class:`~bpcheck.gradcheck.result.Row` with non-finite values None."""

    parameter: str
    engine: float | None
    reference: float | None
    abs_error: float | None
    rel_error: float | None
    tolerance: float | None
    status: Status
    one_sided: tuple[float | None, float | None] | None

    @classmethod
    def of(cls, row: Row) -> RowRecord:
        sides = row.one_sided
        return cls(
            row.parameter,
            _finite(row.engine_value),
            _finite(row.reference),
            _finite(row.abs_error),
            _finite(row.rel_error),
            _finite(row.tolerance),
            row.status,
            None if sides is None else (_finite(sides[0]), _finite(sides[1])),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "engine": self.engine,
            "reference": self.reference,
            "abs_error": self.abs_error,
            "rel_error": self.rel_error,
            "tolerance": self.tolerance,
            "status": self.status,
            "one_sided": None if self.one_sided is None else list(self.one_sided),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RowRecord:
        one_sided = data["one_sided"]
        return cls(
            data["parameter"],
            _number(data["engine"]),
            _number(data["reference"]),
            _number(data["abs_error"]),
            _number(data["rel_error"]),
            _number(data["tolerance"]),
            Status(data["status"]),
            None if one_sided is None else (_number(one_sided[0]), _number(one_sided[1])),
        )


@dataclass(frozen=True)
class CheckRecord:
    """One gradient check in the file: one engine at one step of one fixture."""

    fixture: str
    path: str
    engine: str
    step: int
    method: str
    outcome: Outcome
    reason: str | None
    worst_relative_error: float | None
    rows: tuple[RowRecord, ...]

    @classmethod
    def of(cls, fixture: Fixture, result: GradcheckResult) -> CheckRecord:
        return cls(
            fixture.id,
            str(fixture.path),
            result.engine,
            result.step,
            result.method,
            result.outcome,
            result.reason,
            _finite(result.worst_relative_error),
            tuple(RowRecord.of(row) for row in result.rows),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "fixture": self.fixture,
            "path": self.path,
            "engine": self.engine,
            "step": self.step,
            "method": self.method,
            "outcome": self.outcome,
            "reason": self.reason,
            "worst_relative_error": self.worst_relative_error,
            "rows": [row.to_json() for row in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckRecord:
        return cls(
            data["fixture"],
            data["path"],
            data["engine"],
            data["step"],
            data["method"],
            Outcome(data["outcome"]),
            data["reason"],
            _number(data["worst_relative_error"]),
            tuple(RowRecord.from_json(row) for row in data["rows"]),
        )


@dataclass(frozen=True)
class GradcheckRun:
    """A whole ``gradcheck --json`` file: who wrote it, and every check in the order run."""

    bpcheck: str
    checks: tuple[CheckRecord, ...]

    @classmethod
    def of(cls, entries: Iterable[tuple[Fixture, GradcheckResult]]) -> GradcheckRun:
        """The file for these results, as this version of bpcheck writes it."""
        return cls(__version__, tuple(CheckRecord.of(f, r) for f, r in entries))

    def to_json(self) -> dict[str, Any]:
        return {
            "$schema": SCHEMA_ID,
            "bpcheck": self.bpcheck,
            "gradcheck": [check.to_json() for check in self.checks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GradcheckRun:
        """Records from a document that satisfies the schema (see :func:`schema`)."""
        return cls(data["bpcheck"], tuple(CheckRecord.from_json(c) for c in data["gradcheck"]))


def schema() -> dict[str, Any]:
    """The JSON Schema of the file."""
    return load_schema(SCHEMA_NAME)


def write_gradcheck_results(path: Path, run: GradcheckRun) -> None:
    """Write ``run`` as JSON (floats at full precision), atomically; BadInput if it cannot be."""
    write_atomically(path, json.dumps(run.to_json(), indent=1) + "\n", "--json")


def read_gradcheck_results(path: Path) -> GradcheckRun:
    """The records of a ``gradcheck --json`` file.

    Raises :class:`~bpcheck.errors.BadInput` with one line, ``FILE: LOCATION:
    what was expected``, for a file that cannot be read or breaks the schema.
    """
    return GradcheckRun.from_json(read_checked(path, schema()))
