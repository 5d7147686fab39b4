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

BUILTIN = {
    "loops": "bpcheck.engines.loops:LoopsEngine",
    "matrices": "bpcheck.engines.matrices:MatricesEngine",
    "autodiff": "bpcheck.engines.autodiff:AutodiffEngine",
}
"""Our engines, in the order reports show them; the first available is the reference."""


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


def all_engines() -> dict[str, Engine]:
    """Built-in engines first, then third-party ones from entry points."""
    targets = dict(BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(point.name, point.value)
    return {name: load_engine(name, target) for name, target in targets.items()}


def select(names: Collection[str] = ()) -> dict[str, Engine]:
    """The engines named (all when none are), or ``KeyError`` naming the unknown one."""
    engines = all_engines()
    if not names:
        return engines
    unknown = [n for n in names if n not in engines]
    if unknown:
        raise KeyError(f"unknown engine {unknown[0]!r}; expected one of {', '.join(engines)}")
    return {name: engines[name] for name in names}
