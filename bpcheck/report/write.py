"""Making a report (``bpcheck report``): the results, their metadata, the files written.

A report holds one table per fixture (each engine's value beside the printed
one), a fixture-by-engine summary, verdict counts per document, the errata,
gradient-check results (run now with ``check_gradients``, or read from a
``gradcheck --json`` file), loss curves of multi-step fixtures and the run's
metadata, as Markdown (with a ``README.md`` index of the folder), one
self-contained HTML file, CSV per table and JSON.  It reads fixtures (running the
engines) or a saved ``bpcheck run --json`` file (``--from``): both become the
same results first.

pandas and matplotlib (the ``report`` extra) are imported only inside
:func:`generate`, so the rest of bpcheck works without them.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module, metadata
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import track

from bpcheck import __version__
from bpcheck.checking import registry
from bpcheck.checking.check import OK, check_fixture
from bpcheck.checking.results import run_result
from bpcheck.checking.run_result import RunResult, read_run_result
from bpcheck.defaults import DEFAULT_REPORT_FORMATS
from bpcheck.errors import BadInput, InputError
from bpcheck.io.loader import FixtureError, load, load_all
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture

REPORT_EXTRA = ("pandas", "matplotlib")

VOLATILE = (
    "date",
    "python",
    "numpy",
    "jax",
    "pandas",
    "matplotlib",
    "tabulate",
    "fixtures commit",
)
"""Metadata that differs between days and machines, not between results.  The test of the
committed reports substitutes these (and the engines' versions) before comparing."""


@dataclass
class Request:
    """What to report on and how: fixture paths or a results file, formats, options."""

    out: Path
    paths: list[Path] = field(default_factory=list)
    saved: list[Path] = field(default_factory=list)
    """Saved ``run --json`` results to report on (merged) instead of fixture paths."""
    formats: list[str] = field(default_factory=lambda: DEFAULT_REPORT_FORMATS.split(","))
    engines: list[str] = field(default_factory=list)
    gradcheck: Path | None = None
    """A ``bpcheck gradcheck --json`` file whose results the report shows."""
    check_gradients: bool = False
    """Run the gradient checks now, in this process, and show them (not with ``gradcheck``)."""
    failures_only: bool = False
    frozen: dict[str, Any] | None = None
    """Volatile metadata to use instead of today's (see :func:`volatile_values`)."""


# --- what the report needs ------------------------------------------------------------------


def missing_extras() -> list[str]:
    """The modules of the ``report`` extra that cannot be imported here."""
    missing = []
    for name in REPORT_EXTRA:
        try:
            import_module(name)
        except ImportError:
            missing.append(name)
    return missing


# --- run metadata ---------------------------------------------------------------------------


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def report_date() -> str:
    """Today (UTC), or the day of ``SOURCE_DATE_EPOCH`` for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.date().isoformat()


def git_commit(paths: list[Path]) -> str | None:
    """The last commit that changed the fixtures, ``(modified)`` if they differ; else None.

    The fixtures' own commit, not HEAD: a report regenerated after an unrelated
    commit stays byte-identical, so ``bpcheck sync`` leaves a clean tree clean.
    """
    existing = [p.resolve() for p in paths if p.exists()]
    if not existing:
        return None
    folder = existing[0] if existing[0].is_dir() else existing[0].parent
    head = _git(folder, "log", "-1", "--format=%H", "--", *(str(p) for p in existing))
    if head is None:
        return None
    changed = _git(folder, "status", "--porcelain", "--", *(str(p) for p in existing))
    return f"{head} (modified)" if changed else head


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def run_metadata(request: Request, results: RunResult, engines: list[str]) -> dict[str, str | None]:
    """The metadata table: versions, date, where the results and fixtures come from."""
    fixture_paths = [Path(f.path) for f in results.fixtures]
    items: dict[str, str | None] = {"bpcheck": __version__}
    if request.saved:
        items["results from"] = " ".join(str(p) for p in request.saved)
        items["results by bpcheck"] = results.bpcheck
    else:
        items["results from"] = " ".join(str(p) for p in request.paths)
    items |= {
        "date": report_date(),
        "python": platform.python_version(),
        **{name: package_version(name) for name in ("numpy", "jax", "pandas", "matplotlib")},
        "tabulate": package_version("tabulate"),
        "fixtures commit": git_commit(fixture_paths),
        "engines": ", ".join(engines),
        "claims shown": "only those not ok" if request.failures_only else "all",
        "gradient checks": gradcheck_origin(request),
    }
    return items


def gradcheck_origin(request: Request) -> str | None:
    if request.check_gradients:
        return "run with the report"
    return str(request.gradcheck) if request.gradcheck else None


def volatile_values(report_json: dict[str, Any]) -> dict[str, Any]:
    """The volatile metadata and engine versions of a written ``report.json``, to freeze."""
    found = {k: v for k, v in report_json["metadata"].items() if k in VOLATILE}
    rows = report_json["tables"]["engines"]["rows"]
    return {"metadata": found, "engines": {row["engine"]: row["version"] for row in rows}}


def freeze(
    request: Request, items: dict[str, str | None], results: RunResult
) -> dict[str, str | None]:
    """Put the frozen volatile values in place (for a comparison that ignores them)."""
    if request.frozen is None:
        return items
    for name, version in request.frozen.get("engines", {}).items():
        if name in results.engines:
            results.engines[name].version = version
    frozen = {k: v for k, v in request.frozen.get("metadata", {}).items() if k in VOLATILE}
    return items | frozen


# --- the results ----------------------------------------------------------------------------

Item = TypeVar("Item")


def tracked(items: Sequence[Item], label: str) -> Iterable[Item]:
    """``items`` one by one, with a progress bar on standard error only if it is a terminal.

    Logs, CI output and redirected files never see the bar; on a terminal it is
    cleared when done, so what follows starts on a clean line.
    """
    console = Console(stderr=True)
    quiet = not sys.stderr.isatty()
    return track(items, description=label, console=console, transient=True, disable=quiet)


def select_engines(names: Sequence[str]) -> dict[str, Engine]:
    try:
        return registry.select(names)
    except KeyError as unknown:
        raise BadInput([f"--engine: {unknown.args[0]}"]) from None


def run_fixtures(request: Request) -> tuple[RunResult, list[Fixture], dict[str, Engine]]:
    """Load the fixtures and run the engines on them, with a progress bar on a terminal."""
    engines = select_engines(request.engines)
    fixtures, errors = load_all(request.paths)
    if errors:
        raise BadInput(errors)
    if not fixtures:
        where = " ".join(str(p) for p in request.paths)
        raise BadInput([InputError(where, "$", "expected at least one fixture file")])
    results = [check_fixture(fixture, engines) for fixture in tracked(fixtures, "checking")]
    return run_result(engines, results), fixtures, engines


def merge(saved: list[tuple[Path, RunResult]]) -> RunResult:
    """Several ``run --json`` results (shards of one run: CI jobs, pytest-xdist) as one.

    Fixtures are concatenated (an id twice is an error); an engine counts as
    available if any shard had it available.
    """
    versions = list(dict.fromkeys(results.bpcheck for _, results in saved))
    merged = RunResult(bpcheck=", ".join(versions), engines={}, fixtures=[])
    owners: dict[str, Path] = {}
    for path, results in saved:
        for name, engine in results.engines.items():
            known = merged.engines.setdefault(name, engine)
            if engine.available and not known.available:
                merged.engines[name] = engine
        for index, fixture in enumerate(results.fixtures):
            if fixture.id in owners:
                raise BadInput(
                    [
                        InputError(
                            str(path),
                            f"$.fixtures[{index}].id",
                            f"duplicate fixture id {fixture.id!r} (also in "
                            f"{owners[fixture.id]}); expected each fixture in one file",
                        )
                    ]
                )
            owners[fixture.id] = path
            merged.fixtures.append(fixture)
    return merged


def read_saved(request: Request) -> tuple[RunResult, list[Fixture], dict[str, Engine]]:
    """Saved ``run --json`` files, merged; fixtures are reloaded (for loss curves) if they exist."""
    results = merge([(path, read_run_result(path)) for path in request.saved])
    unknown = [name for name in request.engines if name not in results.engines]
    if unknown:
        known = ", ".join(results.engines)
        raise BadInput(
            [
                f"--engine: unknown engine {unknown[0]!r} in the saved results; "
                f"expected one of {known}"
            ]
        )
    fixtures = []
    for item in results.fixtures:
        try:
            fixtures.append(load(Path(item.path)))
        except FixtureError:
            continue  # a moved or edited fixture only costs its loss curve
    here = registry.all_engines()
    names = request.engines or list(results.engines)
    return results, fixtures, {name: here[name] for name in names if name in here}


def read_gradcheck(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from bpcheck.gradcheck.result_file import read_gradcheck_results  # NumPy: only when asked

    found: dict[str, Any] = read_gradcheck_results(path).to_json()
    return found


def run_gradcheck(fixtures: list[Fixture], engines: dict[str, Engine]) -> dict[str, Any]:
    """Every engine's gradients on every fixture, as ``bpcheck gradcheck --json`` writes them."""
    from bpcheck.gradcheck import GradcheckRun, gradcheck_fixture  # NumPy: only when asked

    entries = [
        (fixture, result)
        for fixture in tracked(fixtures, "gradient checks")
        for result in gradcheck_fixture(fixture, engines)
    ]
    found: dict[str, Any] = GradcheckRun.of(entries).to_json()
    return found


# --- making a report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    """What a report wrote, and what it found wrong (the command's exit status)."""

    files: list[Path]
    not_ok: list[str] = field(default_factory=list)
    """Fixtures whose outcome is not ok: a claim missed its expected verdict, an engine failed."""
    gradients_failed: list[str] = field(default_factory=list)
    """Gradient checks that failed or errored, as ``fixture engine step N``."""
    index_kept: Path | None = None
    """A ``README.md`` in the folder that no report wrote: left as it was, no index written."""

    @property
    def failed(self) -> bool:
        return bool(self.not_ok or self.gradients_failed)


def generate(request: Request) -> list[Path]:
    """Make the report the request asks for; return the files written (see :func:`make`)."""
    return make(request).files


def make(request: Request) -> Made:
    """Make the report the request asks for: the files written and what failed.

    Raises :class:`bpcheck.errors.BadInput` for bad input, before anything is written,
    and for an ``--out`` folder the report cannot be written in, before anything is run.
    """
    from bpcheck.report import curves as report_curves
    from bpcheck.report import folder as report_folder
    from bpcheck.report import render as report_render
    from bpcheck.report import tables as report_tables

    if request.check_gradients and request.gradcheck is not None:
        raise BadInput(["--gradcheck: expected a results file or --check-gradients, not both"])
    report_folder.check_folder(request.out, request.formats)
    gradcheck = read_gradcheck(request.gradcheck)
    if request.saved:
        results, fixtures, engines = read_saved(request)
        shown = request.engines or list(results.engines)
    else:
        results, fixtures, engines = run_fixtures(request)
        shown = list(engines)
    if request.check_gradients:
        gradcheck = run_gradcheck(fixtures, engines)
    items = freeze(request, run_metadata(request, results, shown), results)
    multi = [f for f in fixtures if f.problem.steps > 1]
    curves = [report_curves.curve(f, engines) for f in tracked(multi, "loss curves")]
    from bpcheck.diagnose.errata import errata_evidence

    evidence = {key: found.text for key, found in errata_evidence(fixtures).items()}
    report = report_tables.build_report(
        results, shown, items, curves, gradcheck, request.failures_only, evidence
    )
    files = report_render.write(report, request.out, request.formats)
    index = request.out / report_folder.INDEX_NAME
    kept = "md" in request.formats and index not in files
    return Made(
        files=files,
        not_ok=[f.id for f in results.fixtures if f.outcome != OK],
        gradients_failed=[
            f"{entry['fixture']} {entry['engine']} step {entry.get('step', 0)}"
            for entry in (gradcheck or {}).get("gradcheck", [])
            if entry.get("outcome") in ("failed", "errored")
        ],
        index_kept=index if kept else None,
    )
