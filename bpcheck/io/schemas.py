"""The published JSON Schemas (``bpcheck/io/schema/``), and reading a JSON file against one.

A file a user hands us is read strictly (:mod:`bpcheck.io.strict_json`: a regular
file within the size limit, no duplicate keys, no deep nesting) and checked
against its schema (:mod:`bpcheck.io.validator`) before any code indexes into
it, so that a wrong file is one line, ``FILE: LOCATION: what was expected``, and
never a ``KeyError`` or a ``RecursionError`` deep inside a command.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from bpcheck.errors import BadInput, InputError
from bpcheck.io import limits as input_limits
from bpcheck.io.json_positions import location
from bpcheck.io.strict_json import UnreadableJson, read_json
from bpcheck.io.validator import validator

__all__ = ["describe", "first_problem", "load_schema", "location", "read_checked"]


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema file ``name`` (e.g. ``run-result-v1.schema.json``) shipped with bpcheck."""
    text = resources.files("bpcheck.io").joinpath("schema", name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


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
    problem = jsonschema.exceptions.best_match(validator(schema).iter_errors(document))
    if problem is None:
        return None
    return location(problem.absolute_path), describe(problem)


def read_checked(
    path: Path, schema: dict[str, Any], limits: input_limits.Limits | None = None
) -> Any:
    """A JSON file that satisfies ``schema``; :class:`BadInput` with one line if it does not.

    NaN and infinities are accepted: results files hold them when an engine
    diverges (fixtures, which must be finite, are read by ``bpcheck.io.loader``).
    ``limits`` defaults to :func:`bpcheck.io.limits.from_environment`.
    """
    limits = limits or input_limits.from_environment()
    try:
        document = read_json(path, limits.bytes, non_finite=True)
    except UnreadableJson as error:
        raise BadInput([error.problem]) from None
    problem = first_problem(document, schema)
    if problem is not None:
        raise BadInput([InputError(str(path), *problem)])
    return document
