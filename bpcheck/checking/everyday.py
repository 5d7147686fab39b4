"""The figures of the everyday loop (issue 21), each beside a reference measured in the same run.

A shared 2-core machine makes every absolute figure noisy; so each row is the
median of repeats with its spread ((max - min) / median: a noisy machine shows up
there, not as a wrong figure) and, where one exists, the same work done by a
hand-written reference (:mod:`bpcheck.checking.references`) in the same run,
interleaved with the engine's repeats, as a ratio.  Commands (``run``, ``claim``,
``diagnose``, the tests) are timed as a person runs them, in a fresh process, beside
their goal and the floor of any command: starting Python and importing bpcheck.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bpcheck.checking import references
from bpcheck.checking.bench import mlp
from bpcheck.checking.results import text_table
from bpcheck.model.engine import Engine
from bpcheck.model.examples import mazur


@dataclass(frozen=True)
class Row:
    what: str
    times: list[float]
    goal: float | None = None
    reference: str = ""
    reference_times: list[float] | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def spread(self) -> float:
        return (max(self.times) - min(self.times)) / self.median if self.median else 0.0


LAUNCH = "import sys; from bpcheck.cli import main; sys.exit(main())"
"""``bpcheck`` in a fresh interpreter (``-m bpcheck.cli.main`` would import it twice)."""


def interleaved(actions: Sequence[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Each action timed ``repeats`` times, taking turns, so that load changes hit all alike."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeats):
        for found, action in zip(times, actions, strict=True):
            start = time.perf_counter()
            action()
            found.append(time.perf_counter() - start)
    return times


# --- engines beside hand-written references ----------------------------------------------


def engine_rows(engines: dict[str, Engine], repeats: int) -> list[Row]:
    rows: list[Row] = []
    problem = mazur(10_000)
    loops = engines.get("loops")
    if loops is not None:
        engine, naive, unrolled = interleaved(
            [
                lambda: loops.run(problem, {10_000}),
                lambda: references.naive_loops(problem),
                lambda: references.unrolled_mazur(problem),
            ],
            repeats,
        )
        goal = 0.060
        rows.append(Row("loops engine, Mazur 10,000 steps", engine, goal, "naive generic", naive))
        rows.append(
            Row("  (same run)", engine, goal, "hand-unrolled 2-2-2", unrolled, "not generic")
        )
    matrices = engines.get("matrices")
    if matrices is not None:
        rows.append(matrices_row(matrices, repeats))
    return rows


def matrices_row(engine: Engine, repeats: int) -> Row:
    """The marginal cost of a 784-128-10 step on a batch of 64, beside NumPy written for it.

    ``(run of 1 + n steps - run of 1 step) / n`` for the engine (its setup, 100,000
    Python floats into arrays, cancels); ``n`` steps of the reference over ``n``.
    """
    extra = 10
    one, more = mlp(1), mlp(1 + extra)
    arrays = references.numpy_arrays(one)
    rate = float(one.learning_rate)

    def reference() -> None:
        for _ in range(extra):
            references.numpy_step(arrays, rate)

    engine.run(one, set())
    shorter, longer, hand = interleaved(
        [lambda: engine.run(one, set()), lambda: engine.run(more, set()), reference], repeats
    )
    steps = [max(b - a, 0.0) / extra for a, b in zip(shorter, longer, strict=True)]
    per_step = [t / extra for t in hand]
    return Row(
        "matrices engine, 784-128-10 step, batch 64",
        steps,
        None,
        "hand-written NumPy step",
        per_step,
        "goal: 1.2x the reference",
    )


# --- commands, as a person runs them ----------------------------------------------------


def command_seconds(arguments: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", LAUNCH, *arguments],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start


def startup(repeats: int) -> list[float]:
    """Starting Python and importing bpcheck's command line: the floor of every command."""
    found = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import bpcheck.cli.main"], check=True)
        found.append(time.perf_counter() - start)
    return found


def command_rows(root: Path, repeats: int, *, tests: bool) -> list[Row]:
    """run, claim, diagnose (and the test suite) on the project at ``root``."""
    fixtures = root / "fixtures"
    if not fixtures.is_dir():
        return []
    floor = startup(repeats)
    rows = [
        Row("bpcheck --help", [command_seconds(["--help"], root, dict(os.environ))], 0.3),
        Row(
            "bpcheck validate fixtures/",
            [command_seconds(["validate", "fixtures/"], root, dict(os.environ))],
            0.3,
            "python + import",
            floor,
        ),
    ]
    three = ["--engine", "loops", "--engine", "matrices", "--engine", "autodiff"]
    with tempfile.TemporaryDirectory(prefix="bpcheck-bench-") as scratch:
        for label, engines in (("all engines", []), ("loops, matrices, autodiff", three)):
            rows += run_rows(root, Path(scratch), label, engines, repeats, floor)
        rows += claim_rows(root, Path(scratch), repeats)
    diagnose = command_seconds(["diagnose", "fixtures/"], root, dict(os.environ))
    rows.append(Row("bpcheck diagnose fixtures/", [diagnose], 5.0, note="issue 20's"))
    if tests:
        rows += test_rows(root)
    return rows


def run_rows(
    root: Path, scratch: Path, label: str, engines: list[str], repeats: int, floor: list[float]
) -> list[Row]:
    """``run fixtures/``: everything cold (a new cache folder), traces cold with XLA's
    compiled code kept (a new trace cache, the JAX compilation cache of a first run), warm."""
    base = {k: v for k, v in os.environ.items() if k != "BPCHECK_NO_CACHE"}
    command = ["run", "fixtures/", *engines]
    kept = scratch / f"kept-{label}"
    command_seconds(command, root, {**base, "BPCHECK_CACHE_DIR": str(kept)})
    cold, traces = [], []
    for number in range(max(2, repeats // 2)):
        fresh = {**base, "BPCHECK_CACHE_DIR": str(scratch / f"cold-{label}-{number}")}
        cold.append(command_seconds(command, root, fresh))
        jax = str(kept / "jax")
        fresh = {**base, "BPCHECK_CACHE_DIR": str(scratch / f"traces-{label}-{number}")}
        traces.append(command_seconds(command, root, {**fresh, "BPCHECK_JAX_CACHE_DIR": jax}))
    warm = [
        command_seconds(command, root, {**base, "BPCHECK_CACHE_DIR": str(kept)})
        for _ in range(repeats)
    ]
    return [
        Row(f"bpcheck run fixtures/, {label}, all cold", cold, 4.0, note="compiles"),
        Row(f"bpcheck run fixtures/, {label}, cold traces", traces, 4.0, note="XLA code kept"),
        Row(f"bpcheck run fixtures/, {label}, warm", warm, 2.0, "python + import", floor),
    ]


def claim_rows(root: Path, scratch: Path, repeats: int) -> list[Row]:
    """claim at a step the fixture's run computed, and at a new step, after a run."""
    fixture = scratch / "claim" / "mazur-2015.json"
    fixture.parent.mkdir()
    source = root / "fixtures" / "mazur" / "mazur-2015.json"
    env = {**os.environ, "BPCHECK_CACHE_DIR": str(scratch / "claim-cache")}
    env.pop("BPCHECK_NO_CACHE", None)
    shutil.copy(source, fixture)
    command_seconds(["run", str(fixture)], root, env)
    known, new = [], []
    for number in range(repeats):
        shutil.copy(source, fixture)
        known.append(
            command_seconds(["claim", str(fixture), "out_o1=0.75136507", "--again"], root, env)
        )
        shutil.copy(source, fixture)
        arguments = ["claim", str(fixture), "out_o1=0.7", "--step", str(20 + number), "--note", "n"]
        new.append(command_seconds(arguments, root, env))
    return [
        Row("bpcheck claim F NAME=VALUE, a step the run computed", known, 1.5),
        Row("bpcheck claim F NAME=VALUE --step NEW", new, 1.5, note="engines load"),
    ]


def test_rows(root: Path) -> list[Row]:
    """The contributor's fast run and the whole suite, as tox's py311 runs it (2 workers)."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci", "PYTHONHASHSEED": "0"}
    found = []
    for label, extra, goal in (
        ("tests: fast run (pytest -m 'not slow' -n 2)", ["-m", "not slow"], 30.0),
        ("tests: all, as tox py311 (pytest -n 2)", [], 180.0),
    ):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:randomly", *extra],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        found.append(Row(label, [time.perf_counter() - start], goal))
    return found


# --- the table ---------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} us"


def rows_table(rows: list[Row]) -> str:
    headers = ["what", "median", "spread", "n", "goal", "/goal", "reference", "median", "ratio"]
    cells = []
    for row in rows:
        reference = statistics.median(row.reference_times) if row.reference_times else None
        cells.append(
            [
                row.what,
                seconds(row.median),
                f"{row.spread:.0%}" if len(row.times) > 1 else "-",
                str(len(row.times)),
                seconds(row.goal),
                "-" if row.goal is None else f"{row.median / row.goal:.2f}",
                row.reference + (f" ({row.note})" if row.note else ""),
                seconds(reference),
                "-" if not reference else f"{row.median / reference:.2f}",
            ]
        )
    return text_table(headers, cells)
