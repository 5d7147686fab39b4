"""What a test suite needs from bpcheck: the conformance suite, Hypothesis strategies, the plugin.

``conformance`` holds the checks every engine must pass (``parametrize_with_checks``
for a user's own engine); ``strategies`` and ``fixture_strategies`` draw random
networks, printed numbers and fixture documents for property tests (they import
Hypothesis, so only tests import them); ``plugin`` is the pytest plugin that
collects fixture files.

May import ``bpcheck.checking``, ``bpcheck.io``, ``bpcheck.model`` and
``bpcheck.errors``.
"""

from bpcheck.testing.conformance import parametrize_with_checks

__all__ = ["parametrize_with_checks"]
