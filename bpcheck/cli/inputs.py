"""What every sub-command reads first: the engines asked for and the fixtures given.

Bad input raises :class:`~bpcheck.errors.BadInput` here, so no command has a path
where a user's mistake becomes a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bpcheck.cli.command import EngineCommandArgument
from bpcheck.errors import BadInput

if TYPE_CHECKING:
    from bpcheck.model.engine import Engine
    from bpcheck.model.fixture import Fixture


def select_engines(names: Collection[str] | None) -> dict[str, Engine]:
    """The engines named with ``--engine`` (all when none are), with ``--engine-cmd``'s added.

    Engines configured in the project's pyproject.toml (``[tool.bpcheck.engines]``)
    count as registered ones; see :mod:`bpcheck.checking.project_engines`.
    """
    # The engines' modules load here, not at import: `bpcheck validate` never needs them.
    from bpcheck.checking import project_engines, registry
    from bpcheck.checking.external import parse_engine_command

    commands = [n for n in names or () if isinstance(n, EngineCommandArgument)]
    registered = [n for n in names or () if not isinstance(n, EngineCommandArgument)]
    if not commands and not configured_here():
        try:
            return registry.select(registered)
        except KeyError as unknown:
            raise BadInput([f"--engine: {unknown.args[0]}"]) from None
    specs = []
    for command in commands:
        try:
            specs.append(parse_engine_command(command.text))
        except ValueError as error:
            raise BadInput([f"--engine-cmd: {error}"]) from None
    try:
        return project_engines.select(registered, specs, project_engines.configured_engines())
    except KeyError as unknown:
        raise BadInput([f"--engine: {unknown.args[0]}"]) from None
    except ValueError as error:
        raise BadInput([f"--engine-cmd: {error}"]) from None


TOOL_TABLE = re.compile(r"""tool\s*\.\s*["']?bpcheck\b|^\s*\[\s*tool\s*\]""", re.MULTILINE)
"""Text that may open bpcheck's table (``[tool.bpcheck.engines]``, ``tool.bpcheck = ...``,
a bare ``[tool]``): not the words ``bpcheck.engines`` alone, which a package's own
entry-point group or module name holds (bpcheck's pyproject.toml does)."""


def configured_here() -> bool:
    """Whether the project's pyproject.toml may configure engines (cheaply, no TOML parse)."""
    from bpcheck.checking import project_engines

    path = project_engines.find_pyproject(Path.cwd())
    try:
        return path is not None and TOOL_TABLE.search(path.read_text("utf-8")) is not None
    except (OSError, UnicodeDecodeError):
        return True  # let the full reading say what is wrong


def load_fixtures(paths: Sequence[str], *, drafts: bool = False) -> list[Fixture]:
    """Every fixture under ``paths``; every problem with any of them is one line of BadInput.

    ``drafts``: accept the placeholders ``new`` and ``claim`` write (for ``diagnose``, which
    helps a person replace a claim's placeholder note with the cause).
    """
    # --help imports every command module, and this one with them: the loader (jsonschema)
    # loads when fixtures are read
    from bpcheck.io.loader import load_all

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
