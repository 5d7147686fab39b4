"""What every sub-command reads first: the engines asked for and the fixtures given.

Bad input raises :class:`~bpcheck.errors.BadInput` here, so no command has a path
where a user's mistake becomes a traceback.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from bpcheck.checking import registry
from bpcheck.errors import BadInput
from bpcheck.io.loader import load_all
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture


def select_engines(names: Collection[str] | None) -> dict[str, Engine]:
    """The engines named with ``--engine`` (all when none are)."""
    try:
        return registry.select(names or ())
    except KeyError as unknown:
        raise BadInput([f"--engine: {unknown.args[0]}"]) from None


def load_fixtures(paths: Sequence[str], *, drafts: bool = False) -> list[Fixture]:
    """Every fixture under ``paths``; every problem with any of them is one line of BadInput.

    ``drafts``: accept the placeholders ``new`` and ``claim`` write (for ``diagnose``, which
    helps a person replace a claim's placeholder note with the cause).
    """
    fixtures, errors = load_all([Path(p) for p in paths], drafts=drafts)
    if errors:
        raise BadInput(errors)
    if not fixtures:
        raise BadInput([f"{' '.join(paths)}: $: expected at least one fixture file"])
    return fixtures


def engines_and_fixtures(
    engine_names: Collection[str] | None, paths: Sequence[str]
) -> tuple[dict[str, Engine], list[Fixture]]:
    return select_engines(engine_names), load_fixtures(paths)
