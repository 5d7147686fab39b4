"""Hostile plug-ins: each is reported errored with its reason, and the other engines' results stand.

The engines of :mod:`tests.support.hostile_engines` are installed as real plug-ins
(entry points of a distribution on ``PYTHONPATH``), and ``bpcheck run`` and
``pytest`` run as subprocesses, as a user would run them.  Before engines ran in
worker processes, the first of them made ``bpcheck run`` exit 0 with no output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import run_engine
from bpcheck.io.loader import load
from tests.support.hostile_engines import FAST, HANGING, install
from tests.support.paths import ROOT

FIXTURE = ROOT / "fixtures" / "mazur" / "mazur-2015.json"
BPCHECK = str(Path(sys.executable).parent / "bpcheck")
"""The console script, run as a user runs it."""
TIMEOUT = 2
BOUND = 120
"""Seconds after which a subprocess counts as hung: far beyond what the timeouts allow."""


def refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not strict JSON")


def bpcheck_run(folder: Path, names: list[str]) -> tuple[subprocess.CompletedProcess[str], Any]:
    """``bpcheck run`` of the Mazur fixture with loops and ``names``; the process and its JSON."""
    env = install(folder, names)
    out = folder / "run.json"
    selected = [arg for name in ["loops", *names] for arg in ("--engine", name)]
    command = [BPCHECK, "run", str(FIXTURE), *selected]
    command += ["--timeout", str(TIMEOUT), "--json", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=BOUND)
    assert out.exists(), f"no results written: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done, json.loads(out.read_text(), parse_constant=refuse)


def pytest_run(folder: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    """``pytest`` on a copy of the Mazur fixture, with the hostile plug-ins ``names`` installed."""
    env = install(folder, names)
    (folder / "fixtures").mkdir()
    (folder / "fixtures" / FIXTURE.name).write_text(FIXTURE.read_text())
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-v"]
    command += ["--bpcheck-timeout", str(TIMEOUT)]
    command += [arg for name in ["loops", *names] for arg in ("--bpcheck-engine", name)]
    command += ["-o", "addopts=", "fixtures"]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=BOUND, cwd=folder
    )


def assert_loops_intact(document: Any) -> None:
    """The loops engine ran, every claim is ok for it, and its values are loops' own."""
    [fixture] = document["fixtures"]
    assert fixture["runs"]["loops"] == {"outcome": "ok", "reason": None}
    trace = run_engine(registry.in_process(["loops"])["loops"], load(FIXTURE)).trace
    for claim in fixture["claims"]:
        assert claim["outcomes"]["loops"] == "ok", claim
        if claim["quantity"]:  # not a relation
            assert claim["values"]["loops"] == trace[claim["step"]][claim["quantity"]], claim


def assert_errored(document: Any, name: str, reasons: list[str]) -> None:
    [fixture] = document["fixtures"]
    run = fixture["runs"][name]
    assert run["outcome"] == "errored", run
    for part in reasons:
        assert part in run["reason"], (part, run["reason"])


@pytest.fixture(scope="module")
def fast_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Any]:
    return bpcheck_run(tmp_path_factory.mktemp("fast"), [*FAST, "impostor", "noisy"])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAST))
def test_bpcheck_run_reports_a_hostile_engine_errored(
    fast_run: tuple[subprocess.CompletedProcess[str], Any], name: str
) -> None:
    done, document = fast_run
    assert done.returncode == 1, done.stderr
    assert_errored(document, name, FAST[name][1])
    shown = [
        line
        for line in done.stdout.splitlines()
        if line.split()[:3] == ["mazur-2015:", name, "errored:"]
    ]
    assert shown, f"run's output does not name {name} as errored:\n{done.stdout}"


@pytest.mark.slow
def test_the_other_engines_results_stand(
    fast_run: tuple[subprocess.CompletedProcess[str], Any],
) -> None:
    done, document = fast_run
    assert_loops_intact(document)
    [fixture] = document["fixtures"]
    assert fixture["runs"]["noisy"]["outcome"] == "ok"
    assert fixture["runs"]["impostor"]["outcome"] == "ok"  # it ran, as "impostor" not "loops"
    assert any(claim["outcomes"]["impostor"] == "failed" for claim in fixture["claims"])
    assert all("impostor" in d["values"] for d in fixture["disagreements"])
    assert set(fixture["runs"]) == {"loops", *FAST, "impostor", "noisy"}
    assert not done.stderr, done.stderr
    assert "noise" not in done.stdout, "an engine's prints reached bpcheck's output"
    assert done.stdout.count("chatter") == 2, "only the last lines, quoted in the reason"


@pytest.mark.slow
def test_bpcheck_run_stops_hanging_engines_at_the_timeout(tmp_path: Path) -> None:
    done, document = bpcheck_run(tmp_path, list(HANGING))
    assert done.returncode == 1, done.stderr
    for name, (_, reasons) in HANGING.items():
        assert_errored(document, name, reasons)
    assert_loops_intact(document)
    assert not alive(int((tmp_path / "hang.pid").read_text())), "the hung engine still runs"


@pytest.mark.slow
def test_pytest_reports_each_hostile_engine_errored(tmp_path: Path) -> None:
    names = [*FAST, *HANGING, "impostor", "noisy"]
    done = pytest_run(tmp_path, names)
    output = done.stdout
    assert done.returncode == 1, output + done.stderr
    assert "INTERNALERROR" not in output
    for name, (_, reasons) in {**FAST, **HANGING}.items():
        errored = next(line for line in output.splitlines() if line.startswith(f"{name} errored: "))
        assert all(part in errored for part in reasons), errored
    outcomes: dict[str, set[str]] = {}  # engine (or "agreement") -> outcomes of its items
    for line in output.splitlines():
        item, _, outcome = line.partition(" ")
        if item.startswith("fixtures/") and outcome.split()[:1] in (["PASSED"], ["FAILED"]):
            engine = item.rpartition("[")[2].rstrip("]") if item.endswith("]") else "agreement"
            outcomes.setdefault(engine, set()).add(outcome.split()[0])
    assert outcomes["loops"] == outcomes["noisy"] == {"PASSED"}, outcomes
    assert all(outcomes[name] == {"FAILED"} for name in [*FAST, *HANGING]), outcomes
    assert "FAILED" in outcomes["impostor"]  # its values are not loops'
    assert outcomes["agreement"] == {"FAILED"}
    assert "noise" not in output


@pytest.mark.slow
def test_ctrl_c_stops_bpcheck_and_its_workers(tmp_path: Path) -> None:
    env = install(tmp_path, ["hang"])
    pid_file = tmp_path / "hang.pid"
    command = [BPCHECK, "run", str(FIXTURE)]
    command += ["--engine", "hang", "--timeout", "600"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        deadline = time.monotonic() + BOUND
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and run.poll() is None
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=BOUND)
    assert run.returncode == 130, stderr
    assert b"interrupted" in stderr
    assert not alive(int(pid_file.read_text()))


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to read its status does not)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return False
        if "State:\tZ" in status:
            return False
        time.sleep(0.05)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
