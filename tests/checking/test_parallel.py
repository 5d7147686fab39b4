"""``bpcheck run -j 2`` and ``pytest -n 2`` give the verdicts ``run -j 1`` gives."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking.cache import LARGEST, TraceCache, cached
from bpcheck.checking.parallel import check_fixtures
from bpcheck.cli.main import main
from bpcheck.engines.loops import LoopsEngine
from bpcheck.engines.matrices import MatricesEngine
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from tests.support.paths import ROOT

FIXTURES = [ROOT / "fixtures" / "babin", ROOT / "fixtures" / "hmkcode"]
FIXTURE_FILES = ["babin/babin.json", "hmkcode/hmkcode-2018.json"]
ENGINES = ["--engine", "loops", "--engine", "matrices"]


def run_json(tmp_path: Path, name: str, *options: str) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    code = main(["run", *map(str, FIXTURES), *ENGINES, "--json", str(out), *options])
    assert code == 0
    found: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return found


def verdicts(result: dict[str, Any]) -> dict[tuple[str, str, str], tuple[str, str | None]]:
    """(fixture, claim, engine) -> (outcome, verdict), every value at full precision aside."""
    return {
        (fixture["id"], claim["id"], engine): (outcome, claim["verdict"])
        for fixture in result["fixtures"]
        for claim in fixture["claims"]
        for engine, outcome in claim["outcomes"].items()
    }


def without_volatile(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "bpcheck"}


@pytest.mark.slow
def test_run_in_two_processes_gives_what_one_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = run_json(tmp_path, "one", "-j", "1", "--no-cache")
    two = run_json(tmp_path, "two", "-j", "2", "--no-cache")
    assert len(verdicts(one)) > 50
    assert without_volatile(two) == without_volatile(one)


@pytest.mark.slow
def test_run_with_a_shared_cache_in_two_processes_gives_what_one_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BPCHECK_NO_CACHE")
    one = run_json(tmp_path, "one", "-j", "1", "--no-cache")
    cold = run_json(tmp_path, "cold", "-j", "2")
    warm = run_json(tmp_path, "warm", "-j", "2")
    assert any((tmp_path / "cache" / "traces").rglob("*.json"))
    assert without_volatile(cold) == without_volatile(warm) == without_volatile(one)


@pytest.mark.slow
def test_pytest_in_two_processes_gives_the_verdicts_of_run(tmp_path: Path) -> None:
    one = verdicts(run_json(tmp_path, "one", "-j", "1", "--no-cache"))
    report = tmp_path / "junit.xml"
    env = {**os.environ, "BPCHECK_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("BPCHECK_NO_CACHE", None)
    command = [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:randomly", "-q"]
    command += ["--bpcheck-engine", "loops", "--bpcheck-engine", "matrices"]
    command += ["--junitxml", str(report), "--rootdir", str(tmp_path), "-c", os.devnull]
    command += [str(f) for f in FIXTURES]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    cases = list(ElementTree.parse(report).iter("testcase"))
    passed = {
        (case.get("classname", ""), case.get("name", ""))
        for case in cases
        if not any(child.tag in ("failure", "error", "skipped") for child in case)
    }
    assert len(cases) > len(one)
    for (fixture, claim, engine), (outcome, _) in one.items():
        found = any(c.endswith(fixture) and n == f"{claim}[{engine}]" for c, n in passed)
        assert found == (outcome == "ok"), (fixture, claim, engine)


class Batching(LoopsEngine):
    """The loops engine with ``run_many``, leaving a file (process id, size) per batch."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def run_many(self, problems: Sequence[Problem], record: Collection[int]) -> list[Trace]:
        (self.folder / f"{os.getpid()}-{uuid.uuid4().hex}").write_text(str(len(problems)))
        return [self.run(problem, record) for problem in problems]


def batching_engines(folder: Path, cache: Path | None) -> dict[str, Engine]:
    """Module-level, so that ``-j`` processes build the same (a partial of it pickles)."""
    engines: dict[str, Engine] = {"batching": Batching(folder), "matrices": MatricesEngine()}
    return engines if cache is None else cached(engines, TraceCache(cache))


def test_full_batches_are_computed_by_the_processes_and_give_what_runs_alone_give(
    tmp_path: Path,
) -> None:
    """``run -j 2`` hands each process whole batches of one structure (here two, of
    :data:`LARGEST` runs each; the three left over run one by one); the plain path, one
    process without a cache (so no batches at all), must give the same results."""
    babin, hmkcode = (load(ROOT / "fixtures" / name) for name in FIXTURE_FILES)
    fixtures = [
        replace(base, id=f"{base.id}-{n}", problem=replace(base.problem, learning_rate=rate))
        for base, count in ((babin, LARGEST + 3), (hmkcode, LARGEST))
        for n, rate in enumerate(0.1 + 0.01 * k for k in range(count))
    ]
    (tmp_path / "batches").mkdir()
    make = functools.partial(batching_engines, tmp_path / "batches", tmp_path / "cache")
    batched = list(check_fixtures(fixtures, make(), make, 2))
    plain = functools.partial(batching_engines, tmp_path / "batches", None)
    alone = list(check_fixtures(fixtures, plain(), plain, 1))
    sizes = sorted(
        (int(f.read_text()), f.name.split("-")[0] != str(os.getpid()))
        for f in (tmp_path / "batches").iterdir()
    )
    assert sizes == [(LARGEST, True), (LARGEST, True)]  # full batches, in the -j processes
    assert batched == alone
    assert {r.outcome for r in alone} == {"ok", "failed"}  # a new rate fails later pins
