"""Evidence: what an explanation reproduces, what it contradicts, and how often chance would.

An explanation of a wrong printed number is worth what the *other* printed
numbers say about it.  Each explanation lists the printed numbers it turns into
matches (``reproduces``) and those it turns from matches into non-matches
(``contradicts``).  One backed by no printed number of another quantity is
``weak``: it says how the number could have come about, not that it did.

A search that tries many slips will hit many numbers by luck.  The chance of a
family at a printed number is estimated as a careful reader would: take the
number as it should have been printed, make every one-digit typing slip of it
(one digit changed, two neighbours swapped: what random noise on the digits
gives), and count the share of those wrong numbers that some member of the family
also reproduces.  An explanation of ``n`` quantities is offered only when the
product of their chances is at most :data:`CHANCE_LIMIT`: one that would hit a
random wrong number as often as this one is no explanation.  And it is backed by
other numbers (not ``weak``) only if the product of the chances of those others
is at most the limit too: a slip that nudges a value across the rounding
boundary of a number printed a line below does not make the slip likely.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from bpcheck.diagnose.variants import digit_edits
from bpcheck.model.decimals import at_places, places_of

CHANCE_LIMIT = 0.1
"""An explanation whose hits random digit noise would match more often than this is dropped."""


def noise(value: float, printed: str) -> set[Decimal]:
    """The wrong numbers one typing slip makes of ``value`` as it should have been printed."""
    if not math.isfinite(value):
        return set()
    correct = str(at_places(value, places_of(printed), "round"))
    return {Decimal(edit) for edit in digit_edits(correct) if Decimal(edit) != Decimal(correct)}


def as_printed(value: float, places: int) -> Decimal | None:
    """``value`` rounded at ``places`` decimals, as a number (None if it is not finite).

    Python's ``%.Nf`` rounds the exact binary value half to even, as
    :func:`~bpcheck.model.decimals.at_places` does, and much faster.
    """
    if not math.isfinite(value):
        return None
    if places >= 0:
        return Decimal(f"{value:.{places}f}")
    return at_places(value, places, "round")


def chance(value: float, printed: str, family: Iterable[float]) -> float:
    """Share of the one-slip wrong prints of ``value`` that some value of ``family`` matches."""
    wrong = noise(value, printed)
    if not wrong:
        return 0.0
    places = places_of(printed)
    hits = {as_printed(v, places) for v in set(family)}
    return len(wrong & hits) / len(wrong)


def offered(chances: Iterable[float]) -> bool:
    """Whether an explanation hitting numbers with these chances beats chance."""
    return math.prod(chances) <= CHANCE_LIMIT
