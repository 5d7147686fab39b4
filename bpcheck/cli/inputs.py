"""What every sub-command reads first: the engines asked for and the fixtures given.

Bad input is reported here, one line each on standard error, and turned into
exit status 2, so no command has a path where a user's mistake becomes a
traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from bpcheck.checking import registry
from bpcheck.io.loader import load_all
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture

EXIT_BAD_INPUT = 2


def select_engines(names: Collection[str] | None) -> dict[str, Engine] | int:
    """The engines named with ``--engine`` (all when none are), or the exit status 2."""
    try:
        return registry.select(names or ())
    except KeyError as unknown:
        print(f"--engine: {unknown.args[0]}", file=sys.stderr)
        return EXIT_BAD_INPUT


def load_fixtures(paths: Sequence[str]) -> list[Fixture] | int:
    """Every fixture under ``paths``, or the exit status 2 after printing each problem."""
    fixtures, errors = load_all([Path(p) for p in paths])
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        return EXIT_BAD_INPUT
    if not fixtures:
        print(f"{' '.join(paths)}: $: expected at least one fixture file", file=sys.stderr)
        return EXIT_BAD_INPUT
    return fixtures


def engines_and_fixtures(
    engine_names: Collection[str] | None, paths: Sequence[str]
) -> tuple[dict[str, Engine], list[Fixture]] | int:
    engines = select_engines(engine_names)
    if isinstance(engines, int):
        return engines
    fixtures = load_fixtures(paths)
    if isinstance(fixtures, int):
        return fixtures
    return engines, fixtures
