"""The ``run --json`` contract as types: written by ``bpcheck run``, read by compare and report.

The contract is published as ``bpcheck/io/schema/run-result-v1.schema.json``.
Writing checks the document against it (a bpcheck bug must not produce a file
its own readers refuse); reading checks the file against it before building
these dataclasses, so a wrong file is one line and the code after it indexes
freely.  Field names are the JSON's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcheck.checking.check import OK, Outcome
from bpcheck.checking.tally import Counts
from bpcheck.io.files import write_atomically
from bpcheck.io.schemas import first_problem, load_schema, read_checked

SCHEMA_NAME = "run-result-v1.schema.json"


NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
"""How NaN and the infinities are written: strict JSON has no number for them."""


def _number(value: float | str | None) -> float | None:
    """float64 (a hand-written file may hold ``1`` where bpcheck writes ``1.0``)."""
    return None if value is None else _float(value)


def _float(value: float | str) -> float:
    return NON_FINITE[value] if isinstance(value, str) else float(value)


def _json_number(value: float | None) -> float | str | None:
    """``value`` for strict JSON: NaN and infinities as the strings of :data:`NON_FINITE`."""
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


@dataclass
class EngineInfo:
    """An engine asked to run: its version, and why it could not, if it could not."""

    version: str | None
    available: bool
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "available": self.available, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineInfo:
        return cls(data["version"], data["available"], data["reason"])


@dataclass
class OperandRecord:
    """One side of a relation: a canonical quantity at a step."""

    quantity: str
    step: int

    def to_json(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "step": self.step}


@dataclass
class RelationRecord:
    left: OperandRecord
    op: str
    right: OperandRecord

    def to_json(self) -> dict[str, Any]:
        return {"left": self.left.to_json(), "op": self.op, "right": self.right.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RelationRecord:
        left, right = data["left"], data["right"]
        return cls(
            OperandRecord(left["quantity"], left["step"]),
            data["op"],
            OperandRecord(right["quantity"], right["step"]),
        )


@dataclass
class ClaimRecord:
    """One claim judged: the printed number, each engine's value and outcome, the verdict."""

    id: str
    quantity: str
    """The canonical quantity (``out[1,1]``); empty for a relation."""
    alias: str | None
    """The name the fixture uses, when it is not the canonical one."""
    step: int
    printed: str | None
    expected: str | None
    """The verdict the fixture expects; None for a pinned value."""
    verdict: str | None
    """The verdict found with the reference engine's value."""
    value: float | None
    """The reference engine's value: the first engine with one."""
    values: dict[str, float | None]
    outcomes: dict[str, Outcome]
    outcome: Outcome
    message: str
    where: str
    note: str
    diagnosis: str | None
    pinned: str | None = None
    relation: RelationRecord | None = None
    ulps: dict[str, float] = field(default_factory=dict)
    """Each float engine's error in ULPs of the certified value (when an engine certified it)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "quantity": self.quantity,
            "alias": self.alias,
            "step": self.step,
            "printed": self.printed,
            "expected": self.expected,
            "verdict": self.verdict,
            "value": _json_number(self.value),
            "values": {name: _json_number(v) for name, v in self.values.items()},
            "outcomes": dict(self.outcomes),
            "outcome": self.outcome,
            "message": self.message,
            "where": self.where,
            "note": self.note,
            "diagnosis": self.diagnosis,
        }
        if self.pinned is not None:
            data["pinned"] = self.pinned
        if self.relation is not None:
            data["relation"] = self.relation.to_json()
        if self.ulps:
            data["ulps"] = {name: _json_number(u) for name, u in self.ulps.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClaimRecord:
        relation = data.get("relation")
        return cls(
            id=data["id"],
            quantity=data["quantity"],
            alias=data["alias"],
            step=data["step"],
            printed=data["printed"],
            expected=data["expected"],
            verdict=data["verdict"],
            value=_number(data["value"]),
            values={name: _number(v) for name, v in data["values"].items()},
            outcomes={name: Outcome(o) for name, o in data["outcomes"].items()},
            outcome=Outcome(data["outcome"]),
            message=data["message"],
            where=data["where"],
            note=data["note"],
            diagnosis=data["diagnosis"],
            pinned=data.get("pinned"),
            relation=None if relation is None else RelationRecord.from_json(relation),
            ulps={name: _float(u) for name, u in data.get("ulps", {}).items()},
        )


@dataclass
class RunRecord:
    """What one engine did with one fixture."""

    outcome: Outcome
    reason: str | None
    precision: int | None = None
    """Bits of working precision, for an engine that certified its values."""
    digits: float | None = None
    """The correct significant digits it certified (its least accurate value's)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outcome": self.outcome, "reason": self.reason}
        if self.precision is not None:
            data["precision"] = self.precision
        if self.digits is not None:
            data["digits"] = _json_number(self.digits)
        return data


@dataclass
class DisagreementRecord:
    """A quantity on which the engines differ beyond the agreement tolerance."""

    quantity: str
    step: int
    values: dict[str, float]
    tolerance: float

    def to_json(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "step": self.step,
            "values": {name: _json_number(v) for name, v in self.values.items()},
            "tolerance": self.tolerance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DisagreementRecord:
        values = {name: _float(v) for name, v in data["values"].items()}
        return cls(data["quantity"], data["step"], values, float(data["tolerance"]))


@dataclass
class FixtureRecord:
    """One fixture checked: where it comes from, each engine's run, every claim."""

    id: str
    title: str
    path: str
    source: dict[str, str]
    """``document`` and, if the fixture says, ``where`` and ``notes``."""
    outcome: Outcome
    runs: dict[str, RunRecord]
    claims: list[ClaimRecord]
    disagreements: list[DisagreementRecord]

    @property
    def counts(self) -> Counts:
        """Its claims by kind and verdict found, and how many ended as expected."""
        return Counts.of(self.claims, len(self.disagreements))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "path": self.path,
            "source": dict(self.source),
            "outcome": self.outcome,
            "runs": {name: run.to_json() for name, run in self.runs.items()},
            "claims": [claim.to_json() for claim in self.claims],
            "disagreements": [d.to_json() for d in self.disagreements],
            "counts": self.counts.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FixtureRecord:
        """From a document that satisfies the schema; ``counts`` is derived, not read."""
        return cls(
            id=data["id"],
            title=data["title"],
            path=data["path"],
            source=dict(data["source"]),
            outcome=Outcome(data["outcome"]),
            runs={
                name: RunRecord(
                    Outcome(run["outcome"]),
                    run["reason"],
                    run.get("precision"),
                    None if run.get("digits") is None else _float(run["digits"]),
                )
                for name, run in data["runs"].items()
            },
            claims=[ClaimRecord.from_json(claim) for claim in data["claims"]],
            disagreements=[DisagreementRecord.from_json(d) for d in data["disagreements"]],
        )


@dataclass
class RunResult:
    """A whole ``bpcheck run``: the bpcheck version, the engines, every fixture."""

    bpcheck: str
    engines: dict[str, EngineInfo]
    fixtures: list[FixtureRecord]

    @property
    def counts(self) -> Counts:
        """The counts of every fixture added up."""
        return sum((f.counts for f in self.fixtures), Counts())

    def to_json(self) -> dict[str, Any]:
        failed = sum(f.outcome != OK for f in self.fixtures)
        return {
            "$schema": SCHEMA_NAME,
            "bpcheck": self.bpcheck,
            "engines": {name: engine.to_json() for name, engine in self.engines.items()},
            "fixtures": [fixture.to_json() for fixture in self.fixtures],
            "counts": {
                "fixtures": len(self.fixtures),
                "fixtures_not_ok": failed,
                **self.counts.to_json(),
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        """From a document that satisfies the schema (see :func:`read_run_result`)."""
        return cls(
            bpcheck=data["bpcheck"],
            engines={name: EngineInfo.from_json(e) for name, e in data["engines"].items()},
            fixtures=[FixtureRecord.from_json(f) for f in data["fixtures"]],
        )


def schema() -> dict[str, Any]:
    return load_schema(SCHEMA_NAME)


def read_run_result(path: Path) -> RunResult:
    """A ``run --json`` file; :class:`bpcheck.errors.BadInput` with one line if it is wrong."""
    return RunResult.from_json(read_checked(path, schema()))


def write_run_result(path: Path, result: RunResult) -> None:
    """Write ``result`` as ``run --json`` does, after checking it against the published schema."""
    document = result.to_json()
    problem = first_problem(document, schema())
    if problem is not None:  # a bug in bpcheck, not in the user's input
        raise ValueError(f"run results that break {SCHEMA_NAME}: {': '.join(problem)}")
    write_atomically(path, json.dumps(document, indent=1, allow_nan=False) + "\n", "--json")
