"""Which engines exist: ours, plus any a user installs under the ``bpcheck.engines`` group.

An engine that cannot even be imported (its dependency is missing) is still
listed, as unavailable with the reason, so that nothing disappears silently.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from importlib.metadata import entry_points

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

DISPLAY_ORDER = (REFERENCE, "matrices", "autodiff")
"""Only the order in which tables show engines: from the plainest to the most abstract.
Engines not named here follow in the order of their names."""


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
    """Import ``module:Class`` and instantiate it; never raise for a missing dependency."""
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        engine: Engine = getattr(module, class_name)()
    except Exception as error:  # a broken plug-in must not take the harness down
        return UnloadableEngine(name, f"cannot load {target}: {type(error).__name__}: {error}")
    return engine


def _targets() -> dict[str, str]:
    """Every registered engine name and its ``module:Class``, in display order."""
    targets = {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}

    def rank(name: str) -> tuple[int, str]:
        order = DISPLAY_ORDER.index(name) if name in DISPLAY_ORDER else len(DISPLAY_ORDER)
        return order, name

    return {name: targets[name] for name in sorted(targets, key=rank)}


def names() -> list[str]:
    """Every registered engine's name, in display order, without importing any engine."""
    return list(_targets())


def all_engines() -> dict[str, Engine]:
    """Every registered engine, ours first."""
    return {name: load_engine(name, target) for name, target in _targets().items()}


def select(names: Collection[str] = ()) -> dict[str, Engine]:
    """The engines named (all when none are), or ``KeyError`` naming the unknown one.

    Only the engines named are imported and instantiated.
    """
    targets = _targets()
    if not names:
        return all_engines()
    unknown = [n for n in names if n not in targets]
    if unknown:
        raise KeyError(f"unknown engine {unknown[0]!r}; expected one of {', '.join(targets)}")
    return {name: load_engine(name, targets[name]) for name in names}


def reference_engine() -> Engine:
    """The reference engine (see :data:`REFERENCE`)."""
    return select([REFERENCE])[REFERENCE]
