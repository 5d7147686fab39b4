"""External engines a project names in its pyproject.toml, and choosing engines with them.

A course that checks every student's network puts the command in the project once::

    [tool.bpcheck.engines]
    mine = "node engine.js"            # or a list: ["node", "engine.js"]

and ``bpcheck run fixtures/``, ``pytest`` (the plugin) and every command that takes
``--engine`` run it beside the registered engines.  The file is the first
``pyproject.toml`` found from the current folder upward (pytest: from its root
folder); the command runs in that file's folder.  A bad entry is one line naming the
file, the entry and what was expected.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Collection, Sequence
from pathlib import Path

from bpcheck.checking import registry
from bpcheck.checking.external import EngineCommand, external
from bpcheck.defaults import DEFAULT_TIMEOUT
from bpcheck.errors import BadInput, InputError
from bpcheck.model.engine import Engine

TABLE = "tool.bpcheck.engines"


def find_pyproject(start: Path) -> Path | None:
    """The first ``pyproject.toml`` in ``start`` or a folder above it."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def configured_engines(start: Path | None = None) -> list[EngineCommand]:
    """The engines ``[tool.bpcheck.engines]`` names, in the file's order; BadInput if malformed."""
    path = find_pyproject(start or Path.cwd())
    return [] if path is None else engines_in(path)


def engines_in(path: Path) -> list[EngineCommand]:
    """The engines one pyproject.toml configures, each to run in the file's folder."""
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput([InputError(str(path), "$", f"cannot read the file: {error}")]) from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput([InputError(str(path), "$", f"expected TOML: {error}")]) from None
    table = document.get("tool", {}).get("bpcheck", {}).get("engines")
    if table is None:
        return []
    if not isinstance(table, dict):
        found = type(table).__name__
        raise BadInput([InputError(str(path), TABLE, f"expected a table, found a {found}")])
    specs, problems = [], []
    for name, value in table.items():
        where = f"{TABLE}.{name}"
        try:
            specs.append(EngineCommand(_checked_name(name), _argv(value), path.parent))
        except ValueError as error:
            problems.append(InputError(str(path), where, str(error)))
    if problems:
        raise BadInput(problems)
    return specs


def _checked_name(name: str) -> str:
    from bpcheck.checking.external import parse_engine_command

    parse_engine_command(f"{name}=true")  # the same rule as --engine-cmd
    return name


def _argv(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            argv = tuple(shlex.split(value))
        except ValueError as error:
            raise ValueError(f"cannot split the command {value!r}: {error}") from None
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        argv = tuple(value)
    else:
        raise ValueError(
            f'expected a command string ("node engine.js") or a list of strings, '
            f"found {type(value).__name__} {value!r}"
        )
    if not argv:
        raise ValueError("expected a command, found an empty one")
    return argv


def select(
    names: Collection[str],
    commands: Sequence[EngineCommand] = (),
    configured: Sequence[EngineCommand] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Engine]:
    """The engines to run: registered, configured in pyproject.toml, and given on the command line.

    ``names`` (``--engine``) picks registered or configured engines, ``commands``
    (``--engine-cmd``) adds programs; neither picks every registered and configured
    engine.  So ``--engine-cmd mine=...`` alone runs ``mine`` alone (what ``conform``
    wants), and ``--engine loops --engine-cmd mine=...`` compares it with loops.
    ``KeyError`` for an unknown name, ``ValueError`` for a name used twice.
    """
    registered = registry.names()
    by_name = {spec.name: spec for spec in configured}
    for spec in [*configured, *commands]:
        if spec.name in registered:
            raise ValueError(
                f"the engine name {spec.name!r} is a registered engine's; expected another name"
            )
    seen: set[str] = set()
    for spec in commands:
        if spec.name in seen or (spec.name in by_name and spec.name in names):
            raise ValueError(f"the engine name {spec.name!r} is given twice")
        seen.add(spec.name)
    asked = list(dict.fromkeys(names))
    unknown = [n for n in asked if n not in registered and n not in by_name]
    if unknown:
        known = ", ".join([*registered, *by_name])
        raise KeyError(f"unknown engine {unknown[0]!r}; expected one of {known}")
    everything = not asked and not commands
    ours = registered if everything else [n for n in asked if n in registered]
    theirs = list(configured) if everything else [by_name[n] for n in asked if n in by_name]
    theirs = [spec for spec in theirs if spec.name not in seen]
    engines: dict[str, Engine] = dict(registry.select(ours, timeout)) if ours else {}
    for spec in [*theirs, *commands]:
        engines[spec.name] = external(spec, timeout=timeout)
    return engines
