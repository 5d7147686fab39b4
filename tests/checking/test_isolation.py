"""Engines in worker processes: a failing engine is a result, bpcheck's process goes on.

The hostile engines are written to a temporary folder put on ``sys.path``; each
worker process gets bpcheck's ``sys.path``, so it imports them as a plug-in's.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpcheck.checking import isolation
from bpcheck.checking.check import ERRORED, OK, SKIPPED, check_fixture, run_engine, run_problem
from bpcheck.checking.isolation import IsolatedEngine, isolated
from bpcheck.checking.worker_process import plain_loads
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.examples import mazur
from tests.support.hostile_engines import ENGINES, EXIT_AT_IMPORT
from tests.support.paths import ROOT

PROBLEM = mazur()
LOOPS = "bpcheck.engines.loops:LoopsEngine"


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The hostile engines importable (here and in workers); every worker stopped after."""
    (tmp_path / "hostile_engines.py").write_text(ENGINES)
    (tmp_path / "hostile_exit_at_import.py").write_text(EXIT_AT_IMPORT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HOSTILE_PID_FILE", str(tmp_path / "hang.pid"))
    yield
    isolation.stop_workers()


def engine(name: str, target: str, timeout: float = 20) -> IsolatedEngine:
    """A fresh isolated engine (a name no other test uses, so no worker is shared)."""
    return isolated(f"{name}-{id(object())}", target, timeout=timeout)


def test_an_isolated_engine_gives_what_the_engine_gives(hostile: None) -> None:
    loops = engine("loops", LOOPS)
    assert loops.run(PROBLEM, {0, 1}) == LoopsEngine().run(PROBLEM, {0, 1})
    assert (loops.version, loops.capabilities) == (LoopsEngine.version, LoopsEngine.capabilities)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("hostile_engines:Exits", "SystemExit: sys.exit(0) was called; its last output: exiting"),
        ("hostile_engines:HardExits", "the engine's process ended (exit code 0)"),
        ("hostile_engines:Aborts", "the engine's process ended (exit code -6, SIGABRT)"),
        ("hostile_engines:Interrupts", "KeyboardInterrupt"),
        ("hostile_engines:NoisyFails", "its last output: chatter 49998 | chatter 49999 | the"),
        ("hostile_exit_at_import:Engine", "SystemExit: sys.exit(0) was called while loading"),
        ("hostile_engines:AvailableRaises", "available() raised RuntimeError: cannot tell"),
    ],
)
def test_an_engine_that_ends_its_process_is_errored(
    hostile: None, target: str, reason: str
) -> None:
    run = run_problem(engine("hostile", target), PROBLEM, {0}, "hostile")
    assert run.outcome == ERRORED
    assert run.reason is not None and reason in run.reason, run.reason


def test_after_a_crash_the_next_request_gets_a_fresh_worker(hostile: None) -> None:
    aborts = engine("aborts", "hostile_engines:Aborts")
    assert run_problem(aborts, PROBLEM, {0}).outcome == ERRORED
    assert run_problem(aborts, PROBLEM, {0}).outcome == ERRORED  # again: not "not loaded"
    loops = engine("loops", LOOPS)
    assert run_problem(loops, PROBLEM, {0}).outcome == OK


def test_a_hung_run_is_stopped_at_the_timeout_and_the_engine_used_again(hostile: None) -> None:
    loaded = engine("hangs", "hostile_engines:Hangs")
    assert loaded.available().available  # loaded with time to spare: only the run is timed
    hangs = loaded.with_timeout(0.5)
    run = run_problem(hangs, PROBLEM, {0})
    assert (run.outcome, run.reason) == (ERRORED, "timed out after 0.5 s")
    assert run_problem(hangs, PROBLEM, {0}).outcome == ERRORED  # a fresh worker, hung again


def test_a_constructor_that_hangs_is_errored_once_not_at_every_fixture(hostile: None) -> None:
    hangs = engine("hangs", "hostile_engines:HangsInConstructor", timeout=0.5)
    reason = "while loading hostile_engines:HangsInConstructor: timed out after 0.5 s"
    assert hangs.failure() == reason
    assert (hangs.available().available, hangs.version, hangs.capabilities) == (
        False,
        "?",
        frozenset(),
    )
    run = run_problem(hangs, PROBLEM, {0})
    assert (run.outcome, run.reason) == (ERRORED, reason)


def test_an_engine_that_cannot_be_imported_is_skipped_as_before(hostile: None) -> None:
    missing = engine("missing", "no_such_module_anywhere:Engine")
    run = run_problem(missing, PROBLEM, {0})
    assert run.outcome == SKIPPED
    assert run.reason is not None
    assert "cannot load no_such_module_anywhere:Engine: ModuleNotFoundError" in run.reason


def test_engines_load_side_by_side_and_are_filed_under_their_registered_names(
    hostile: None,
) -> None:
    fixture = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    engines = {"loops": engine("loops", LOOPS), "impostor": engine("i", "hostile_engines:Impostor")}
    result = check_fixture(fixture, dict(engines))
    assert [r.engine for r in result.runs] == ["loops", "impostor"]
    assert result.runs[0].trace == run_engine(LoopsEngine(), fixture).trace
    assert result.disagreements  # the impostor, which calls itself loops, is wrong everywhere


def test_a_reply_is_read_without_any_class() -> None:
    assert plain_loads(pickle.dumps(("ok", {0: {"E": 1.5}}))) == ("ok", {0: {"E": 1.5}})
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        plain_loads(pickle.dumps(("ok", Path("x"))))
