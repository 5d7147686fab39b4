"""Every registered engine passes the contract; every broken engine is caught by name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bpcheck.checking import registry
from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.engine import Engine
from bpcheck.testing.conformance import CHECKS, failing_checks, parametrize_with_checks
from tests.support.broken_engines import BROKEN, broken_engine

COMPILING = {"autodiff"}
"""Engines that compile per shape: their checks take seconds, so they are ``slow``."""


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.slow] * (n in COMPILING)) for n in registry.names()],
)
def test_engine_conforms(
    name: str, check: Callable[[Engine], None], engines: dict[str, Engine]
) -> None:
    engine = engines[name]
    status = engine.available()
    if not status.available:
        pytest.skip(str(status.reason))
    check(engine)


@parametrize_with_checks([LoopsEngine()])
def test_the_public_parametrisation_runs_every_check(
    engine: Engine, check: Callable[[Engine], None]
) -> None:
    """What a user's own test looks like (README); here on the loops engine."""
    check(engine)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_engine_is_caught_by_name(name: str) -> None:
    _, expected_check = BROKEN[name]
    failures = failing_checks(broken_engine(name))
    assert expected_check in failures, f"{name} escaped {expected_check}; failed only {failures}"
