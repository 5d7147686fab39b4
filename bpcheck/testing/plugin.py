"""pytest plugin: bpcheck fixture files are test files, one item per claim and engine.

Installing bpcheck must not change another project's test run, so collection is
opt-in.  A JSON file is collected only when

* its ``"$schema"`` names the bpcheck fixture schema, any version
  (``.../fixture-v1.schema.json``, a relative path or a URI), found in the first
  :data:`HEAD_BYTES` bytes of a regular file; or
* it lies under a path of the ``bpcheck_paths`` ini option (``bpcheck_paths =
  ["fixtures"]`` in ``[tool.pytest.ini_options]``), so that a broken fixture there
  is a failed item, never a file pytest silently passes over.

Everything else is left to pytest.  Nothing is printed, and no engine process is
started, unless bpcheck items ran: the engines' lines come at the end of the
terminal summary (where they are known under xdist too).  This module imports only
what deciding about a file needs; the items (:mod:`bpcheck.testing.plugin_items`)
are imported when the first fixture file is found.

Items read like the document: ``mazur-2015.json::mazur-2015::E_total-after-1[loops]``
(one per claim and engine) and ``mazur-2015.json::mazur-2015::agreement`` (the
engines agree), so ``-k E_total``, ``--lf`` and xdist work claim by claim.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bpcheck.testing.plugin_items import FixtureFile

HEAD_BYTES = 4096
"""How much of a JSON file is read to find its ``"$schema"``: it is the first key in practice."""

PATHS_INI = "bpcheck_paths"

_SCHEMA_KEY = re.compile(rb'"\$schema"\s*:\s*"([^"\\]{0,1000})"')
_FIXTURE_SCHEMA = re.compile(r"(?:^|[/\\])fixture-v[0-9]+\.schema\.json(?:#.*)?$")

FIXTURE_PROPERTY = "bpcheck fixture"
"""The user property every bpcheck item's report carries: the fixture file's path."""

SUMMARY = "bpcheck-summary"
"""The name the :class:`_Summary` of a run is registered under."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bpcheck", "bpcheck fixture files")
    group.addoption(
        "--bpcheck-engine",
        action="append",
        default=[],
        metavar="NAME",
        help="only this engine (repeatable; default: every registered engine)",
    )
    group.addoption(
        "--bpcheck-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds an engine may take to load, or to run one fixture, before it is stopped "
        "and reported errored (default: as bpcheck run --timeout)",
    )
    parser.addini(
        PATHS_INI,
        type="paths",
        default=[],
        help="folders (or files) whose every JSON file is a bpcheck fixture; elsewhere only "
        'files whose "$schema" names the bpcheck fixture schema are collected',
    )


def pytest_configure(config: pytest.Config) -> None:
    """An unknown ``--bpcheck-engine`` is a usage error, before anything is collected."""
    names = config.getoption("--bpcheck-engine")
    if names:
        from bpcheck.checking import registry
        from bpcheck.testing.plugin_items import configured_engines

        known = registry.names() + [spec.name for spec in configured_engines(config)]
        unknown = [name for name in names if name not in known]
        if unknown:
            raise pytest.UsageError(
                f"--bpcheck-engine: unknown engine {unknown[0]!r}; expected one of "
                f"{', '.join(known)}"
            )
    config.pluginmanager.register(_Summary(config), SUMMARY)


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes | None:
    """The first ``size`` bytes of a regular file; None for anything else or any error.

    Opened without blocking and checked before a byte is read, so a FIFO or a
    device named ``*.json`` costs nothing.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        return os.read(descriptor, size)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def names_fixture_schema(path: Path) -> bool:
    """Whether the file's first ``"$schema"`` names the bpcheck fixture schema (any version)."""
    head = read_head(path)
    found = _SCHEMA_KEY.search(head) if head else None
    if found is None:
        return False
    return _FIXTURE_SCHEMA.search(found.group(1).decode("utf-8", "replace")) is not None


def under_listed_path(path: Path, listed: list[Path]) -> bool:
    """Whether ``path`` is one of the ``bpcheck_paths`` or inside one (schemas excepted)."""
    if path.name.endswith(".schema.json"):
        return False
    return any(path.is_relative_to(root) for root in listed)


def is_fixture_file(path: Path, config: pytest.Config) -> bool:
    if path.suffix != ".json":
        return False
    return under_listed_path(path, config.getini(PATHS_INI)) or names_fixture_schema(path)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> FixtureFile | None:
    if not is_fixture_file(file_path, parent.config):
        return None
    from bpcheck.testing.plugin_items import FixtureFile

    collector: FixtureFile = FixtureFile.from_parent(parent, path=file_path)
    return collector


class _Summary:
    """Notes whether bpcheck items ran and, if they did, names the engines at the end.

    Registered for every run, silent unless a report of a bpcheck item arrives: the
    reports carry the fixture's path as a user property, which xdist sends to the
    main process, so this works with ``-n`` as without.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.fixtures: dict[str, None] = {}
        """The paths of the fixtures whose items ran, in the order they first reported."""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == FIXTURE_PROPERTY:
                self.fixtures.setdefault(str(value), None)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.fixtures:
            return
        from bpcheck.testing.plugin_items import engine_lines

        terminalreporter.section("bpcheck", sep="-")
        for line in engine_lines(self.config):
            terminalreporter.write_line(line)


def fixtures_that_ran(config: pytest.Config) -> list[Path]:
    """The fixture files whose items ran in this session (in the main process, under xdist too)."""
    summary = config.pluginmanager.get_plugin(SUMMARY)
    return [Path(path) for path in summary.fixtures] if isinstance(summary, _Summary) else []
