"""Loading fixtures: JSON in, a :class:`~bpcheck.model.fixture.Fixture` out, or clear errors.

Structure is checked by the JSON Schema (the one source of truth for it); what
a schema cannot say (shapes that fit together, names that exist, ids that are
unique) is checked afterwards.  Every problem becomes one line
``FILE: LOCATION: what was expected``; nothing here ever evaluates fixture text.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from bpcheck.errors import BadInput, InputError
from bpcheck.model import quantities as q
from bpcheck.model.diagnoses import DIAGNOSIS_SEPARATOR, VARIANT_NAMES
from bpcheck.model.fixture import Claim, Fixture, Operand, Relation
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.verdicts import is_decimal_number

SCHEMA_NAME = "fixture-v1.schema.json"


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


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse_float(text: str) -> float:
    """Floats as Python floats, but refuse overflow to infinity (``1e999``)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit in a float64")
    return value


def read_json(path: Path) -> Any:
    """Parse strictly: NaN, Infinity and overflowing numbers are errors, not values."""
    where = str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FixtureError([InputError(where, "$", f"cannot read the file ({error})")]) from None
    if not text.strip():
        raise FixtureError([InputError(where, "$", "expected a JSON object, the file is empty")])
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_parse_float)
    except json.JSONDecodeError as error:
        location = f"line {error.lineno} column {error.colno}"
        raise FixtureError([InputError(where, location, f"not valid JSON: {error.msg}")]) from None
    except ValueError as error:
        raise FixtureError([InputError(where, "$", f"expected finite numbers: {error}")]) from None
    except RecursionError:
        message = "expected a fixture, found JSON nested too deeply to read"
        raise FixtureError([InputError(where, "$", message)]) from None


# --- structure: the schema ------------------------------------------------------------


def _location(path: Iterable[Any]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _known_properties(error: jsonschema.ValidationError) -> list[str]:
    properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(properties)


def _describe(error: jsonschema.ValidationError) -> str:
    """A schema error as a user-facing sentence, with a spelling hint for unknown fields."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = _known_properties(error)
        extra = [key for key in error.instance if key not in known]
        hints = []
        for key in extra:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            hints.append(f"unknown field {key!r}{hint}")
        return "; ".join(hints) + f"; expected only {', '.join(known)}"
    if error.validator == "required":
        return f"missing field: {error.message.split(' is a required')[0]}"
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in error.validator_value)
        close = difflib.get_close_matches(
            str(error.instance), [str(v) for v in error.validator_value]
        )
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown value {error.instance!r}{hint}; expected one of {options}"
    if error.validator == "type":
        return f"expected {error.validator_value}, found {json.dumps(error.instance)[:60]}"
    return str(error.message)


def _leaf_errors(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """The most specific errors: an ``anyOf`` failure is explained by its best branch."""
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            yield from _leaf_errors(best)
            return
    yield error


def schema_errors(path: str, document: Any) -> list[InputError]:
    validator = jsonschema.Draft202012Validator(schema())
    leaves = [
        leaf
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        for leaf in _leaf_errors(error)
    ]
    errors = []
    for leaf in leaves:
        if not _explained_by_a_misspelling(leaf, leaves):
            errors.append(InputError(path, _location(leaf.absolute_path), _describe(leaf)))
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
            if any(difflib.get_close_matches(key, [missing], n=1) for key in extra):
                return True
    return False


# --- meaning: what a schema cannot check ------------------------------------------------


def build_problem(data: dict[str, Any]) -> Problem:
    layers = []
    for layer in data["layers"]:
        bias = layer.get("bias", {"kind": "none"})
        layers.append(
            Layer(
                weights=tuple(tuple(float(w) for w in row) for row in layer["weights"]),
                activation=layer["activation"],
                bias_kind=bias["kind"],
                bias=tuple(float(b) for b in bias.get("values", [])),
                bias_trainable=bias.get("trainable", True),
            )
        )
    return Problem(
        layers=tuple(layers),
        inputs=tuple(tuple(float(x) for x in row) for row in data["inputs"]),
        targets=tuple(tuple(float(t) for t in row) for row in data["targets"]),
        loss=data["loss"],
        learning_rate=float(data["learning_rate"]),
        steps=int(data["steps"]),
        batch=data.get("batch", "full"),
        update_order=data.get("update_order", "simultaneous"),
    )


def problem_errors(path: str, data: dict[str, Any]) -> list[InputError]:
    """Shapes that must fit together, and activation/loss pairs that must go together."""
    errors: list[InputError] = []

    def add(location: str, message: str) -> None:
        errors.append(InputError(path, location, message))

    inputs, targets, layers = data["inputs"], data["targets"], data["layers"]
    width = len(inputs[0])
    for s, row in enumerate(inputs):
        if len(row) != width:
            add(
                f"$.problem.inputs[{s}]", f"expected {width} inputs like sample 0, found {len(row)}"
            )
    if len(targets) != len(inputs):
        add(
            "$.problem.targets",
            f"expected {len(inputs)} rows (one per sample), found {len(targets)}",
        )
    for index, layer in enumerate(layers):
        where = f"$.problem.layers[{index}]"
        size = len(layer["weights"])
        for j, row in enumerate(layer["weights"]):
            if len(row) != width:
                add(
                    f"{where}.weights[{j}]",
                    f"expected {width} weights (one per neuron below), found {len(row)}",
                )
        errors.extend(_bias_errors(path, where, layer.get("bias"), size))
        if layer["activation"] == "softmax" and index != len(layers) - 1:
            add(f"{where}.activation", "expected softmax only on the output layer")
        width = size
    for s, row in enumerate(targets):
        if len(row) != width:
            add(
                f"$.problem.targets[{s}]",
                f"expected {width} targets (one per output), found {len(row)}",
            )
    needs = {"bce": "sigmoid", "softmax_ce": "softmax"}
    output_activation = layers[-1]["activation"]
    if data["loss"] in needs and output_activation != needs[data["loss"]]:
        add(
            "$.problem.loss",
            f"expected output activation {needs[data['loss']]} for loss {data['loss']}, "
            f"found {output_activation}",
        )
    return errors


def _bias_errors(path: str, where: str, bias: dict[str, Any] | None, size: int) -> list[InputError]:
    if bias is None:
        return []
    count = {"none": 0, "shared": 1, "per_neuron": size}[bias["kind"]]
    values = bias.get("values", [])
    if len(values) != count:
        message = f"expected {count} bias value(s) for kind {bias['kind']!r}, found {len(values)}"
        return [InputError(path, f"{where}.bias.values", message)]
    return []


class _Names:
    """Resolves aliases and canonical names against one problem."""

    def __init__(self, problem: Problem, aliases: dict[str, str]) -> None:
        self.problem = problem
        self.aliases = aliases
        self._cache: dict[int, set[str]] = {}

    def known(self, step: int) -> set[str]:
        if step not in self._cache:
            self._cache[step] = set(q.names_at_step(self.problem, step))
        return self._cache[step]

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
        canonical = self.canonical(name)
        if canonical in self.known(step):
            return None
        close = difflib.get_close_matches(name, [*self.aliases, *self.known(step)], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"unknown {what} {name!r}{hint}; expected an alias of this fixture or a canonical name"
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
    printed = item.get("printed")
    if printed is not None and not is_decimal_number(printed):
        message = (
            f'expected a decimal number as printed, e.g. "0.5932" or "3.5e-05"; found {printed!r}'
        )
        errors.append(InputError(path, f"{where}.printed", message))
    pinned = item.get("pinned")
    if pinned is not None and not (is_decimal_number(pinned) and math.isfinite(float(pinned))):
        message = f"expected a full-precision decimal number (%.17g); found {pinned!r}"
        errors.append(InputError(path, f"{where}.pinned", message))
    diagnosis = item.get("diagnosis")
    if diagnosis is not None:
        errors.extend(_diagnosis_errors(path, f"{where}.diagnosis", diagnosis))
    if item.get("expect") in ("truncated", "mismatch") and not item.get("note"):
        message = f"expected a note saying why the verdict is {item['expect']!r}"
        errors.append(InputError(path, f"{where}.note", message))
    operands = (
        [(f"{where}", item)]
        if "relation" not in item
        else [(f"{where}.relation.{side}", item["relation"][side]) for side in ("left", "right")]
    )
    for location, operand in operands:
        problem = names.problem_with(operand["quantity"], operand.get("step", 0), "quantity")
        if problem is not None:
            errors.append(InputError(path, f"{location}.quantity", problem))
    return errors


def _diagnosis_errors(path: str, location: str, diagnosis: str) -> list[InputError]:
    errors = []
    for part in diagnosis.split(DIAGNOSIS_SEPARATOR):
        if part not in VARIANT_NAMES:
            close = difflib.get_close_matches(part, VARIANT_NAMES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown variant {part!r}{hint}; expected names from `bpcheck diagnose`"
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
        index=index,
    )


def alias_errors(path: str, aliases: dict[str, str], names: _Names) -> list[InputError]:
    errors = []
    for alias, target in aliases.items():
        canonical = q.normalize(target)
        if not any(canonical in names.known(step) for step in (0, names.problem.steps)):
            close = difflib.get_close_matches(canonical, names.known(0), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown quantity {target!r}{hint}; expected a canonical name (see README)"
            errors.append(InputError(path, f"$.aliases.{alias}", message))
    return errors


# --- the public entry points ----------------------------------------------------------


def load(path: Path) -> Fixture:
    """Load and check one fixture file; raise :class:`FixtureError` listing every problem."""
    where = str(path)
    document = read_json(path)
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise FixtureError(
            [InputError(where, "$", f"expected a JSON object at the top, found {kind}")]
        )
    errors = schema_errors(where, document)
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
    if errors:
        raise FixtureError(errors)
    return Fixture(
        id=document["id"],
        title=document["title"],
        path=path,
        source=document["source"],
        problem=problem,
        aliases=aliases,
        claims=tuple(claims),
        raw=document,
    )


def fixture_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders searched recursively for ``*.json`` (the schema excluded)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*.json")) if "schema" not in p.relative_to(path).parts
            )
        else:
            found.append(path)
    return found


def load_all(paths: Iterable[Path]) -> tuple[list[Fixture], list[InputError]]:
    """Load every fixture under ``paths``; collect errors instead of stopping at the first."""
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
            fixture = load(path)
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
