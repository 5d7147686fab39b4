"""Printed numbers added to a fixture as claims, each with the verdict the engines find.

``bpcheck claim`` runs the engines at once, so an author sees which of their
numbers are wrong while the document is still open beside them.  A number that
is not a ``match`` may be the author's typo as well as the document's slip, so
its claim gets a placeholder note (:mod:`bpcheck.io.placeholders`) that every
command checking fixtures refuses until a person has looked and written the cause
(or the author gives the cause with ``--note``).  A quantity claimed twice at the
same step is most likely a slip of the author too: refused unless asked for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcheck.authoring.fixture_file import dumps_fixture
from bpcheck.checking.cache import warm
from bpcheck.checking.check import ClaimResult, check_fixture, trained_as_far_as
from bpcheck.errors import BadInput, InputError
from bpcheck.io import placeholders
from bpcheck.io.loader import load, load_document
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture


@dataclass
class NewClaim:
    """One claim added, as stored in the file, and how the engines judged it."""

    stored: dict[str, Any]
    result: ClaimResult

    @property
    def computed(self) -> bool:
        return self.result.verdict is not None

    @property
    def needs_a_note(self) -> bool:
        """Its note is the placeholder: nobody has said yet why the number differs."""
        return placeholders.is_placeholder(self.stored.get("note"))


@dataclass
class Claimed:
    """The fixture document with the new claims in it, and what the engines said."""

    document: dict[str, Any]
    claims: list[NewClaim] = field(default_factory=list)
    disagreements: int = 0


def parse_assignment(path: Path, text: str) -> tuple[str, str]:
    """``"w5=0.35891648"`` -> ("w5", "0.35891648"): the name and the number as printed."""
    name, sep, printed = text.partition("=")
    if not sep or not name.strip() or not printed.strip():
        expected = (
            f"expected a name, '=' and the number printed (e.g. w5=0.35891648), found {text!r}"
        )
        raise BadInput([InputError(str(path), "NAME=PRINTED", expected)])
    return name.strip(), printed.strip()


def unique_id(wanted: str, taken: set[str], step: int) -> str:
    """A claim id from the name, ``-after-STEP`` for later steps, numbered when taken.

    Characters an id cannot hold become one ``-`` each run, none at either end:
    ``delta[2,1]`` is ``delta-2-1``.
    """
    base = wanted if step == 0 else f"{wanted}-after-{step}"
    base = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "_.'-" else "-" for ch in base)
    base = "-".join(part for part in base.split("-") if part) or "claim"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def add_claims(
    path: Path,
    assignments: Sequence[str],
    engines: dict[str, Engine],
    *,
    where: str = "",
    step: int = 0,
    note: str = "",
    again: bool = False,
) -> Claimed:
    """Judge each ``NAME=PRINTED`` of ``step`` as a new claim of the fixture at ``path``.

    ``note``: the note of every new claim (the cause, when the author knows a number
    differs); without one, a claim that is not a match gets a placeholder note.
    ``again``: allow a quantity already claimed at ``step`` to be claimed again.
    The file is not written: the caller writes ``document`` (with
    :func:`~bpcheck.authoring.fixture_file.write_fixture`) once it has seen that
    every new claim could be computed.  Raises BadInput when the fixture, an
    assignment or a new claim is wrong (the fixture's own placeholders are no error).
    """
    if placeholders.is_placeholder(note):
        raise BadInput([InputError(str(path), "--note", "expected the cause, not a placeholder")])
    load(path, drafts=True)
    document = json.loads(path.read_text("utf-8"))
    pairs = [parse_assignment(path, a) for a in assignments]
    taken = {c["id"] for c in document["claims"]}
    new_claims: list[dict[str, Any]] = []
    for name, printed in pairs:
        claim_id = unique_id(name, taken, step)
        taken.add(claim_id)
        new_claims.append(
            {
                "id": claim_id,
                "quantity": name,
                "step": step,
                "printed": printed,
                "where": where,
                "expect": "match",
                **({"note": note} if note else {}),
            }
        )
    trial = dict(document, claims=[*document["claims"], *new_claims])
    fixture = load_trial(path, trial)
    if not again:
        refuse_repeats(path, fixture, [(name, printed) for name, printed in pairs])
    record = fixture.recorded_steps()
    warm(engines, trained_as_far_as(fixture.problem, record), record)  # load side by side
    results = check_fixture(fixture, engines)  # behind a cache, only the new steps are computed
    found = {r.claim.id: r for r in results.claims}
    claimed = Claimed(trial, disagreements=len(results.disagreements))
    for claim in new_claims:
        result = found[claim["id"]]
        if result.verdict is not None:
            record_verdict(claim, result)
        claimed.claims.append(NewClaim(claim, result))
    return claimed


def add_unsupported(
    path: Path, assignments: Sequence[str], reason: str, *, where: str = ""
) -> dict[str, Any]:
    """The fixture document at ``path`` with each ``LABEL=PRINTED`` as an unsupported claim.

    A number the document prints that bpcheck cannot compute (a velocity, an accuracy):
    kept as printed with ``reason``, no quantity and no verdict, so the coverage table
    counts it as printed but not encoded.  ``LABEL`` gives the claim's id.  Nothing is
    run; the file is not written (the caller writes the document).  Raises BadInput when
    the fixture, an assignment or the reason is wrong.
    """
    if not reason.strip() or placeholders.is_placeholder(reason):
        message = "expected why bpcheck cannot compute the numbers"
        raise BadInput([InputError(str(path), "--unsupported", message)])
    load(path, drafts=True)
    document = json.loads(path.read_text("utf-8"))
    taken = {c["id"] for c in document["claims"]}
    new_claims = []
    for label, printed in (parse_assignment(path, a) for a in assignments):
        claim_id = unique_id(label, taken, 0)
        taken.add(claim_id)
        new_claims.append(
            {"id": claim_id, "printed": printed, "where": where, "unsupported": reason.strip()}
        )
    trial = dict(document, claims=[*document["claims"], *new_claims])
    load_trial(path, trial)
    return trial


def load_trial(path: Path, document: dict[str, Any]) -> Fixture:
    """The fixture ``document`` would be, checked by the loader as if it were ``path``.

    Checked in memory, after a round trip through the JSON text that would be written,
    so nothing is written until the claims are judged; problems are reported against
    ``path``.
    """
    trial = json.loads(dumps_fixture(document))
    return load_document(path, trial, drafts=True)


def refuse_repeats(path: Path, fixture: Fixture, pairs: list[tuple[str, str]]) -> None:
    """BadInput when a new claim's quantity (alias or canonical name) is already claimed at
    its step, by the fixture or by an earlier assignment of the same command."""
    new = fixture.claims[len(fixture.claims) - len(pairs) :]
    first: dict[tuple[str, int], str] = {}
    for claim in fixture.claims[: len(fixture.claims) - len(pairs)]:
        if claim.printed is not None and claim.relation is None:
            first.setdefault((claim.canonical, claim.step), f"claim {claim.id!r}")
    problems = []
    for claim, (name, printed) in zip(new, pairs, strict=True):
        key = (claim.canonical, claim.step)
        if key in first:
            message = (
                f"{name} at step {claim.step} is already {first[key]}; expected a quantity "
                "not claimed yet (--again claims it once more)"
            )
            problems.append(InputError(str(path), f"{name}={printed}", message))
        first.setdefault(key, f"claimed by {name}={printed} before it")
    if problems:
        raise BadInput(problems)


def record_verdict(claim: dict[str, Any], result: ClaimResult) -> None:
    """Store the verdict found; anything but a match needs its cause, from the author."""
    claim["expect"] = result.verdict
    if result.verdict != "match" and not claim.get("note"):
        computed = math.nan if result.reference is None else result.reference
        claim["note"] = placeholders.note(claim["printed"], str(result.verdict), computed)
