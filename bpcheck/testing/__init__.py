"""What a test suite needs from bpcheck: the conformance suite, Hypothesis strategies, the plugin.

``conformance`` holds the checks every engine must pass (``parametrize_with_checks``
for a user's own engine); ``strategies`` and ``fixture_strategies`` draw random
networks, printed numbers and fixture documents for property tests (they import
Hypothesis, so only tests import them); ``plugin`` is the pytest plugin that
collects fixture files, with its items in ``plugin_items``.

pytest imports ``plugin`` in every project of an environment where bpcheck is
installed, which imports this package first: so nothing is imported here until it
is used (``parametrize_with_checks`` loads the conformance suite on first use).

May import ``bpcheck.checking``, ``bpcheck.io``, ``bpcheck.model`` and
``bpcheck.errors``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bpcheck.testing.conformance import parametrize_with_checks

__all__ = ["parametrize_with_checks"]


def __getattr__(name: str) -> Any:
    if name == "parametrize_with_checks":
        return importlib.import_module("bpcheck.testing.conformance").parametrize_with_checks
    raise AttributeError(f"module 'bpcheck.testing' has no attribute {name!r}")
