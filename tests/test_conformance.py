"""Every registered engine passes the contract; every broken engine is caught by name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bpcheck.checking import registry
from bpcheck.model.engine import Engine
from bpcheck.testing.conformance import failing_checks, parametrize_with_checks
from tests.broken_engines import BROKEN, broken_engine


@parametrize_with_checks(list(registry.all_engines().values()))
def test_engine_conforms(engine: Engine, check: Callable[[Engine], None]) -> None:
    check(engine)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_engine_is_caught_by_name(name: str) -> None:
    _, expected_check = BROKEN[name]
    failures = failing_checks(broken_engine(name))
    assert expected_check in failures, f"{name} escaped {expected_check}; failed only {failures}"
