"""Where each value and key of a JSON text stands: for error locations and for edits in place.

``json.loads`` gives values and forgets where they were.  Two things need the
positions: naming both places of a duplicate key (``line 3 column 5 and line 4
column 5``), and ``bpcheck regen``, which rewrites the ``pinned`` strings of a
fixture's claims and nothing else, so it must find exactly those strings (a
regex over the text also hits an alias or a provenance entry called
``pinned``).

The parser here is a small recursive descent that matches strings, numbers and
literals with regular expressions (keys are decoded by ``json.loads``).  It is
slower than ``json.loads`` and is only run on a text ``json.loads`` has
already accepted, nested no deeper than :data:`bpcheck.io.limits.MAX_DEPTH`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

JsonPath = tuple[str | int, ...]
"""Keys and indices from the top of a document to a value: ``("claims", 0, "pinned")``."""


def location(path: Iterable[str | int]) -> str:
    """``$.fixtures[3].claims[0].id`` from a JSON path of keys and indices."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def line_and_column(text: str, offset: int) -> str:
    """``line 3 column 5`` (both 1-based, as ``json`` reports them) of an offset in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return f"line {line} column {column}"


@dataclass
class Positions:
    """Each value's ``[start, end)`` in the text, and the first key given twice in an object."""

    spans: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    duplicate: tuple[JsonPath, int, int] | None = None
    """(path of the key, offset of its first occurrence, offset of the second), if any."""


_WHITESPACE = " \t\n\r"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"-?(?:Infinity|[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)|true|false|null|NaN")


def positions(text: str) -> Positions:
    """The positions of every value of ``text``, which must be valid JSON."""
    found = Positions()
    end = _value(text, _skip(text, 0), (), found)
    if _skip(text, end) != len(text):
        raise ValueError("extra data after the JSON value")
    return found


def _skip(text: str, index: int) -> int:
    """The first index at or after ``index`` that is not JSON whitespace."""
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _value(text: str, start: int, path: JsonPath, found: Positions) -> int:
    """Parse the value at ``start``, record its span under ``path``; return where it ends."""
    first = text[start : start + 1]
    if first == "{":
        end = _object(text, start + 1, path, found)
    elif first == "[":
        end = _array(text, start + 1, path, found)
    else:
        match = (_STRING if first == '"' else _SCALAR).match(text, start)
        if match is None:
            raise ValueError(f"expected a JSON value at offset {start}")
        end = match.end()
    found.spans[path] = (start, end)
    return end


def _object(text: str, index: int, path: JsonPath, found: Positions) -> int:
    keys: dict[str, int] = {}
    index = _skip(text, index)
    if text[index : index + 1] == "}":
        return index + 1
    while True:
        key_start = index
        match = _STRING.match(text, index)
        if match is None:
            raise ValueError(f"expected a key at offset {index}")
        key, index = json.loads(match.group()), match.end()
        if key in keys and found.duplicate is None:
            found.duplicate = ((*path, key), keys[key], key_start)
        keys.setdefault(key, key_start)
        index = _skip(text, _skip(text, index) + 1)  # past the colon
        index = _skip(text, _value(text, index, (*path, key), found))
        if text[index] == "}":
            return index + 1
        index = _skip(text, index + 1)  # past the comma


def _array(text: str, index: int, path: JsonPath, found: Positions) -> int:
    index = _skip(text, index)
    if text[index : index + 1] == "]":
        return index + 1
    position = 0
    while True:
        index = _skip(text, _value(text, index, (*path, position), found))
        if text[index] == "]":
            return index + 1
        index = _skip(text, index + 1)
        position += 1
