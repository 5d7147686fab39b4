"""How a bpcheck command ends: its exit codes, and the one exception for a user's mistake.

Any layer may raise :class:`BadInput`; only ``bpcheck.cli.main`` catches it, prints
each of its lines on standard error and exits 2.  So a user's mistake is never a
traceback, and no function has to return "an int or a result".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """The exit status of every command (documented in each command's ``--help``)."""

    OK = 0
    """Every claim reached its expected verdict, every engine agreed, every check passed."""
    FAILED = 1
    """A claim, an engine, a gradient or a comparison let us down."""
    BAD_INPUT = 2
    """A fixture, a results file or an argument is wrong; one line says where and why."""


@dataclass(frozen=True)
class InputError:
    """One thing wrong with one input: ``FILE: LOCATION: what was expected``."""

    path: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.location}: {self.message}"


class BadInput(Exception):
    """A user's mistake, one line per problem; the command exits with ``ExitCode.BAD_INPUT``."""

    def __init__(self, problems: Iterable[InputError | str]) -> None:
        self.lines = [str(problem) for problem in problems]
        super().__init__("\n".join(self.lines))
