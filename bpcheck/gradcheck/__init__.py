"""Gradient checks: finite differences of the loss, an opinion no engine wrote.

Engines can agree and all be wrong in the same way.  This package differentiates
the loss numerically and compares every engine's dE/dθ with it:

* :mod:`.network`: bpcheck's own float64 forward pass and loss;
* :mod:`.error_model`: running error analysis, the rounding part of every tolerance;
* :mod:`.scales`: the scale on which the loss bends along each line, where steps start;
* :mod:`.differences`: the ``central``, ``richardson`` and ``directional`` methods;
* :mod:`.mpmath_reference`: the ``mpmath`` method, the loss at 40 digits;
* :mod:`.engine_check`: one engine on one problem; :mod:`.fixture_check`: on a fixture;
* :mod:`.function_check`: :func:`check` and :func:`assert_gradients_close`, the same
  finite differences for any scalar function of NumPy, JAX or torch parameters
  (:mod:`.parameters` lays them out as one vector);
* :mod:`.result`: rows and results; :mod:`.result_file`: the ``--json`` file, typed
  records written and read through ``bpcheck/io/schema/gradcheck-result-v1.schema.json``.

It may import ``bpcheck.model``, ``bpcheck.io`` and ``bpcheck.checking``, never an
engine module (the reference forward pass must stay bpcheck's own, so that a
mistake the engines share cannot hide) and never argparse or ``bpcheck.cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bpcheck.gradcheck.methods import AUTO_DIRECTIONAL_ABOVE, METHODS

if TYPE_CHECKING:
    from bpcheck.checking.check import Outcome
    from bpcheck.gradcheck.engine_check import check_gradients
    from bpcheck.gradcheck.fixture_check import gradcheck_fixture
    from bpcheck.gradcheck.function_check import (
        FunctionCheck,
        GradientCheckError,
        assert_gradients_close,
        check,
    )
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
    "FunctionCheck",
    "GradcheckResult",
    "GradcheckRun",
    "GradientCheckError",
    "Outcome",
    "Row",
    "RowRecord",
    "Status",
    "assert_gradients_close",
    "check",
    "check_gradients",
    "gradcheck_fixture",
    "read_gradcheck_results",
    "write_gradcheck_results",
]


_PUBLIC = {
    "Outcome": "bpcheck.checking.check",
    "check_gradients": "bpcheck.gradcheck.engine_check",
    "gradcheck_fixture": "bpcheck.gradcheck.fixture_check",
    "check": "bpcheck.gradcheck.function_check",
    "assert_gradients_close": "bpcheck.gradcheck.function_check",
    "FunctionCheck": "bpcheck.gradcheck.function_check",
    "GradientCheckError": "bpcheck.gradcheck.function_check",
    "GradcheckResult": "bpcheck.gradcheck.result",
    "Row": "bpcheck.gradcheck.result",
    "Status": "bpcheck.gradcheck.result",
    "CheckRecord": "bpcheck.gradcheck.result_file",
    "GradcheckRun": "bpcheck.gradcheck.result_file",
    "RowRecord": "bpcheck.gradcheck.result_file",
    "read_gradcheck_results": "bpcheck.gradcheck.result_file",
    "write_gradcheck_results": "bpcheck.gradcheck.result_file",
}
"""Where each name lives; imported on first use, so that a command that only lists the
methods (``bpcheck --help``) does not import NumPy and mpmath."""


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'bpcheck.gradcheck' has no attribute {name!r}")
