"""Gradient checks: finite differences of the loss, an opinion no engine wrote.

Engines can agree and all be wrong in the same way.  This package differentiates
the loss numerically and compares every engine's dE/dθ with it:

* :mod:`.network`: bpcheck's own float64 forward pass and loss;
* :mod:`.error_model`: running error analysis, the rounding part of every tolerance;
* :mod:`.scales`: the scale on which the loss bends along each line, where steps start;
* :mod:`.differences`: the ``central``, ``richardson`` and ``directional`` methods;
* :mod:`.mpmath_reference`: the ``mpmath`` method, the loss at 40 digits;
* :mod:`.check`: one engine on one problem; :mod:`.fixture_check`: on a fixture;
* :mod:`.result`: rows and results; :mod:`.result_file`: the ``--json`` file, typed
  records written and read through ``bpcheck/io/schema/gradcheck-result-v1.schema.json``.

It may import ``bpcheck.model``, ``bpcheck.io`` and ``bpcheck.checking``, never an
engine module (the reference forward pass must stay bpcheck's own, so that a
mistake the engines share cannot hide) and never argparse or ``bpcheck.cli``.
"""

from bpcheck.checking.check import Outcome
from bpcheck.gradcheck.check import AUTO_DIRECTIONAL_ABOVE, METHODS, check_gradients
from bpcheck.gradcheck.fixture_check import gradcheck_fixture
from bpcheck.gradcheck.result import GradcheckResult, Row, Status
from bpcheck.gradcheck.result_file import (
    CheckRecord,
    GradcheckRun,
    RowRecord,
    read_gradcheck_results,
    write_gradcheck_results,
)

__all__ = [
    "AUTO_DIRECTIONAL_ABOVE",
    "METHODS",
    "CheckRecord",
    "GradcheckResult",
    "GradcheckRun",
    "Outcome",
    "Row",
    "RowRecord",
    "Status",
    "check_gradients",
    "gradcheck_fixture",
    "read_gradcheck_results",
    "write_gradcheck_results",
]
