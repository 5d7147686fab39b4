"""Fixtures checked in worker processes, side by side (``bpcheck run -j N``).

Each worker process builds its own engines once (with ``make_engines``, which
must pickle: a module-level function, or a ``functools.partial`` of one) and
checks the fixtures it is handed; results come back in the order of the
fixtures, so the output is the same whatever ``N`` is.  Processes start with
``spawn``: a fork of a process that already drives engine workers (pipes,
threads) would share them.  A fixture whose steps are all in the cache is
checked here instead, since a process costs more to start than a hit.  Full batches
of runs for an engine that batches go to the processes first, one batch each, so that
the shape of a batch compiles in one process, not in this one while the others wait.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import replace

from bpcheck.checking.cache import CachedEngine, batches_to_compute, prefetch, warm
from bpcheck.checking.check import FixtureResult, check_fixture, trained_as_far_as
from bpcheck.checking.derived import record_of
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import Problem

EngineFactory = Callable[[], dict[str, Engine]]

_ENGINES: dict[str, Engine] = {}
"""The engines of this worker process, built once by :func:`_start`."""


def all_kept(fixture: Fixture, engines: dict[str, Engine]) -> bool:
    """Whether every engine has every step of the fixture in the cache."""
    record = record_of(fixture)
    problem = trained_as_far_as(fixture.problem, record)
    return all(isinstance(e, CachedEngine) and e.has(problem, record) for e in engines.values())


def check_fixtures(
    fixtures: list[Fixture],
    engines: dict[str, Engine],
    make_engines: EngineFactory,
    jobs: int,
) -> Iterator[FixtureResult]:
    """Every fixture checked, in order; those that need an engine's time in ``jobs`` processes.

    ``engines`` are this process's (used for fixtures the cache answers, and for all
    of them when one process is enough); ``make_engines`` builds the same in a worker.
    """
    runs = []
    for fixture in fixtures:
        record = record_of(fixture)
        runs.append((trained_as_far_as(fixture.problem, record), record))
    batches = batches_to_compute(engines, runs)  # for the engines that batch
    if min(jobs, len(batches)) < 2:  # computed here: no second process would take one
        for batch in batches:
            prefetch(engines, batch)
        batches = []
    work = [not all_kept(fixture, engines) for fixture in fixtures]
    processes = min(jobs, max(sum(work), len(batches)))
    if processes < 2:
        yield from (checked(fixture, engines) for fixture in fixtures)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        processes, context, initializer=_start, initargs=(make_engines,)
    ) as pool:
        if batches:  # each process computes whole batches, so a shape compiles once
            wait([pool.submit(_prefetch, batch) for batch in batches])
            work = [not all_kept(fixture, engines) for fixture in fixtures]
        futures = [
            pool.submit(_check, fixture) if needed else None
            for fixture, needed in zip(fixtures, work, strict=True)
        ]
        for fixture, future in zip(fixtures, futures, strict=True):
            yield checked(fixture, engines) if future is None else _ours(future.result(), fixture)


def _ours(result: FixtureResult, fixture: Fixture) -> FixtureResult:
    """``result`` holding this process's ``fixture``, not the copy a process sent back: a
    run keeps every result, and would otherwise hold every fixture twice."""
    result.fixture = fixture
    return result


def _start(make_engines: EngineFactory) -> None:
    _ENGINES.update(make_engines())


def _prefetch(batch: list[tuple[Problem, Collection[int]]]) -> None:
    prefetch(_ENGINES, batch)


def _check(fixture: Fixture) -> FixtureResult:
    return checked(fixture, _ENGINES)


def checked(fixture: Fixture, engines: dict[str, Engine]) -> FixtureResult:
    """:func:`check_fixture`, the engines that must compute loading side by side first.

    The result keeps what a run reports (outcomes, claims judged, disagreements,
    the precision of certified values) and drops the traces and enclosures, every
    quantity of every recorded step, once the claims are judged: kept for 10,000
    fixtures they are gigabytes, and ``run`` never shows them.
    """
    record = record_of(fixture)
    warm(engines, trained_as_far_as(fixture.problem, record), record)
    result = check_fixture(fixture, engines)
    for run in result.runs:
        run.trace = {}
        if run.enclosures is not None:
            run.enclosures = replace(run.enclosures, bounds={}, float64={})
    return result
