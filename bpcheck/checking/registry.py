"""Which engines exist: ours, plus any a user installs under the ``bpcheck.engines`` group.

An engine that cannot even be imported (its dependency is missing) is still
listed, as unavailable with the reason, so that nothing disappears silently.
Engines handed out here run in worker processes (:mod:`bpcheck.checking.isolation`)
and are filed under their registered name, whatever they call themselves; only
:func:`in_process` (for tests) builds them here.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from dataclasses import dataclass
from importlib.metadata import entry_points

from bpcheck.checking.external import ExternalEngine
from bpcheck.checking.isolation import IsolatedEngine, isolated
from bpcheck.defaults import DEFAULT_TIMEOUT
from bpcheck.model.engine import Availability, CannotRun, Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace

ENTRY_POINT_GROUP = "bpcheck.engines"
"""The one registry: bpcheck's own engines and a user's are all entry points of this group."""

REFERENCE = "loops"
"""The reference engine: the one whose values docs, diagnose and the bug zoo quote as "the
true value" when a single engine must be asked.  It is the plainest code (scalar Python,
one weight at a time, as the tutorials write it); agreement with the others is checked
separately, so choosing it makes no number more trusted than the agreement makes it."""

DISPLAY_ORDER = (REFERENCE, "matrices", "autodiff", "certified")
"""Only the order in which tables show engines: from the plainest to the most abstract, then
the one that certifies its values (a claim's verdict is its verdict when it ran:
docs/verdicts.md).  Engines not named here follow in the order of their names."""


class UnloadableEngine:
    """Stands in for an engine whose module failed to import."""

    version = "?"
    capabilities: frozenset[str] = frozenset()

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def available(self) -> Availability:
        return Availability(False, self.reason)

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise CannotRun(self.reason)


def load_engine(name: str, target: str) -> Engine:
    """Import ``module:Class``, instantiate it here; never raise for an ordinary error.

    For tests and trusted callers only: what the registry hands out runs in a
    worker process (:func:`select`).
    """
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        engine: Engine = getattr(module, class_name)()
    except Exception as error:  # a broken plug-in must not take the harness down
        return UnloadableEngine(name, f"cannot load {target}: {type(error).__name__}: {error}")
    return engine


@dataclass(frozen=True)
class Registration:
    """One entry point of the group: an engine name, its ``module:Class`` and who declares it."""

    name: str
    target: str
    distribution: str
    """``name version`` of the installed distribution that declares the entry point."""


def registrations() -> dict[str, list[Registration]]:
    """Every registered name, in display order, with its registrations (one, unless clashing).

    Reads installed metadata only: no engine is imported.
    """
    found: dict[str, list[Registration]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        dist = point.dist
        owner = "an unknown distribution" if dist is None else f"{dist.name} {dist.version}"
        found.setdefault(point.name, []).append(Registration(point.name, point.value, owner))

    def rank(name: str) -> tuple[int, str]:
        order = DISPLAY_ORDER.index(name) if name in DISPLAY_ORDER else len(DISPLAY_ORDER)
        return order, name

    return {name: found[name] for name in sorted(found, key=rank)}


def clash(registered: list[Registration]) -> str | None:
    """Why a name declared by more than one distribution cannot be used, or None."""
    if len(registered) < 2:
        return None
    owners = " and ".join(f"{r.distribution} ({r.target})" for r in registered)
    return (
        f"the engine name {registered[0].name!r} is registered by {owners}; "
        "expected each name once (uninstall one, or rename its entry point)"
    )


def names() -> list[str]:
    """Every registered engine's name, in display order, without importing any engine."""
    return list(registrations())


def select(names: Collection[str] = (), timeout: float = DEFAULT_TIMEOUT) -> dict[str, Engine]:
    """The engines named (all when none are), each in its worker process; ``KeyError`` if unknown.

    Nothing is imported here: a worker loads its engine when first asked (see
    :mod:`bpcheck.checking.isolation`).  A name two distributions register is an
    engine that is ``errored`` with both named, and never runs.
    """
    if not names:
        return with_timeout(all_engines(), timeout)
    found = registrations()
    unknown = [n for n in names if n not in found]
    if unknown:
        raise KeyError(f"unknown engine {unknown[0]!r}; expected one of {', '.join(found)}")
    return {name: _isolated(found[name], timeout) for name in names}


def all_engines() -> dict[str, Engine]:
    """Every registered engine, ours first, each in its worker process."""
    return {name: _isolated(registered) for name, registered in registrations().items()}


def _isolated(registered: list[Registration], timeout: float = DEFAULT_TIMEOUT) -> Engine:
    name, target = registered[0].name, registered[0].target
    return isolated(name, target, timeout=timeout, failure=clash(registered))


def reference_engine() -> Engine:
    """The reference engine (see :data:`REFERENCE`), in its worker process."""
    return select([REFERENCE])[REFERENCE]


def in_process(names: Collection[str] = ()) -> dict[str, Engine]:
    """The engines named (all when none are), imported and instantiated in this process.

    For tests, which build and inspect engines directly; a clashing name is an
    unloadable engine.
    """
    found = registrations()
    engines: dict[str, Engine] = {}
    for name in names or found:
        registered = found[name]
        reason = clash(registered)
        engines[name] = (
            UnloadableEngine(name, reason) if reason else load_engine(name, registered[0].target)
        )
    return engines


def with_timeout(engines: dict[str, Engine], seconds: float) -> dict[str, Engine]:
    """The same engines, those in worker or external processes with ``seconds`` as their timeout."""
    return {
        name: engine.with_timeout(seconds)
        if isinstance(engine, IsolatedEngine | ExternalEngine)
        else engine
        for name, engine in engines.items()
    }
