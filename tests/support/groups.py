"""Groups of tests that share what one process remembers, for pytest-xdist's ``loadgroup``.

tox runs ``pytest -n auto --dist loadgroup``: the tests of a group go to one worker, so
what the first computes the others reuse; every other test is balanced as usual.
"""

from __future__ import annotations

import pytest

ZOO_GROUP = pytest.mark.xdist_group("zoo")
"""Tests that make the bug zoo table (a minute of work): on one worker it is made once,
as :mod:`bpcheck.diagnose.zoo` remembers each cell for the rest of the process."""
