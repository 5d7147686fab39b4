"""Loading fixtures: JSON in, a :class:`~bpcheck.model.fixture.Fixture` out, or clear errors.

The file is read strictly (:mod:`bpcheck.io.strict_json`: a regular file within
the size limit, no duplicate keys, finite numbers of sane length, no deep
nesting).  Structure is checked by the JSON Schema (the one source of truth for
it, read as an editor reads it: :mod:`bpcheck.io.validator`); then the limits of
:mod:`bpcheck.io.limits` (steps, layers, parameters), and what a schema cannot
say (shapes that fit together, names that exist, ids that are unique).  Every
problem becomes one line ``FILE: LOCATION: what was expected``; nothing here
ever evaluates fixture text, and nothing accepted here makes a command crash or
hang later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from bpcheck.errors import BadInput, InputError
from bpcheck.io import limits as input_limits
from bpcheck.io.hints import close_match, hint
from bpcheck.io.json_positions import location
from bpcheck.io.placeholders import placeholder_errors
from bpcheck.io.problem_data import build_problem, limit_errors, problem_errors
from bpcheck.io.strict_json import UnreadableJson, read_text
from bpcheck.io.strict_json import parse as parse_json
from bpcheck.io.validator import validator
from bpcheck.model import quantities as q
from bpcheck.model.diagnoses import DIAGNOSIS_SEPARATOR, VARIANT_NAMES
from bpcheck.model.fixture import Claim, Fixture, Operand, Relation
from bpcheck.model.problem import Problem, batch_of_step, epoch_batches
from bpcheck.model.verdicts import is_decimal_number, printed_problem

SCHEMA_NAME = "fixture-v1.schema.json"

__all__ = [
    "SCHEMA_NAME",
    "FixtureError",
    "build_problem",
    "fixture_paths",
    "limit_errors",
    "load",
    "load_all",
    "load_document",
    "problem_errors",
    "read_json",
    "schema",
    "schema_errors",
]


class FixtureError(BadInput):
    """A fixture (or several) could not be loaded; ``errors`` says why, one line each."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__(errors)
        self.errors = errors


@cache
def schema() -> dict[str, Any]:
    text = resources.files("bpcheck.io").joinpath("schema", SCHEMA_NAME).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# --- reading JSON ------------------------------------------------------------------


def read_json(path: Path, limits: input_limits.Limits | None = None) -> Any:
    """The file's JSON, read strictly; :class:`FixtureError` with one line if it cannot be.

    NaN, Infinity and numbers that overflow a float64 are errors, not values.
    """
    limits = limits or input_limits.from_environment()
    try:
        return parse_json(read_text(path, limits.bytes), str(path))
    except UnreadableJson as error:
        raise FixtureError([error.problem]) from None


# --- structure: the schema ------------------------------------------------------------


def _known_properties(error: jsonschema.ValidationError) -> list[str]:
    properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(properties)


EXPECTED = {
    "batch": "'full', 'per_sample' or a mini-batch size (an integer from 1)",
    "objective": "'output k' for output k (1-based), such as 'output 1'",
}
"""What a field takes, for a value that fits none of its kinds or not its pattern."""


def _describe(error: jsonschema.ValidationError) -> str:
    """A schema error as a user-facing sentence, with a spelling hint for unknown fields."""
    field = error.absolute_path[-1] if error.absolute_path else None
    if error.validator in ("anyOf", "pattern") and field in EXPECTED:
        return f"expected {EXPECTED[str(field)]}, found {json.dumps(error.instance)[:60]}"
    if error.validator == "enum" and field == "loss" and error.instance == "output":
        return (
            "unknown loss 'output'; for the gradient of one output, with no loss, write "
            '"objective": "output k" instead of "loss"'
        )
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = _known_properties(error)
        extra = [key for key in error.instance if key not in known]
        hints = []
        for key in extra:
            hints.append(f"unknown field {key!r}{hint(key, known)}")
        return "; ".join(hints) + f"; expected only {', '.join(known)}"
    if error.validator == "required":
        return f"missing field: {error.message.split(' is a required')[0]}"
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in error.validator_value)
        found = hint(str(error.instance), [str(v) for v in error.validator_value])
        return f"unknown value {error.instance!r}{found}; expected one of {options}"
    if error.validator == "type":
        return f"expected {error.validator_value}, found {json.dumps(error.instance)[:60]}"
    if error.validator == "not" and isinstance(error.instance, dict):
        return _excluded(error.validator_value, error.instance)
    return str(error.message)


def _excluded(forbidden: Any, instance: dict[str, Any]) -> str:
    """``"not": {"anyOf": [{"required": [...]}, ...]}``: the fields that do not go together."""
    branches = forbidden.get("anyOf", [forbidden]) if isinstance(forbidden, dict) else []
    fields = [name for branch in branches for name in branch.get("required", [])]
    present = [name for name in fields if name in instance]
    found = ", ".join(repr(name) for name in present) or "field it excludes"
    kind = next((k for k in ("relation", "unsupported") if k in instance), None)
    return f"expected no {found} in a claim with {kind!r}" if kind else f"expected no {found}"


def _leaf_errors(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """The most specific errors: an ``anyOf`` failure is explained by its best branch.

    A single value that fits none of several kinds (``"batch": 0``) is explained by
    what the field takes, not by one kind it is not.
    """
    if error.context and not isinstance(error.instance, dict | list):
        yield error
        return
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            yield from _leaf_errors(best)
            return
    yield error


def schema_errors(path: str, document: Any) -> list[InputError]:
    errors = validator(schema()).iter_errors(document)
    leaves = [
        leaf
        for error in sorted(errors, key=lambda e: list(e.absolute_path))
        for leaf in _leaf_errors(error)
    ]
    errors = []
    for leaf in leaves:
        if not _explained_by_a_misspelling(leaf, leaves):
            errors.append(InputError(path, location(leaf.absolute_path), _describe(leaf)))
    return errors


def _explained_by_a_misspelling(
    error: jsonschema.ValidationError, others: list[jsonschema.ValidationError]
) -> bool:
    """A missing field is not news when the same object has it misspelt (``prnted``)."""
    if error.validator != "required":
        return False
    missing = error.message.split("'")[1]
    for other in others:
        if other.validator == "additionalProperties" and other.absolute_path == error.absolute_path:
            extra = [key for key in other.instance if key not in _known_properties(other)]
            if any(close_match(key, [missing]) for key in extra):
                return True
    return False


# --- names: aliases and canonical names ---------------------------------------------


class _Names:
    """Resolves aliases and canonical names against one problem.

    Whether a name exists is read from its indices (:func:`bpcheck.model.quantities.
    is_name_at_step`); the names are only listed, a few thousand at most, for a hint.
    """

    def __init__(self, problem: Problem, aliases: dict[str, str]) -> None:
        self.problem = problem
        self.aliases = aliases

    def exists(self, canonical: str, step: int) -> bool:
        return q.is_name_at_step(self.problem, canonical, step)

    def hint(self, name: str, step: int, *, aliases: bool = True) -> str:
        """`` (did you mean 'x'?)`` from the aliases, the step's names and the sample's names."""
        sample = q.split_sample(q.normalize(name))[1]
        batch = batch_of_step(self.problem, step)
        index = sample - 1 if sample is not None and sample - 1 in batch else batch[0]
        return hint(
            name,
            self.aliases if aliases else (),
            q.step_names(self.problem, extended=True, updating=q.updates_at(self.problem, step)),
            q.sample_names(self.problem, index + 1, extended=True),
        )

    def canonical(self, name: str) -> str:
        """Alias or canonical name to canonical; ``out_h1@2`` is alias ``out_h1`` for sample 2."""
        base, at, sample = name.partition("@")
        if at and base in self.aliases:
            return f"{q.split_sample(self.aliases[base])[0]}@{sample}"
        return q.normalize(self.aliases.get(name, name))

    def problem_with(self, name: str, step: int, what: str) -> str | None:
        """Why ``name`` cannot be looked up at ``step``, or None if it can."""
        if step > self.problem.steps:
            return f"expected a step from 0 to {self.problem.steps} (problem.steps), found {step}"
        if self.exists(self.canonical(name), step):
            return None
        return (
            f"unknown {what} {name!r}{self.hint(name, step)}; "
            "expected an alias of this fixture or a canonical name"
        )


def build_claims(
    path: str, data: list[dict[str, Any]], names: _Names
) -> tuple[list[Claim], list[InputError]]:
    claims: list[Claim] = []
    errors: list[InputError] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data):
        where = f"$.claims[{index}]"
        if item["id"] in seen:
            message = f"duplicate claim id {item['id']!r} (first at $.claims[{seen[item['id']]}])"
            errors.append(InputError(path, f"{where}.id", message))
        seen.setdefault(item["id"], index)
        claim_errors = _claim_errors(path, where, item, names)
        errors.extend(claim_errors)
        if not claim_errors:
            claims.append(_claim(item, names, index))
    return claims, errors


def _claim_errors(path: str, where: str, item: dict[str, Any], names: _Names) -> list[InputError]:
    errors: list[InputError] = []
    for field, kind in (("printed", "as printed"), ("pinned", "at full precision (%.17g)")):
        text = item.get(field)
        problem = None if text is None else _number_problem(field, text)
        if text is not None and problem is not None:
            shown = repr(text) if len(text) <= 40 else f"{text[:30]!r}... ({len(text)} characters)"
            message = f"{problem}, {kind}; found {shown}"
            errors.append(InputError(path, f"{where}.{field}", message))
    diagnosis = item.get("diagnosis")
    if diagnosis is not None:
        errors.extend(_diagnosis_errors(path, f"{where}.diagnosis", diagnosis))
    if item.get("expect") in ("truncated", "mismatch") and not item.get("note"):
        message = f"expected a note saying why the verdict is {item['expect']!r}"
        errors.append(InputError(path, f"{where}.note", message))
    operands = (
        []  # printed, not computed: no name to look up
        if "unsupported" in item
        else [(f"{where}", item)]
        if "relation" not in item
        else [(f"{where}.relation.{side}", item["relation"][side]) for side in ("left", "right")]
    )
    for at, operand in operands:
        unknown = names.problem_with(operand["quantity"], operand.get("step", 0), "quantity")
        if unknown is not None:
            errors.append(InputError(path, f"{at}.quantity", unknown))
    return errors


def _number_problem(field: str, text: str) -> str | None:
    """A printed number may be typographic; a pinned one is bpcheck's own %.17g, plain ASCII."""
    problem = printed_problem(text)
    if problem is None and field == "pinned" and not is_decimal_number(text):
        return "expected a plain decimal such as 0.35891647971788465 (as bpcheck writes it)"
    return problem


def _diagnosis_errors(path: str, location: str, diagnosis: str) -> list[InputError]:
    errors = []
    for part in diagnosis.split(DIAGNOSIS_SEPARATOR):
        if part not in VARIANT_NAMES:
            found = hint(part, VARIANT_NAMES)
            message = f"unknown variant {part!r}{found}; expected names from `bpcheck diagnose`"
            errors.append(InputError(path, location, message))
    return errors


def _claim(item: dict[str, Any], names: _Names, index: int) -> Claim:
    relation = None
    if "relation" in item:
        spec = item["relation"]
        left, right = (
            Operand(o["quantity"], names.canonical(o["quantity"]), o.get("step", 0))
            for o in (spec["left"], spec["right"])
        )
        relation = Relation(left, spec["op"], right, float(spec.get("tolerance", 1e-12)))
    quantity = item.get("quantity", "")
    return Claim(
        id=item["id"],
        where=item["where"],
        quantity=quantity,
        canonical=names.canonical(quantity) if quantity else "",
        step=item.get("step", 0),
        printed=item.get("printed"),
        expect=item.get("expect"),
        note=item.get("note", ""),
        relation=relation,
        pinned=item.get("pinned"),
        pin_tolerance=float(item.get("pin_tolerance", 1e-12)),
        diagnosis=item.get("diagnosis"),
        unsupported=item.get("unsupported"),
        index=index,
    )


def alias_errors(path: str, aliases: dict[str, str], names: _Names) -> list[InputError]:
    errors = []
    problem = names.problem
    # every batch of the first epoch, so an alias of sample s's quantity is valid when a
    # sample order puts s in neither the first nor the last step's batch
    first_epoch = range(min(problem.steps, len(epoch_batches(problem)) - 1) + 1)
    steps = sorted({*first_epoch, problem.steps})
    for alias, target in aliases.items():
        canonical = q.normalize(target)
        if not any(names.exists(canonical, step) for step in steps):
            found = names.hint(canonical, 0, aliases=False)
            message = (
                f"unknown quantity {target!r}{found}; "
                "expected a canonical name (see docs/quantities.md)"
            )
            errors.append(InputError(path, f"$.aliases.{alias}", message))
    return errors


# --- the public entry points ----------------------------------------------------------


def load(path: Path, limits: input_limits.Limits | None = None, *, drafts: bool = False) -> Fixture:
    """Load and check one fixture file; raise :class:`FixtureError` listing every problem.

    ``limits`` defaults to :func:`bpcheck.io.limits.from_environment`.  ``drafts``:
    accept the placeholders of ``new`` and ``claim`` (:mod:`bpcheck.io.placeholders`),
    for the commands that help a person replace them.
    """
    limits = limits or input_limits.from_environment()
    return load_document(path, read_json(path, limits), limits, drafts=drafts)


def load_document(
    path: Path, document: Any, limits: input_limits.Limits | None = None, *, drafts: bool = False
) -> Fixture:
    """Check a parsed fixture ``document`` as if read from ``path``; :class:`FixtureError` if bad.

    ``claim`` uses this to judge the fixture its new claims would make before writing
    anything; :func:`load` uses it after reading the file.
    """
    where = str(path)
    limits = limits or input_limits.from_environment()
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise FixtureError(
            [InputError(where, "$", f"expected a JSON object at the top, found {kind}")]
        )
    errors = schema_errors(where, document) or limit_errors(where, document["problem"], limits)
    if errors:
        raise FixtureError(errors)
    errors = problem_errors(where, document["problem"])
    if errors:
        raise FixtureError(errors)
    problem = build_problem(document["problem"])
    aliases: dict[str, str] = document.get("aliases", {})
    names = _Names(problem, aliases)
    errors = alias_errors(where, aliases, names)
    claims, claim_errors = build_claims(where, document["claims"], names)
    errors.extend(claim_errors)
    if not drafts:
        errors.extend(placeholder_errors(where, document))
    if errors:
        raise FixtureError(errors)
    return Fixture(
        id=document["id"],
        title=document["title"],
        path=path,
        source=document["source"],
        problem=problem,
        aliases=aliases,
        claims=tuple(c for c in claims if c.unsupported is None),
        raw=document,
        unsupported=tuple(c for c in claims if c.unsupported is not None),
    )


def fixture_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders searched recursively for ``*.json`` (the schema excluded).

    A file named twice (``validate a.json a.json``, or a folder and a file in it)
    is listed once, where it first comes.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*.json")) if "schema" not in p.relative_to(path).parts
            )
        else:
            found.append(path)
    seen: set[str] = set()
    once = []
    for path in found:
        key = os.path.realpath(path)  # the same for every way of naming the file
        if key not in seen:
            seen.add(key)
            once.append(path)
    return once


def load_all(
    paths: Iterable[Path], limits: input_limits.Limits | None = None, *, drafts: bool = False
) -> tuple[list[Fixture], list[InputError]]:
    """Load every fixture under ``paths``; collect errors instead of stopping at the first.

    ``drafts``: as for :func:`load`.
    """
    limits = limits or input_limits.from_environment()
    fixtures: list[Fixture] = []
    errors: list[InputError] = []
    owners: dict[str, Path] = {}
    for path in fixture_paths(paths):
        if not path.exists():
            errors.append(
                InputError(str(path), "$", "expected a fixture file or folder; not found")
            )
            continue
        try:
            fixture = load(path, limits, drafts=drafts)
        except FixtureError as error:
            errors.extend(error.errors)
            continue
        if fixture.id in owners:
            message = f"duplicate fixture id {fixture.id!r} (also in {owners[fixture.id]})"
            errors.append(InputError(str(path), "$.id", message))
            continue
        owners[fixture.id] = path
        fixtures.append(fixture)
    return fixtures, errors
