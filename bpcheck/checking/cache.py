"""A cache of engines' traces, so that a fixture nobody changed is not computed again.

``bpcheck run`` and ``bpcheck claim`` spend nearly all their time in the engines,
and most of it recomputing what the last run computed.  The cache keeps the values
of each step an engine computed, under a key that holds everything they depend on:

* the engine: its registered name, what it is (``module:Class``), its own
  ``version``, and a fingerprint of its code (every file of the package it lives
  in, the problem model it reads, and the name and version of every distribution
  installed, JAX and NumPy included);
* the problem: every weight, bias, input, target and setting, as exact floats;
* the step, and whether an update follows it (in ``sequential`` order the lower
  layers' deltas flow through weights updated in the same step).

So a changed fixture, a changed weight, a new engine version, an edited engine or
an upgraded dependency is a different key: a miss, never a stale result.  Reading a
step does not depend on how many steps follow it (the engine contract), which is
what lets ``claim`` reuse the steps ``run`` computed and compute only the new one.

The folder (:func:`default_folder`: ``BPCHECK_CACHE_DIR``, else the user's cache
folder) is safe to delete at any time; every file is written atomically (a new file
renamed over the name), so that processes running side by side (``run -j``,
``pytest -n``) can share it.  A file that cannot be read is a miss.
``BPCHECK_NO_CACHE=1`` or ``--no-cache`` turns it off.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bpcheck.checking.cache_keys import (
    FORMAT,
    code_fingerprint,
    digest,
    problem_key,
    step_key,
    structure,
)
from bpcheck.checking.isolation import EngineFailed
from bpcheck.checking.traces import checked_trace
from bpcheck.model.engine import Availability, Enclosures, Engine, encloses
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import EXTENDED, Trace

LARGEST = 64
"""The runs computed in one batch (the autodiff engine pads a batch to 1, 8 or 64)."""


def default_folder() -> Path:
    """``BPCHECK_CACHE_DIR``, else the platform's folder for a user's caches, ``/bpcheck``."""
    chosen = os.environ.get("BPCHECK_CACHE_DIR")
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bpcheck"


def disabled_by_environment() -> bool:
    """``BPCHECK_NO_CACHE`` set to anything but ``""`` or ``0``."""
    return os.environ.get("BPCHECK_NO_CACHE", "") not in ("", "0")


@dataclass(frozen=True)
class Description:
    """What an engine says about itself; kept so that a hit need not load the engine."""

    version: str
    capabilities: frozenset[str]
    available: bool
    reason: str | None
    certifies: bool
    batches: bool = False


class TraceCache:
    """Steps of traces and engine descriptions, as JSON files under ``folder``.

    ``hits`` and ``misses`` count the steps looked up, for tests and for curiosity.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0

    # --- steps ----------------------------------------------------------------------

    def _step_path(self, key: str) -> Path:
        return self.folder / "traces" / f"v{FORMAT}" / key[:2] / f"{key}.json"

    def get_step(self, key: str) -> dict[str, float] | None:
        values = _read_json(self._step_path(key))
        if not isinstance(values, dict) or not all(
            isinstance(v, float | int) and not isinstance(v, bool) for v in values.values()
        ):
            self.misses += 1
            return None
        self.hits += 1
        return {str(name): float(value) for name, value in values.items()}

    def has_step(self, key: str) -> bool:
        return self._step_path(key).is_file()

    def put_step(self, key: str, values: dict[str, float]) -> None:
        # repr of a float reads back as the same float; NaN and infinities as JSON's extensions.
        _write_json(self._step_path(key), values)

    # --- certified values -----------------------------------------------------------

    def _enclosures_path(self, key: str) -> Path:
        return self.folder / "enclosures" / f"v{FORMAT}" / key[:2] / f"{key}.json"

    def has_enclosures(self, key: str) -> bool:
        return self._enclosures_path(key).is_file()

    def get_enclosures(self, key: str) -> Enclosures | None:
        found = _read_json(self._enclosures_path(key))
        try:
            enclosures = Enclosures(
                bounds={
                    int(step): {str(n): (str(low), str(high)) for n, (low, high) in values.items()}
                    for step, values in found["bounds"].items()
                },
                float64={
                    int(step): {str(n): float(r) for n, r in values.items()}
                    for step, values in found["float64"].items()
                },
                precision=int(found["precision"]),
                digits=float(found["digits"]),
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            self.misses += 1
            return None
        self.hits += 1
        return enclosures

    def put_enclosures(self, key: str, enclosures: Enclosures) -> None:
        with contextlib.suppress(TypeError, ValueError):  # not plain data: checked, not kept
            _write_json(self._enclosures_path(key), _plain_enclosures(enclosures))

    # --- engines --------------------------------------------------------------------

    def _description_path(self, key: str) -> Path:
        return self.folder / "engines" / f"v{FORMAT}" / f"{key}.json"

    def get_description(self, key: str) -> Description | None:
        found = _read_json(self._description_path(key))
        try:
            return Description(
                version=str(found["version"]),
                capabilities=frozenset(str(c) for c in found["capabilities"]),
                available=bool(found["available"]),
                reason=None if found["reason"] is None else str(found["reason"]),
                certifies=bool(found["certifies"]),
                batches=bool(found["batches"]),
            )
        except (TypeError, KeyError):
            return None

    def put_description(self, key: str, description: Description) -> None:
        plain = asdict(description)
        plain["capabilities"] = sorted(description.capabilities)
        _write_json(self._description_path(key), plain)


def _read_json(path: Path) -> Any:
    """The file's JSON, or None when it is absent, unreadable or not JSON (a miss)."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _plain_enclosures(enclosures: Enclosures) -> dict[str, Any]:
    """Enclosures as JSON takes them; not ``dataclasses.asdict``, which deep-copies every
    bound first (a tenth of the checking of 500 generated fixtures went there)."""
    return {
        "bounds": enclosures.bounds,
        "float64": enclosures.float64,
        "precision": enclosures.precision,
        "digits": enclosures.digits,
    }


def _write_json(path: Path, value: Any) -> None:
    """Write atomically (a new file renamed over the name); a cache that cannot be written
    is no cache, never an error.

    Not :func:`bpcheck.io.files.write_atomically`, which syncs each file to the disk
    (10 ms apiece here: a cold run writes hundreds): after a crash an entry may be lost
    or empty, and an empty or cut file is not JSON, so it reads as a miss.
    """
    text = json.dumps(value, separators=(",", ":"))
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def open_cache(enabled: bool = True) -> TraceCache | None:
    """The cache in :func:`default_folder`, or None when turned off (argument or environment)."""
    if not enabled or disabled_by_environment():
        return None
    return TraceCache(default_folder())


# --- an engine behind the cache -----------------------------------------------------------


class CachedEngine:
    """An engine whose steps come from the cache when computed before (see the module).

    The engine's description (version, capabilities, availability) is kept too,
    under its code's fingerprint, so that when every step is a hit the engine is
    not even loaded: no worker started, no JAX imported.
    """

    def __init__(self, inner: Engine, cache: TraceCache, name: str) -> None:
        self.inner = inner
        self.cache = cache
        self.name = name
        target = getattr(inner, "target", None)
        if not isinstance(target, str):
            target = f"{type(inner).__module__}:{type(inner).__qualname__}"
        self.target = target
        self._fingerprint: str | None = None
        self._description: Description | None = None
        self._from_cache = False

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = code_fingerprint(self.target.partition(":")[0])
        return self._fingerprint

    @property
    def description_key(self) -> str:
        """The engine's class and code: engines of one package share the fingerprint only."""
        return digest(self.target, self.fingerprint)

    def describe(self) -> Description:
        """Kept, or asked of the engine (loading it) and kept when it loaded."""
        if self._description is None:
            in_process = not hasattr(self.inner, "failure")
            kept = None if in_process else self.cache.get_description(self.description_key)
            if kept is not None:
                self._description, self._from_cache = kept, True
            else:
                status = self.inner.available()
                self._description = Description(
                    version=str(self.inner.version),
                    capabilities=frozenset(self.inner.capabilities),
                    available=status.available,
                    reason=status.reason,
                    certifies=encloses(self.inner),
                    batches=batches(self.inner),
                )
                if not in_process and self.failure() is None:
                    self.cache.put_description(self.description_key, self._description)
        return self._description

    @property
    def version(self) -> str:
        return self.describe().version

    @version.setter
    def version(self, value: str) -> None:
        """The contract declares a plain attribute; the engine's own is the only right value."""
        raise AttributeError("a cached engine's version is its engine's")

    @property
    def capabilities(self) -> frozenset[str]:
        return self.describe().capabilities

    @capabilities.setter
    def capabilities(self, value: frozenset[str]) -> None:
        raise AttributeError("a cached engine's capabilities are its engine's")

    @property
    def extended(self) -> bool:
        """Whether the engine records the extended names (``quantity:extended``)."""
        return EXTENDED in self.capabilities

    @property
    def certifies(self) -> bool:
        return self.describe().certifies

    def available(self) -> Availability:
        """The engine's; one that failed to load raises, to be ``errored`` and not ``skipped``."""
        description = self.describe()
        failure = self.failure()
        if failure is not None:
            raise EngineFailed(failure)
        return Availability(description.available, description.reason)

    def failure(self) -> str | None:
        """The inner engine's failure to load; none when its description was kept."""
        if self._from_cache:
            return None
        failure = getattr(self.inner, "failure", None)
        return failure() if callable(failure) else None

    def warm(self, problem: Problem | None = None, record: Collection[int] = ()) -> None:
        """Start loading the engine (in its worker) now, unless the cache may spare it.

        Given the problem about to be run, the engine is loaded only when a step is
        missing; so that engines that must compute load side by side, not one by one.
        """
        warm = getattr(self.inner, "warm", None)
        if not callable(warm):
            return
        described = self.cache.get_description(self.description_key) is not None
        if not described or (problem is not None and not self.has(problem, record)):
            warm()

    def _enclose_key(self, problem: Problem, record: Collection[int]) -> str:
        """Enclosures are kept whole: their precision and digits are the whole run's."""
        engine = digest(self.name, self.target, self.version, self.fingerprint)
        return digest(FORMAT, "enclose", engine, problem, sorted(set(record)))

    def enclose(self, problem: Problem, record: Collection[int]) -> Enclosures:
        """The engine's enclosures of the whole run, kept like a trace's steps."""
        key = self._enclose_key(problem, record)
        kept = self.cache.get_enclosures(key)
        if kept is not None:
            return kept
        enclosed: Enclosures = getattr(self.inner, "enclose")(problem, record)  # noqa: B009
        if isinstance(enclosed, Enclosures):
            self.cache.put_enclosures(key, enclosed)
        return enclosed

    def _keys(self, problem: Problem, record: Collection[int]) -> dict[int, str]:
        engine = digest(self.name, self.target, self.version, self.fingerprint)
        shape = problem_key(problem)
        return {s: step_key(engine, shape, s, s < problem.steps) for s in set(record)}

    def has(self, problem: Problem, record: Collection[int]) -> bool:
        """Whether every step is kept (so running it costs no engine time)."""
        if self.certifies:
            return self.cache.has_enclosures(self._enclose_key(problem, record))
        return all(self.cache.has_step(key) for key in self._keys(problem, record).values())

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        """Kept steps from the cache; the others computed, training no further than needed.

        The engine runs only up to the last step missing (one more, when an update
        follows it in ``problem``, so that it is computed as part of the longer run).
        """
        keys = self._keys(problem, record)
        trace: Trace = {}
        for step, key in keys.items():
            found = self.cache.get_step(key)
            if found is not None:
                trace[step] = found
        missing = sorted(set(keys) - set(trace))
        if missing:
            last = missing[-1]
            shorter = replace(problem, steps=last if last == problem.steps else last + 1)
            ran = self.inner.run(shorter, missing)
            computed = checked_trace(ran, shorter, missing, extended=self.extended)
            for step in missing:
                trace[step] = computed[step]
                self.cache.put_step(keys[step], computed[step])
        return dict(sorted(trace.items()))

    def pending_batches(
        self, runs: Sequence[tuple[Problem, Collection[int]]], largest: int = LARGEST
    ) -> list[list[tuple[Problem, Collection[int]]]]:
        """The runs not kept yet, in the batches :meth:`prefetch` computes them (none if
        the engine does not batch): ``largest`` runs of one structure, step count and
        record each.

        Only full batches: a JAX engine compiles each batch size anew for every shape
        (1.2 s at 64, about 0.8 s alone) and a run costs it milliseconds, so a batch
        pays only when it is full; the runs left over are computed one by one.
        """
        if not self.describe().batches or self.failure() is not None:
            return []
        groups: dict[tuple[object, ...], list[tuple[Problem, Collection[int]]]] = {}
        for problem, record in runs:
            if not self.has(problem, record):
                groups.setdefault(structure(problem, record), []).append((problem, record))
        return [
            group[start : start + largest]
            for group in groups.values()
            for start in range(0, len(group) - largest + 1, largest)
        ]

    def prefetch(
        self, runs: Sequence[tuple[Problem, Collection[int]]], largest: int = LARGEST
    ) -> None:
        """Compute, in batches, the runs not kept yet, for an engine that batches (``run_many``).

        Each of :meth:`pending_batches` goes to the engine in one call; the steps are kept,
        so that the runs that follow are hits.
        """
        for batch in self.pending_batches(runs, largest):
            problems = [problem for problem, _ in batch]
            record = set(batch[0][1])
            try:
                traces = getattr(self.inner, "run_many")(problems, record)  # noqa: B009
                checked = [
                    checked_trace(t, p, record, extended=self.extended)
                    for t, p in zip(traces, problems)
                ]
            except Exception:  # each run then says what is wrong, fixture by fixture
                return
            for problem, trace in zip(problems, checked, strict=True):
                keys = self._keys(problem, record)
                for step, values in trace.items():
                    self.cache.put_step(keys[step], values)


def batches(engine: Engine) -> bool:
    """Whether the engine has the optional ``run_many`` (an isolated one says so itself)."""
    said = getattr(engine, "batches", None)
    return said if isinstance(said, bool) else callable(getattr(engine, "run_many", None))


def prefetch(engines: dict[str, Engine], runs: Sequence[tuple[Problem, Collection[int]]]) -> None:
    """Every engine that batches computes the runs it has not kept, in batches (see above)."""
    for engine in engines.values():
        if isinstance(engine, CachedEngine):
            engine.prefetch(runs)


def batches_to_compute(
    engines: dict[str, Engine], runs: Sequence[tuple[Problem, Collection[int]]]
) -> list[list[tuple[Problem, Collection[int]]]]:
    """The batches :func:`prefetch` would compute, for each engine that batches, so that
    processes side by side can take one each (``run -j``)."""
    return [
        batch
        for engine in engines.values()
        if isinstance(engine, CachedEngine)
        for batch in engine.pending_batches(runs)
    ]


def cached(engines: dict[str, Engine], cache: TraceCache | None) -> dict[str, Engine]:
    """The engines behind ``cache`` (unchanged when it is None).

    An engine whose ``cacheable`` is False is left out: an external program
    (:mod:`bpcheck.checking.external`) has no code bpcheck can fingerprint.
    """
    if cache is None:
        return engines
    return {
        name: CachedEngine(engine, cache, name) if getattr(engine, "cacheable", True) else engine
        for name, engine in engines.items()
    }


def warm(engines: dict[str, Engine], problem: Problem, record: Collection[int]) -> None:
    """Start loading, side by side, every engine that has a step of the run to compute."""
    for engine in engines.values():
        if isinstance(engine, CachedEngine):
            engine.warm(problem, record)
