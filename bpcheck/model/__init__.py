"""The problem model: what a worked example is, independent of how anything computes it.

``problem`` (networks, data, training settings), ``quantities`` (the canonical
names of every number a tutorial prints), ``fixture`` (claims about those
numbers), ``verdicts`` (how a printed number is judged against a value),
``engine`` (the contract every engine implements), ``examples`` (worked examples
as problems) and ``decimals`` (cutting and rounding printed numbers).

This is the bottom layer: it imports nothing else of bpcheck but
``bpcheck.errors``.  Engines may import ``problem``, ``quantities`` and ``engine``
from here, and nothing else of bpcheck.
"""
