"""bpcheck: a verification and regression test harness for backpropagation.

The public API, for use from Python (everything else is internal and may change):

* fixtures: :func:`load` one file, :func:`load_all` files and folders
  (``FixtureError`` / ``BadInput`` say what is wrong, one line each);
* checking: :func:`check_fixture` runs engines on a fixture and judges every
  claim; :func:`select_engines` finds the installed engines (by name, or all);
  :func:`verdict` judges one printed number against a value;
* the engine contract: :class:`Engine`, :class:`Availability`, :class:`CannotRun`,
  the problem model :class:`Problem` and :class:`Layer`;
* the conformance suite: :func:`parametrize_with_checks`, :func:`failing_checks`;
* gradient checks: :mod:`bpcheck.gradcheck` (imported on first use: it needs NumPy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bpcheck.checking.check import FixtureResult, Outcome, check_fixture
    from bpcheck.checking.registry import select as select_engines
    from bpcheck.errors import BadInput, ExitCode
    from bpcheck.io.loader import FixtureError, load, load_all
    from bpcheck.model.engine import Availability, CannotRun, Engine
    from bpcheck.model.fixture import Claim, Fixture
    from bpcheck.model.problem import Layer, Problem
    from bpcheck.model.verdicts import verdict
    from bpcheck.testing.conformance import failing_checks, parametrize_with_checks

__version__ = "0.1.0"

__all__ = [
    "Availability",
    "BadInput",
    "CannotRun",
    "Claim",
    "Engine",
    "ExitCode",
    "Fixture",
    "FixtureError",
    "FixtureResult",
    "Layer",
    "Outcome",
    "Problem",
    "__version__",
    "check_fixture",
    "failing_checks",
    "gradcheck",
    "load",
    "load_all",
    "parametrize_with_checks",
    "select_engines",
    "verdict",
]


_PUBLIC = {
    "Availability": "bpcheck.model.engine",
    "BadInput": "bpcheck.errors",
    "CannotRun": "bpcheck.model.engine",
    "Claim": "bpcheck.model.fixture",
    "Engine": "bpcheck.model.engine",
    "ExitCode": "bpcheck.errors",
    "Fixture": "bpcheck.model.fixture",
    "FixtureError": "bpcheck.io.loader",
    "FixtureResult": "bpcheck.checking.check",
    "Layer": "bpcheck.model.problem",
    "Outcome": "bpcheck.checking.check",
    "Problem": "bpcheck.model.problem",
    "check_fixture": "bpcheck.checking.check",
    "failing_checks": "bpcheck.testing.conformance",
    "load": "bpcheck.io.loader",
    "load_all": "bpcheck.io.loader",
    "parametrize_with_checks": "bpcheck.testing.conformance",
    "verdict": "bpcheck.model.verdicts",
}
"""Where each public name lives; imported on first use, so ``import bpcheck`` stays cheap."""


def __getattr__(name: str) -> Any:
    """A public name, imported on first use (``gradcheck`` is the sub-package: it needs NumPy)."""
    if name == "gradcheck":
        return importlib.import_module("bpcheck.gradcheck")
    if name == "select_engines":
        return importlib.import_module("bpcheck.checking.registry").select
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'bpcheck' has no attribute {name!r}")
