"""Spelling hints ("did you mean 'w[1,2,1]'?") at a bounded cost.

``difflib.get_close_matches`` compares a name with every candidate: against the
80,000 names of one step of a 200-200-2 network that took 1.2 s per unknown
name.  A hint is worth a few milliseconds, not that: the candidates compared are
at most :data:`MAX_CANDIDATES`, taken from at most :data:`MAX_SCANNED` names, and
only those of the same shape as the name (the same brackets and commas:
``out[1,2]`` is compared with ``net[2,1]@1``, never with ``w[1,2,1]``).  A
misspelt letter keeps its shape, so it still finds its name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from itertools import chain, islice

MAX_SCANNED = 20_000
"""Names looked at per group of candidates (a network's names come layer by layer)."""

MAX_CANDIDATES = 500
"""Names of the right shape compared per hint."""

_NOT_SHAPE = re.compile(r"[^\[\],]")


def shape(name: str) -> str:
    """The brackets and commas of a name: ``"[,]"`` for ``out[1,2]@1``, ``""`` for an alias."""
    return _NOT_SHAPE.sub("", name)


def close_match(name: str, *groups: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (difflib's ratio of at least 0.6), if any.

    Each group of candidates (aliases, a step's names, a sample's names) is read
    up to :data:`MAX_SCANNED` names; at most :data:`MAX_CANDIDATES` of ``name``'s
    shape are compared.
    """
    wanted = shape(name)
    scanned = chain.from_iterable(islice(group, MAX_SCANNED) for group in groups)
    alike = islice((c for c in scanned if shape(c) == wanted), MAX_CANDIDATES)
    close = difflib.get_close_matches(name, list(alike), n=1)
    return close[0] if close else None


def hint(name: str, *groups: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or nothing."""
    close = close_match(name, *groups)
    return f" (did you mean {close!r}?)" if close else ""
