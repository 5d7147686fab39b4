"""The defaults a command's ``--help`` shows, in a module that imports nothing heavy.

``bpcheck --help`` imports every command module; were these values defined where they are
used (the engines' isolation, the report writer, the diagnosis), it would import the
engines, jsonschema and rich to print them.  The modules that use them import them from
here, so the help and the behaviour cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os

DEFAULT_TIMEOUT = 60.0
"""Seconds one request to an isolated engine may take (loading it, or one run): generous
for JAX compiles."""

DEFAULT_BUDGET = 1.0
"""Seconds per fixture for the diagnosis variants' long runs (``--budget``); the variants a
fixture accepts as a diagnosis are run whatever the budget."""

DEFAULT_TOLERANCE = 1e-12
"""Relative change of an engine's value that ``bpcheck compare`` counts as drift (engines
agree to this)."""

EXPLAIN_FORMATS = ("md", "html")
"""What ``bpcheck explain`` writes."""

REPORT_FORMATS = ("md", "html", "csv", "json")
"""What ``bpcheck report`` writes, in this order."""

DEFAULT_REPORT_FORMATS = "md,html,csv"

SYNC = "bpcheck sync"
"""The one command that regenerates every generated file (``tox -e sync`` runs it)."""


def default_jobs() -> int:
    """``-j`` when not given: ``BPCHECK_JOBS``, else the cores this process may use."""
    with contextlib.suppress(ValueError):
        return max(1, int(os.environ.get("BPCHECK_JOBS", "")))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1
