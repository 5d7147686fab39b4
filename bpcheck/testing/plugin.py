"""pytest plugin: fixture JSON files are test files, one item per fixture and engine.

``pytest fixtures/``, ``pytest fixtures/mazur/mazur-2015.json`` and
``pytest -k mazur`` all work; items are named ``mazur-2015[loops]``.  A JSON
file is collected when it lies under a folder named ``fixtures`` (outside
``schema/``) or names the fixture schema, so that a broken fixture is reported,
never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import ERRORED, OK, SKIPPED, check_fixture
from bpcheck.checking.isolation import DEFAULT_TIMEOUT
from bpcheck.checking.results import failing_claims_table
from bpcheck.io.loader import SCHEMA_NAME, FixtureError, load
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bpcheck-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="seconds an engine may take to load, or to run one fixture, before it is stopped "
        f"and reported errored (default {DEFAULT_TIMEOUT:g})",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The registered engines, read from metadata: no engine is loaded for the header."""
    timeout = config.getoption("--bpcheck-timeout")
    lines = []
    for name, registered in registry.registrations().items():
        owners = ", ".join(f"{r.target} from {r.distribution}" for r in registered)
        lines.append(f"bpcheck engine {name}: {owners}")
    lines.append(f"bpcheck engines run in their own processes, {timeout:g} s per request")
    return lines


def is_fixture_file(path: Path) -> bool:
    if path.suffix != ".json" or "schema" in path.parts:
        return False
    if "fixtures" in path.parts or "regressions" in path.parts:
        return True
    try:
        head = path.read_text("utf-8", errors="replace")[:2000]
    except OSError:
        return False
    return SCHEMA_NAME in head


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_fixture_file(file_path):
        collector: FixtureFile = FixtureFile.from_parent(parent, path=file_path)
        return collector
    return None


class FixtureFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            fixture = load(self.path)
        except FixtureError as error:
            yield InvalidFixtureItem.from_parent(self, name=self.path.name, error=error)
            return
        timeout = self.config.getoption("--bpcheck-timeout")
        for name, engine in registry.select((), timeout).items():
            yield FixtureItem.from_parent(
                self, name=f"{fixture.id}[{name}]", fixture=fixture, engine=engine, engine_name=name
            )


class ClaimsDiffer(Exception):
    """Raised by an item whose claims do not end at their expected verdicts."""


class InvalidFixtureItem(pytest.Item):
    """Stands for a fixture that does not load: fails with the loader's one-line errors."""

    def __init__(self, *, error: FixtureError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise ClaimsDiffer(str(self.error))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


class FixtureItem(pytest.Item):
    def __init__(
        self, *, fixture: Fixture, engine: Engine, engine_name: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.fixture = fixture
        self.engine = engine
        self.engine_name = engine_name  # results are filed under it, never the engine's own name

    def runtest(self) -> None:
        name = self.engine_name
        result = check_fixture(self.fixture, {name: self.engine})
        run = result.runs[0]
        if run.outcome == SKIPPED:
            pytest.skip(f"{name}: {run.reason}")
        if run.outcome == ERRORED:
            raise ClaimsDiffer(f"{name} errored: {run.reason}")
        bad = [c for c in result.claims if c.outcome != OK]
        if bad:
            table = failing_claims_table(bad, [name])
            details = "\n".join(f"  {c.claim.id}: {c.message}" for c in bad)
            raise ClaimsDiffer(
                f"{len(bad)} claim(s) differ from their expected verdict\n{table}\n{details}"
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ClaimsDiffer):
            return f"{self.fixture.path}: {self.name}\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name
