"""Reading a JSON file strictly: the one reader of fixtures and of ``--json`` results files.

``json.loads`` lets through what bpcheck must not take:

* a key given twice (``"learning_rate": 0.5, "learning_rate": 50`` would run at 50):
  refused, naming both places;
* NaN, Infinity and numbers that overflow a float64 (``1e999``): refused in
  fixtures (results files hold NaN and infinities when an engine diverges);
* a number written with hundreds of digits (a 401-digit weight overflows in
  every command that converts it): refused, see :data:`~bpcheck.io.limits.MAX_NUMBER_LENGTH`;
* a lone surrogate (``"\\ud800"``): not text, and no file can hold it as UTF-8;
* nesting deeper than :data:`~bpcheck.io.limits.MAX_DEPTH`: refused before any
  code recurses into it.

And reading the file: only a regular file is opened for reading (a FIFO would
block, ``/dev/zero`` never ends), and at most ``max_bytes + 1`` bytes are read,
so a 500 MB file costs 32 MiB of memory and one line, not a ``MemoryError``.
Every problem is one :class:`~bpcheck.errors.InputError`, raised as :class:`UnreadableJson`.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bpcheck.errors import InputError
from bpcheck.io.json_positions import line_and_column, location, positions
from bpcheck.io.limits import ENVIRONMENT_VARIABLE, MAX_DEPTH, MAX_NUMBER_LENGTH


class UnreadableJson(Exception):
    """The file cannot be read as bpcheck reads JSON; ``problem`` says where and why."""

    def __init__(self, problem: InputError) -> None:
        super().__init__(str(problem))
        self.problem = problem


# --- the file -------------------------------------------------------------------------


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_text(path: Path, max_bytes: int) -> str:
    """The file's text, if it is a regular file of at most ``max_bytes`` bytes of UTF-8.

    The file is opened without blocking (a FIFO opens at once) and checked to be a
    regular file before a byte is read.
    """
    where = str(path)

    def fail(message: str) -> UnreadableJson:
        return UnreadableJson(InputError(where, "$", message))

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise fail(f"cannot read the file ({error.strerror or error})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise fail(f"expected a regular file, found {_kind(mode)}")
    with os.fdopen(descriptor, "rb") as file:
        try:
            data = file.read(max_bytes + 1)
        except OSError as error:
            raise fail(f"cannot read the file ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise fail(
            f"expected a file of at most {max_bytes} bytes, found a larger one "
            f"(a limit: {ENVIRONMENT_VARIABLE}=bytes=N raises it)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        at = f"byte {error.start}"
        raise UnreadableJson(InputError(where, at, "expected UTF-8 text")) from None


# --- the text -------------------------------------------------------------------------


class _BadNumber(Exception):
    def __init__(self, literal: str, message: str) -> None:
        super().__init__(message)
        self.literal = literal
        self.message = message


def _number_text(text: str) -> str:
    if len(text) > MAX_NUMBER_LENGTH:
        shown = f"{text[:20]}...({len(text)} characters)"
        raise _BadNumber(
            text, f"expected a number of at most {MAX_NUMBER_LENGTH} characters, found {shown}"
        )
    return text


def _parse_int(text: str) -> int:
    return int(_number_text(text))


def _parse_float(text: str) -> float:
    value = float(_number_text(text))
    if math.isinf(value):
        raise _BadNumber(text, f"expected a number that fits in a float64, found {text}")
    return value


def _refuse_constant(name: str) -> float:
    raise _BadNumber(name, f"expected a finite number, found {name} (not a number JSON allows)")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A ``\\uD800``-``\\uDFFF`` escape: the only way a JSON text can hold a surrogate."""


def parse(text: str, where: str, *, non_finite: bool = False) -> Any:
    """The JSON value of ``text``, read strictly (see the module's docstring).

    ``non_finite`` accepts NaN, Infinity and -Infinity, as results files hold them.
    """

    def fail(at: str, message: str) -> UnreadableJson:
        return UnreadableJson(InputError(where, at, message))

    if not text.strip():
        raise fail("line 1 column 1", "expected JSON, found an empty file")
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(items)
        if len(found) != len(items):
            duplicates.append(_first_repeated(key for key, _ in items))
        return found

    try:
        document = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=float if non_finite else _refuse_constant,
        )
    except json.JSONDecodeError as error:
        at = f"line {error.lineno} column {error.colno}"
        raise fail(at, f"expected JSON: {error.msg}") from None
    except RecursionError:
        raise fail("$", _too_deep()) from None
    except _BadNumber as error:
        raise fail(_where_number(text, error.literal), error.message) from None
    _check_values(document, where, surrogates=bool(_SURROGATE_ESCAPE.search(text)))
    if duplicates:
        raise _duplicate_error(text, where, duplicates[0])
    return document


def _first_repeated(keys: Iterable[str]) -> str:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no key is repeated")


def _too_deep() -> str:
    return f"expected arrays and objects nested at most {MAX_DEPTH} deep, found deeper ones"


def _where_number(text: str, literal: str) -> str:
    """The JSON path of the first number written as ``literal`` ("$" if it cannot be found)."""
    try:
        found = positions(text)
    except (ValueError, RecursionError):
        return "$"
    starts = [
        (start, path) for path, (start, end) in found.spans.items() if text[start:end] == literal
    ]
    return location(min(starts)[1]) if starts else "$"


def _duplicate_error(text: str, where: str, key: str) -> UnreadableJson:
    try:
        duplicate = positions(text).duplicate
    except (ValueError, RecursionError):
        duplicate = None
    message = f"duplicate key {key!r}; expected each key once in an object"
    if duplicate is None:
        return UnreadableJson(InputError(where, "$", message))
    path, first, second = duplicate
    both = f"at {line_and_column(text, first)} and {line_and_column(text, second)}"
    message = f"duplicate key {path[-1]!r} {both}; expected each key once in an object"
    return UnreadableJson(InputError(where, location(path), message))


def _check_values(document: Any, where: str, *, surrogates: bool) -> None:
    """Refuse nesting deeper than MAX_DEPTH and (if the text escapes any) lone surrogates.

    Iterative, so that a document nested as deeply as ``json`` reads is no danger here.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise UnreadableJson(InputError(where, "$", _too_deep()))
        if isinstance(value, dict):
            for key, item in value.items():
                if surrogates:
                    _check_text(key, where, path)
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, (dict, list)) or (surrogates and isinstance(item, str)):
                    stack.append((item, (*path, index)))
        elif surrogates and isinstance(value, str):
            _check_text(value, where, path)


def _check_text(text: str, where: str, path: tuple[str | int, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = f"\\u{ord(text[error.start]):04x}"
        message = f"expected text, found a lone surrogate {code} (not a character; no UTF-8)"
        raise UnreadableJson(InputError(where, location(path), message)) from None


def read_json(path: Path, max_bytes: int, *, non_finite: bool = False) -> Any:
    """Read and parse one file strictly; :class:`UnreadableJson` with one line if it cannot be."""
    return parse(read_text(path, max_bytes), str(path), non_finite=non_finite)
