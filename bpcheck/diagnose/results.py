"""The ``diagnose --json`` contract as types: written by ``bpcheck diagnose``, read back here.

The contract is published as ``bpcheck/io/schema/diagnose-result-v1.schema.json``.
Writing checks the document against it (a bpcheck bug must not produce a file
its own reader refuses); :func:`read_diagnose_result` checks a file against it
before building these dataclasses, and reports every problem, one line each.
Field names are the JSON's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpcheck.diagnose.diagnosis import Candidate, Erratum
from bpcheck.errors import BadInput, InputError
from bpcheck.io.files import write_atomically
from bpcheck.io.limits import from_environment
from bpcheck.io.schemas import describe, load_schema, location
from bpcheck.io.strict_json import UnreadableJson, read_json
from bpcheck.io.validator import validator
from bpcheck.model.verdicts import Verdict

SCHEMA_NAME = "diagnose-result-v1.schema.json"


@dataclass(frozen=True)
class Explanation:
    """Variants that together turn a printed number into a match, and their evidence."""

    variants: tuple[str, ...]
    gained: int
    """Printed numbers of the fixture that become a match, this one included."""
    broken: int
    """Printed numbers of the fixture that were a match and are no longer."""
    detail: str = ""
    """The formula slip or the rounded chain, as a reader writes it."""
    reproduces: tuple[str, ...] = ()
    """The claims it turns into matches (``gained`` of them)."""
    contradicts: tuple[str, ...] = ()
    """The claims it turns from matches into non-matches (``broken`` of them)."""
    weak: bool = False
    """Backed by no printed number of another quantity."""
    chance: float | None = None
    """How often its family would hit random digit noise as well (None: not estimated)."""

    @classmethod
    def of(cls, erratum: Erratum, candidate: Candidate) -> Explanation:
        return cls(
            candidate.variants,
            candidate.gained,
            candidate.broken,
            candidate.detail,
            candidate.reproduces,
            candidate.contradicts,
            erratum.weak(candidate),
            candidate.chance,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "variants": list(self.variants),
            "gained": self.gained,
            "broken": self.broken,
            "detail": self.detail,
            "reproduces": list(self.reproduces),
            "contradicts": list(self.contradicts),
            "weak": self.weak,
            "chance": self.chance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Explanation:
        """Fields added after the first version of the schema are optional when read."""
        chance = data.get("chance")
        return cls(
            tuple(data["variants"]),
            data["gained"],
            data["broken"],
            data.get("detail", ""),
            tuple(data.get("reproduces", ())),
            tuple(data.get("contradicts", ())),
            bool(data.get("weak", False)),
            None if chance is None else float(chance),
        )


@dataclass(frozen=True)
class ErratumRecord:
    """A printed number that is not a match, and what reproduces it (best first)."""

    claim: str
    quantity: str
    step: int
    printed: str
    value: float
    verdict: Verdict
    accepted: str | None
    """The fixture's recorded diagnosis, if it records one."""
    explanations: tuple[Explanation, ...]

    @classmethod
    def of(cls, erratum: Erratum) -> ErratumRecord:
        claim = erratum.claim
        assert claim.printed is not None, "an erratum is a printed claim"
        return cls(
            claim=claim.id,
            quantity=claim.canonical,
            step=claim.step,
            printed=claim.printed,
            value=erratum.value,
            verdict=erratum.verdict,
            accepted=claim.diagnosis,
            explanations=tuple(Explanation.of(erratum, c) for c in erratum.explanations),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "quantity": self.quantity,
            "step": self.step,
            "printed": self.printed,
            "value": self.value,
            "verdict": str(self.verdict),
            "accepted": self.accepted,
            "explanations": [e.to_json() for e in self.explanations],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ErratumRecord:
        return cls(
            claim=data["claim"],
            quantity=data["quantity"],
            step=data["step"],
            printed=data["printed"],
            value=float(data["value"]),  # a hand-written file may hold 1 for 1.0
            verdict=Verdict(data["verdict"]),
            accepted=data["accepted"],
            explanations=tuple(Explanation.from_json(e) for e in data["explanations"]),
        )


@dataclass(frozen=True)
class FixtureDiagnosis:
    """One fixture's errata, and why the search stopped short if it did."""

    fixture: str
    errata: tuple[ErratumRecord, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "fixture": self.fixture,
            "errata": [e.to_json() for e in self.errata],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FixtureDiagnosis:
        errata = tuple(ErratumRecord.from_json(e) for e in data["errata"])
        return cls(data["fixture"], errata, tuple(data.get("notes", ())))


@dataclass(frozen=True)
class DiagnoseResult:
    """A whole ``bpcheck diagnose``: every fixture with a printed number that is not a match."""

    diagnoses: tuple[FixtureDiagnosis, ...]

    def to_json(self) -> dict[str, Any]:
        return {"$schema": SCHEMA_NAME, "diagnoses": [d.to_json() for d in self.diagnoses]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiagnoseResult:
        """From a document that satisfies the schema (see :func:`read_diagnose_result`)."""
        return cls(tuple(FixtureDiagnosis.from_json(d) for d in data["diagnoses"]))


def schema() -> dict[str, Any]:
    return load_schema(SCHEMA_NAME)


def schema_problems(where: str, document: Any) -> list[InputError]:
    """Every way ``document`` breaks the schema, one per line, in document order."""
    errors = sorted(validator(schema()).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [InputError(where, location(e.absolute_path), describe(e)) for e in errors]


def read_diagnose_result(path: Path) -> DiagnoseResult:
    """A ``diagnose --json`` file; :class:`~bpcheck.errors.BadInput`, a line per problem, if wrong.

    Read strictly (:mod:`bpcheck.io.strict_json`); NaN and infinities are accepted:
    a value is what the engine computed, and an engine that diverges computes them.
    """
    try:
        document = read_json(path, from_environment().bytes, non_finite=True)
    except UnreadableJson as error:
        raise BadInput([error.problem]) from None
    problems = schema_problems(str(path), document)
    if problems:
        raise BadInput(problems)
    return DiagnoseResult.from_json(document)


def write_diagnose_result(path: Path, result: DiagnoseResult) -> None:
    """Write ``result`` as ``diagnose --json`` does, after checking it against the schema."""
    document = result.to_json()
    problems = schema_problems(str(path), document)
    if problems:  # a bug in bpcheck, not in the user's input
        raise ValueError(f"diagnose results that break {SCHEMA_NAME}: {problems[0]}")
    write_atomically(path, json.dumps(document, indent=1) + "\n", "--json")
