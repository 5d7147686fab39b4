"""Never lose a file: interrupted at any moment, each file a command writes is the old or the new.

Fault injection with the real CLI in subprocesses: ``regen``, ``claim``, ``docs`` and
``report`` run on copies of fixtures in a temporary folder, on a slow disk
(:mod:`tests.support.slow_disk`, so that a signal can land inside a write), and get
SIGINT or SIGTERM after a random (seeded) delay.  Afterwards every file in the
folder must be byte-identical to its old version or to its new complete version
(computed once by a run to completion), and nothing else may be there: no
truncated file, no temporary file, no scratch file.

Two trials run in the fast suite (regen, each signal sent just after writing began);
the ``slow`` test runs 100, half of them at any moment of the command's run and
half while it writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bpcheck.cli.main import main as bpcheck
from tests.support.paths import ROOT

SLOW = 0.03
"""Seconds each write, rename or link waits on the slow disk."""

SEED = 14

Files = dict[str, bytes]


@dataclass(frozen=True)
class Scene:
    """A command, and the folder it works in as it is before the command runs."""

    name: str
    argv: list[str]
    """Relative to the folder."""
    prepare: Callable[[Path], None]


@dataclass(frozen=True)
class Timing:
    total: float
    """Seconds from start to exit of a run to completion."""
    writing: float
    """Seconds from the first write to exit."""


# --- the folders before each command ---------------------------------------------------------


def fixture_copy(source: str, target: Path, edit: Callable[[str], str] = lambda t: t) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(edit((ROOT / "fixtures" / source).read_text("utf-8")), "utf-8")


def with_schema(folder: Path) -> None:
    (folder / "fixtures" / "schema").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "fixtures/schema/fixture-v1.schema.json", folder / "fixtures/schema")


def tampered_pin(text: str) -> str:
    """The first pinned value replaced, so that regen has something to rewrite."""
    document = json.loads(text)
    pinned = next(c["pinned"] for c in document["claims"] if "pinned" in c)
    return text.replace(f'"pinned": "{pinned}"', '"pinned": "0.5"', 1)


def prepare_regen(folder: Path) -> None:
    with_schema(folder)
    fixture_copy("rules-003/rules-003-sequential.json", folder / "fixtures/r.json", tampered_pin)


def prepare_claim(folder: Path) -> None:
    with_schema(folder)
    fixture_copy("babin/babin-comment-w2.json", folder / "fixtures/c.json")


def prepare_docs(folder: Path) -> None:
    with_schema(folder)
    fixture_copy("babin/babin-comment-w2.json", folder / "fixtures/babin/c.json")
    markers = ("<!-- {0}:start -->\nstale\n<!-- {0}:end -->\n").format
    (folder / "docs").mkdir()
    (folder / "docs/errata.md").write_text("# Errata\n\n" + markers("errata"))
    (folder / "docs/diagnose.md").write_text("# Diagnose\n\n" + markers("zoo"))
    (folder / "fixtures/README.md").write_text("# Fixtures\n\n" + markers("coverage"))


def prepare_report(folder: Path) -> None:
    """An earlier report of two fixtures, one since retitled, the other since removed."""
    with_schema(folder)
    retitle = lambda text: text.replace('"title": "', '"title": "Earlier: ', 1)  # noqa: E731
    fixture_copy("babin/babin-comment-w2.json", folder / "fixtures/a.json", retitle)
    fixture_copy("hmkcode/hmkcode-2018.json", folder / "fixtures/b.json")
    done = run(folder, REPORT_ARGV, slow=0.0)
    assert done.returncode == 0, done
    fixture_copy("babin/babin-comment-w2.json", folder / "fixtures/a.json")
    (folder / "fixtures/b.json").unlink()


REPORT_ARGV = ["report", "fixtures", "--out", "out", "--engine", "loops", "--format", "md,csv"]

SCENES = [
    Scene("regen", ["regen", "fixtures/r.json", "--engine", "loops"], prepare_regen),
    Scene("claim", ["claim", "fixtures/c.json", "output_input0=0.0", "--again"], prepare_claim),
    Scene("sync", ["sync", "--root", "."], prepare_docs),
    Scene("report", REPORT_ARGV, prepare_report),
]


# --- running, interrupting, comparing ---------------------------------------------------------


def environment(slow: float, writes_fd: int | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SOURCE_DATE_EPOCH="1700000000")
    env["BPCHECK_TEST_SLOW"] = str(slow)
    env.pop("BPCHECK_TEST_WRITES_FD", None)
    if writes_fd is not None:
        env["BPCHECK_TEST_WRITES_FD"] = str(writes_fd)
    return env


def command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "tests.support.slow_disk", *argv]


def run(folder: Path, argv: list[str], *, slow: float = SLOW) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(argv), cwd=folder, env=environment(slow), capture_output=True, text=True
    )


def snapshot(folder: Path) -> Files:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def start(folder: Path, argv: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    """The command running on the slow disk, and a pipe that gets a byte when it starts writing."""
    reader, writer = os.pipe()
    process = subprocess.Popen(
        command(argv),
        cwd=folder,
        env=environment(SLOW, writer),
        pass_fds=(writer,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(writer)
    return process, reader


def wait_for_writing(reader: int, timeout: float) -> float | None:
    """When the command began writing (``time.monotonic()``), or None if it never did."""
    ready, _, _ = select.select([reader], [], [], timeout)
    if ready and os.read(reader, 1):
        return time.monotonic()
    return None


def measure(folder: Path, argv: list[str]) -> Timing:
    began = time.monotonic()
    process, reader = start(folder, argv)
    try:
        writing = wait_for_writing(reader, 60)
        assert process.wait(60) == 0, f"{argv} failed on the slow disk"
    finally:
        os.close(reader)
    ended = time.monotonic()
    assert writing is not None, f"{argv} wrote nothing"
    return Timing(ended - began, ended - writing)


def interrupt(
    folder: Path, argv: list[str], sent: signal.Signals, delay: float, *, anywhere: bool
) -> None:
    """Run the command and send ``sent`` ``delay`` seconds after its start (``anywhere``)
    or after it began writing; then wait for it to end."""
    process, reader = start(folder, argv)
    try:
        if anywhere or wait_for_writing(reader, 60) is not None:
            time.sleep(delay)
        if process.poll() is None:
            process.send_signal(sent)
        process.wait(60)
    finally:
        os.close(reader)
        if process.poll() is None:
            process.kill()
            process.wait()


def old_or_new(found: Files, old: Files, new: Files) -> list[str]:
    """Each file that is neither its old nor its new version (absent counts as a version)."""
    bad = []
    for name in sorted({*found, *old, *new}):
        if found.get(name) not in (old.get(name), new.get(name)):
            state = "missing" if name not in found else f"{len(found[name])} bytes"
            bad.append(f"{name} ({state})")
    return bad


@dataclass
class Stage:
    """A scene set up once: its folder before and after a complete run, and its timing."""

    scene: Scene
    before: Path
    old: Files
    new: Files
    timing: Timing


def stage(scene: Scene, tmp: Path) -> Stage:
    before = tmp / f"{scene.name}-before"
    scene.prepare(before)
    after = tmp / f"{scene.name}-after"
    shutil.copytree(before, after, symlinks=True)
    timing = measure(after, scene.argv)
    old, new = snapshot(before), snapshot(after)
    assert old != new, f"{scene.name} changed nothing: the trial would prove nothing"
    return Stage(scene, before, old, new, timing)


def trial(
    setup: Stage, folder: Path, sent: signal.Signals, delay: float, *, anywhere: bool
) -> str | None:
    """Interrupt the command in ``folder`` (a fresh copy of the scene): what went wrong, if any."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(setup.before, folder, symlinks=True)
    interrupt(folder, setup.scene.argv, sent, delay, anywhere=anywhere)
    bad = old_or_new(snapshot(folder), setup.old, setup.new)
    shutil.rmtree(folder)
    moment = f"{delay:.3f} s after {'start' if anywhere else 'writing began'}"
    return f"{setup.scene.name}, {sent.name} {moment}: {', '.join(bad)}" if bad else None


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_while_regen_writes_leaves_the_old_or_the_new_fixture(
    sent: signal.Signals, tmp_path: Path
) -> None:
    """The fast suite's trials: regen interrupted just after it began writing."""
    scene = SCENES[0]
    before = tmp_path / "before"
    scene.prepare(before)
    after = tmp_path / "after"
    shutil.copytree(before, after)
    with contextlib.chdir(after):
        assert bpcheck(scene.argv) == 0
    setup = Stage(scene, before, snapshot(before), snapshot(after), Timing(0.0, 0.0))
    assert setup.old != setup.new
    delay = random.Random(SEED).uniform(0, SLOW / 2)
    failure = trial(setup, tmp_path / "trial", sent, delay, anywhere=False)
    assert failure is None, failure


@pytest.mark.slow
def test_signals_at_random_moments_never_lose_a_file(tmp_path: Path) -> None:
    """100 trials, 25 per command, each SIGINT or SIGTERM: half at any moment of the run
    (the delay drawn across its measured duration), half while it writes.  Three run at
    a time (each trial mostly waits on the slow disk)."""
    draw = random.Random(SEED)
    trials = []
    for scene in SCENES:
        setup = stage(scene, tmp_path)
        for number in range(25):
            anywhere = number % 2 == 0
            span = setup.timing.total if anywhere else setup.timing.writing
            sent = draw.choice([signal.SIGINT, signal.SIGTERM])
            trials.append((setup, sent, draw.uniform(0, span), anywhere))

    def one(index: int) -> str | None:
        setup, sent, delay, anywhere = trials[index]
        return trial(setup, tmp_path / f"trial-{index}", sent, delay, anywhere=anywhere)

    with ThreadPoolExecutor(max_workers=3) as pool:
        failures = [f for f in pool.map(one, range(len(trials))) if f is not None]
    assert not failures, "\n".join(failures)
