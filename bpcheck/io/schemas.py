"""The published JSON Schemas (``bpcheck/io/schema/``), and reading a JSON file against one.

A file a user hands us is checked against its schema before any code indexes
into it, so that a wrong file is one line, ``FILE: LOCATION: what was expected``,
and never a ``KeyError`` deep inside a command.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from bpcheck.errors import BadInput, InputError


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema file ``name`` (e.g. ``run-result-v1.schema.json``) shipped with bpcheck."""
    text = resources.files("bpcheck.io").joinpath("schema", name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def location(path: Any) -> str:
    """``$.fixtures[3].claims[0].id`` from a JSON path of keys and indices."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def describe(error: jsonschema.ValidationError) -> str:
    """A schema error as what was expected, in a few words."""
    if error.validator == "required":
        return f"missing field: {error.message.split(' is a required')[0]}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, found {json.dumps(error.instance)[:60]}"
    if error.validator == "enum":
        options = ", ".join(json.dumps(v) for v in error.validator_value)
        return f"expected one of {options}, found {json.dumps(error.instance)[:60]}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        unknown = [key for key in error.instance if key not in known]
        return f"unknown field {unknown[0]!r}; expected only {', '.join(known)}"
    return str(error.message)


def first_problem(document: Any, schema: dict[str, Any]) -> tuple[str, str] | None:
    """(location, what was expected) of the most telling schema error, or None if valid."""
    validator = jsonschema.Draft202012Validator(schema)
    problem = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if problem is None:
        return None
    return location(problem.absolute_path), describe(problem)


def read_checked(path: Path, schema: dict[str, Any]) -> Any:
    """A JSON file that satisfies ``schema``; :class:`BadInput` with one line if it does not.

    NaN and infinities are accepted: results files hold them when an engine
    diverges (fixtures, which must be finite, are read by ``bpcheck.io.loader``).
    """
    where = str(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput([InputError(where, "$", f"cannot read the file ({error})")]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        at = f"line {error.lineno} column {error.colno}"
        raise BadInput([InputError(where, at, f"expected JSON: {error.msg}")]) from None
    except RecursionError:
        raise BadInput([InputError(where, "$", "expected JSON nested less deeply")]) from None
    problem = first_problem(document, schema)
    if problem is not None:
        raise BadInput([InputError(where, *problem)])
    return document
