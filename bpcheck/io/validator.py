"""The JSON Schema validator every bpcheck file is checked with: the schemas read as written.

``jsonschema``'s Draft 2020-12 validator, with two corrections so that a schema
means here what it means in an editor:

* ``"type": "integer"`` takes whole numbers written as such: ``1.0`` is refused.
  (The standard counts ``1.0`` as an integer; a claim with ``"step": 1.0`` then
  validated and failed in the autodiff engine, which indexes with it.)
* ``pattern`` is an ECMA-262 regular expression, as the standard says: ``\\d``
  and ``\\w`` are ASCII only (Python's also match fullwidth digits) and a
  final ``$`` is the end of the string (Python's also matches before a final
  newline, so the id ``"tiny\\n"`` passed ``^[a-z0-9-]*$``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
from jsonschema.protocols import Validator


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled to match as ECMA-262 does: ASCII classes, a final ``$`` at the end."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern, re.ASCII)


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if isinstance(instance, str) and not ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
"""Draft 2020-12 with integers that are ints and ECMA-262 patterns."""


def validator(schema: dict[str, Any]) -> Validator:
    """A validator of ``schema`` as bpcheck checks every file."""
    checker: Validator = StrictValidator(schema)
    return checker
