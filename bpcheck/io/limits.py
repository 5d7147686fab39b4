"""How big an input bpcheck accepts: every limit, its default, and how a user raises one.

A fixture that asks for 10**12 training steps, a thousand layers or a 500 MB
file is refused by the loader with one line (``bpcheck validate`` says so)
instead of hanging a command, exhausting memory or aborting an engine later.
Each limit a user may reasonably want higher is raised with one environment
variable, read wherever a fixture or a results file is loaded (every command,
the pytest plugin and the Python API alike)::

    BPCHECK_LIMITS="steps=5000000,parameters=500000" bpcheck run fixtures/

Limits on the way a number or a document is written are fixed: no float64 and
no fixture needs more, and they keep the arithmetic and the readers bounded.
They are :data:`MAX_NUMBER_LENGTH` and :data:`MAX_DEPTH` here, and the length
and exponent range of a printed number in :mod:`bpcheck.model.verdicts`.  The
docs/fixtures.md, "Limits", lists them all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from bpcheck.errors import BadInput

ENVIRONMENT_VARIABLE = "BPCHECK_LIMITS"
"""``NAME=NUMBER`` pairs separated by commas; names are the fields of :class:`Limits`."""


@dataclass(frozen=True)
class Limits:
    """The limits a user may raise, with their defaults.

    The defaults are far above any worked example of a tutorial (the largest
    bundled fixture trains 10,000 steps of a 10-parameter network) and low
    enough that no command hangs or runs out of memory on a fixture within them.
    """

    bytes: int = 32 * 1024 * 1024
    """Size of any JSON file bpcheck reads (fixtures and ``--json`` results): 32 MiB."""
    parameters: int = 100_000
    """Weights and biases of a fixture's network (a 200-200-2 network has 40,400)."""
    layers: int = 32
    """Layers of weights (a 100-layer network already takes the autodiff engine 14 s and
    600 MB to compile; a thousand layers abort it)."""
    steps: int = 1_000_000
    """Training steps of a fixture: ``problem.steps``, or the steps ``problem.epochs`` make
    (epochs times the updates of an epoch; counted by :func:`bpcheck.io.problem_data.
    limit_errors`, so ``"epochs": 10**15`` is refused, not run)."""

    def raised_by(self, name: str) -> str:
        """How a message tells the user to raise limit ``name``."""
        return f"a limit: {ENVIRONMENT_VARIABLE}={name}=N raises it"


LIMIT_NAMES = tuple(f.name for f in fields(Limits))

MAX_NUMBER_LENGTH = 100
"""Characters of a number written in JSON (a float64 needs at most 17 significant digits
and an exponent; ``1`` followed by 400 zeros is a mistake, not a weight)."""

MAX_DEPTH = 64
"""Nesting of arrays and objects in a JSON file (a fixture is 6 deep, a results file 7)."""


def from_environment(environ: Mapping[str, str] | None = None) -> Limits:
    """The defaults, raised (or lowered) by ``BPCHECK_LIMITS``; BadInput if it is malformed."""
    text = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "")
    changes: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, equals, value = (s.strip() for s in part.partition("="))
        if (
            not equals
            or name not in LIMIT_NAMES
            or not (value.isascii() and value.isdigit() and len(value) <= 18)
        ):
            expected = ", ".join(f"{n}=N" for n in LIMIT_NAMES)
            raise BadInput(
                [
                    f"{ENVIRONMENT_VARIABLE}: expected comma-separated {expected} "
                    f"(N a whole number), found {part!r}"
                ]
            )
        changes[name] = int(value)
    return replace(Limits(), **changes)
