"""The pytest items of a fixture file: one per claim and engine, and one for the engines' agreement.

A file is a :class:`FixtureFile`; it holds one :class:`FixtureNode` named after the
fixture's id, which holds a :class:`ClaimItem` per claim and engine
(``E_total-after-1[loops]``) and an :class:`AgreementItem` (``agreement``).  A file
that does not load is a single :class:`InvalidFixtureItem` that fails with the
loader's lines.

Engine runs are shared (:class:`SessionRuns`): each engine runs a fixture once per
pytest process, and every item of that fixture judges the same run.  Under xdist
each worker runs what its own items need.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from bpcheck.checking import project_engines, registry
from bpcheck.checking.cache import cached, open_cache
from bpcheck.checking.certified import all_disagreements, certified_run, judged_alone
from bpcheck.checking.check import (
    ERRORED,
    OK,
    SKIPPED,
    ClaimResult,
    EngineRun,
    run_engine,
)
from bpcheck.checking.external import EngineCommand
from bpcheck.checking.results import disagreement_table, failing_claims_table
from bpcheck.defaults import DEFAULT_TIMEOUT
from bpcheck.errors import BadInput
from bpcheck.io.loader import FixtureError, load
from bpcheck.model.engine import Engine, encloses
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.testing.plugin import FIXTURE_PROPERTY

# --- the engines, and their runs shared by the items of a fixture ---------------------


def timeout_of(config: pytest.Config) -> float:
    timeout: float | None = config.getoption("--bpcheck-timeout")
    return DEFAULT_TIMEOUT if timeout is None else timeout


_CONFIGURED = pytest.StashKey[list[EngineCommand]]()


def configured_engines(config: pytest.Config) -> list[EngineCommand]:
    """The external engines of ``[tool.bpcheck.engines]`` in the pyproject.toml above pytest's root.

    A malformed entry is a usage error, one line naming the file and the entry.
    """
    if _CONFIGURED not in config.stash:
        try:
            config.stash[_CONFIGURED] = project_engines.configured_engines(config.rootpath)
        except BadInput as error:
            raise pytest.UsageError(str(error)) from None
    return config.stash[_CONFIGURED]


def engine_names(config: pytest.Config) -> list[str]:
    """The engines asked for with ``--bpcheck-engine``, or every registered and configured one."""
    asked: list[str] = config.getoption("--bpcheck-engine")
    if asked:
        return list(dict.fromkeys(asked))
    return registry.names() + [spec.name for spec in configured_engines(config)]


def engine_lines(config: pytest.Config) -> list[str]:
    """The engines used and where they come from, read from metadata: no engine is loaded."""
    registered = registry.registrations()
    lines = []
    commands = {spec.name: spec.command for spec in configured_engines(config)}
    for name in engine_names(config):
        owners = ", ".join(f"{r.target} from {r.distribution}" for r in registered.get(name, []))
        owners = owners or f"{commands.get(name, '?')} (pyproject.toml)"
        lines.append(f"bpcheck engine {name}: {owners}")
    lines.append(
        f"bpcheck engines run in their own processes, {timeout_of(config):g} s per request"
    )
    return lines


def select_engines(
    names: list[str], timeout: float, configured: list[EngineCommand] | None = None
) -> dict[str, Engine]:
    """The engines items run: registered ones, each in its worker process, and configured
    external ones, each in its child process (tests replace this); behind the trace cache
    (``BPCHECK_NO_CACHE=1`` turns it off), shared by every xdist worker."""
    if not configured:
        return cached(registry.select(names, timeout), open_cache())
    return cached(project_engines.select(names, (), configured, timeout), open_cache())


class SessionRuns:
    """Every engine run of this pytest process, by (fixture file, content, engine).

    The content is part of the key, so a file rewritten during the session (by
    ``--bpcheck-accept``, say) is run again rather than judged on stale results.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._engines: dict[str, Engine] | None = None
        self._runs: dict[tuple[str, str, str], EngineRun] = {}

    def engines(self) -> dict[str, Engine]:
        if self._engines is None:
            configured = configured_engines(self.config)
            names = engine_names(self.config)
            if configured:
                self._engines = select_engines(names, timeout_of(self.config), configured)
            else:  # the call tests replace, unchanged
                self._engines = select_engines(names, timeout_of(self.config))
        return self._engines

    def run(self, fixture: Fixture, name: str) -> EngineRun:
        key = (str(fixture.path), content_hash(fixture), name)
        if key not in self._runs:
            self._runs[key] = run_engine(self.engines()[name], fixture, name)
        return self._runs[key]

    def runs(self, fixture: Fixture) -> list[EngineRun]:
        return [self.run(fixture, name) for name in self.engines()]

    def certified(self, fixture: Fixture) -> EngineRun | None:
        """The run of the first engine that certifies its values, if one is selected and ran."""
        name = next((n for n, e in self.engines().items() if encloses(e)), None)
        return None if name is None else certified_run([self.run(fixture, name)])


_RUNS = pytest.StashKey[SessionRuns]()


def session_runs(config: pytest.Config) -> SessionRuns:
    if _RUNS not in config.stash:
        config.stash[_RUNS] = SessionRuns(config)
    return config.stash[_RUNS]


def content_hash(fixture: Fixture) -> str:
    """A digest of the document as loaded: two loads of the same text share their runs."""
    text = json.dumps(fixture.raw, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# --- collection -------------------------------------------------------------------------


class FixtureFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        try:
            fixture = load(self.path)
        except FixtureError as error:
            yield InvalidFixtureItem.from_parent(self, name=self.path.name, error=error)
            return
        yield FixtureNode.from_parent(self, name=fixture.id, fixture=fixture)


class FixtureNode(pytest.Collector):
    """One fixture: named by its id, so that node ids read ``FILE::ID::CLAIM[ENGINE]``."""

    def __init__(self, *, fixture: Fixture, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixture = fixture

    def collect(self) -> Iterator[pytest.Item]:
        names = engine_names(self.config)
        for claim in self.fixture.claims:
            for name in names:
                yield ClaimItem.from_parent(
                    self, name=f"{claim.id}[{name}]", fixture=self.fixture, claim=claim, engine=name
                )
        yield AgreementItem.from_parent(self, name="agreement", fixture=self.fixture)


class ClaimsDiffer(Exception):
    """An item's check failed; the message is the report, its first line the short summary."""


class BpcheckItem(pytest.Item):
    """What every item of a fixture shares: its fixture, its report, its user property."""

    def __init__(self, *, fixture: Fixture, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixture = fixture
        self.user_properties.append((FIXTURE_PROPERTY, str(self.path)))

    def runs(self) -> SessionRuns:
        return session_runs(self.config)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ClaimsDiffer):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.fixture.id}::{self.name}"


class ClaimItem(BpcheckItem):
    """One claim judged with one engine's run of the fixture."""

    def __init__(self, *, claim: Claim, engine: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.engine = engine
        self.extra_keyword_matches.update(quantities(claim))

    def runtest(self) -> None:
        run = self.runs().run(self.fixture, self.engine)
        if run.outcome == SKIPPED:
            skip(f"{self.engine}: {run.reason}")
        if run.outcome == ERRORED:
            raise ClaimsDiffer(f"{self.engine} errored: {run.reason}")
        result = judged_alone(self.claim, run, self.runs().certified(self.fixture))
        if result.outcome == SKIPPED:  # an extended name, an engine without quantity:extended
            skip(result.message or f"{self.engine}: skipped")
        if result.outcome != OK:
            table = failing_claims_table([result], [self.engine])
            raise ClaimsDiffer(f"{one_line(result, self.engine)}\n{table}\n{result.message}")


class AgreementItem(BpcheckItem):
    """Every engine that ran computed the same numbers (``bpcheck run``'s agreement check)."""

    def runtest(self) -> None:
        runs = self.runs().runs(self.fixture)
        errored = [run for run in runs if run.outcome == ERRORED]
        if errored:
            reasons = "; ".join(f"{run.engine} errored: {run.reason}" for run in errored)
            raise ClaimsDiffer(f"agreement not checked: {reasons}")
        ran = [run.engine for run in runs if run.outcome == OK]
        if len(ran) < 2:
            skipped = "; ".join(f"{run.engine}: {run.reason}" for run in runs if run.outcome != OK)
            alone = f"only {ran[0]} ran" if ran else "no engine ran"
            skip(f"{alone}, nothing to compare" + (f" ({skipped})" if skipped else ""))
        found = all_disagreements(runs)
        if found:
            first = found[0]
            values = ", ".join(f"{name} {value!r}" for name, value in first.values.items())
            raise ClaimsDiffer(
                f"engines disagree on {len(found)} quantit{'y' if len(found) == 1 else 'ies'}, "
                f"first {first.quantity} at step {first.step}: {values}\n"
                + disagreement_table(found, ran)
            )


class InvalidFixtureItem(pytest.Item):
    """Stands for a fixture that does not load: fails with the loader's one-line errors."""

    def __init__(self, *, error: FixtureError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.user_properties.append((FIXTURE_PROPERTY, str(self.path)))

    def runtest(self) -> None:
        raise ClaimsDiffer(str(self.error))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        # not the bare name: pytest shows a name that ends the node id as "broken::json"
        return self.path, 0, f"{self.name} (does not load)"


def skip(reason: str) -> NoReturn:
    """Skip the running item, reported at the fixture file (as a skip mark is), not at this line."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


# --- what a failure says ------------------------------------------------------------------


def quantities(claim: Claim) -> set[str]:
    """The quantities a claim is about, as written: ``-k out_o1`` selects its items."""
    if claim.relation is not None:
        return {claim.relation.left.quantity, claim.relation.right.quantity}
    return {claim.quantity}


def one_line(result: ClaimResult, engine: str) -> str:
    """The short summary of a failed claim item, on one line.

    The claim, what the fixture says, the engine's value and both verdicts:
    ``out_o1: printed 0.75136507, loops 0.7513650695523157: match, expected mismatch``.
    """
    claim = result.claim
    found = result.verdicts.get(engine)
    value = result.values.get(engine)
    expected = claim.expect or "pinned"
    if found is None or value is None:
        return f"{claim.id}: {result.message}"
    if claim.relation is not None:
        rel = claim.relation
        stated = (
            f"{rel.left.quantity}@{rel.left.step} {rel.op} {rel.right.quantity}@{rel.right.step}"
        )
        return f"{claim.id}: {stated}: {engine} says {found}, expected {expected}"
    stated = ", ".join(
        f"{what} {text}"
        for what, text in (("printed", claim.printed), ("pinned", claim.pinned))
        if text is not None
    )
    line = f"{claim.id}: {stated}, {engine} {value!r}: {found}, expected {expected}"
    if found == expected:  # the verdict is right, the pin moved
        line += f"; the pin moved beyond {claim.pin_tolerance:g}"
    return line
