"""Every registered engine passes the contract; every broken engine is caught by name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bpcheck.checking import registry
from bpcheck.engines.loops import LoopsEngine
from bpcheck.model.engine import ALL_CAPABILITIES, Engine
from bpcheck.model.problem import Layer
from bpcheck.testing.conformance import (
    CHECKS,
    FAILED,
    SKIPPED,
    Skip,
    failing_checks,
    parametrize_with_checks,
    run_check,
    run_suite,
)
from tests.support.broken_engines import BROKEN, BiasUpdateWithoutRate, broken_engine

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
    try:
        check(engine)
    except Skip as skip:  # the certified checks, on an engine that does not certify
        pytest.skip(str(skip))


@parametrize_with_checks([LoopsEngine()])
def test_the_public_parametrisation_runs_every_check(
    engine: Engine, check: Callable[[Engine], None]
) -> None:
    """What a user's own test looks like (README); here on the loops engine."""
    check(engine)


@pytest.mark.parametrize("name", BROKEN)
def test_broken_engine_is_caught_by_name(name: str) -> None:
    """The named check fails on the broken engine (run alone: the whole suite takes a
    second per engine, and which other checks fail says nothing about this one)."""
    _, expected_check = BROKEN[name]
    [check] = [c for c in CHECKS if c.__name__ == expected_check]
    result = run_check(check, broken_engine(name))
    assert result.outcome == FAILED, f"{name} escaped {expected_check}: {result}"


# --- the suite cannot pass vacuously (issue 15) ---------------------------------------------


class DeclaresNothing(LoopsEngine):
    """The loops engine declaring no capability: every problem-based check would skip."""

    capabilities: frozenset[str] = frozenset()


class NoPerNeuronBiasGradientDropped(LoopsEngine):
    """dE/db read as 0, in an engine that declares every capability but bias:per_neuron.

    Before issue 15 every problem of the suite had per-neuron biases, so this engine
    skipped all of them and passed.
    """

    capabilities = ALL_CAPABILITIES - {"bias:per_neuron"}

    def bias_gradient(self, layer: Layer, per_neuron: list[float]) -> list[float]:
        return [0.0 for _ in super().bias_gradient(layer, per_neuron)]


class NoPerNeuronBiasUpdateWithoutRate(BiasUpdateWithoutRate):
    capabilities = ALL_CAPABILITIES - {"bias:per_neuron"}


def test_an_engine_declaring_no_capability_fails() -> None:
    result = run_suite(DeclaresNothing())
    failed = {r.check: r.message for r in result.failed}
    assert "check_declares_capabilities" in failed, result
    assert "declares none" in failed["check_declares_capabilities"]
    skipped = [r for r in result.results if r.outcome == SKIPPED]
    assert skipped and all(r.message for r in skipped), "each skip says why"


@pytest.mark.parametrize(
    "engine", [NoPerNeuronBiasGradientDropped(), NoPerNeuronBiasUpdateWithoutRate()]
)
def test_an_engine_without_per_neuron_biases_is_still_checked(engine: Engine) -> None:
    failures = failing_checks(engine)
    assert failures, "a bias bug escaped every check"
    result = run_suite(engine)
    coverage = result.coverage()
    assert "bias:per_neuron" not in coverage
    assert coverage["bias:shared"], "no check exercised the shared biases the engine declares"


def test_a_capability_that_cannot_be_exercised_fails() -> None:
    class BceWithoutSigmoid(LoopsEngine):
        capabilities = ALL_CAPABILITIES - {"activation:sigmoid"}

    failed = failing_checks(BceWithoutSigmoid())
    assert "loss:bce is declared" in failed["check_declares_capabilities"]


def test_every_declared_capability_is_exercised_by_the_main_checks() -> None:
    """Coverage: each capability of the loops engine by the checks that run problems."""
    result = run_suite(LoopsEngine())
    assert not result.failed, result.failed
    for capability, checks in result.coverage().items():
        for check in ("check_gradients_match_finite_differences", "check_forward_values"):
            assert check in checks, f"{capability} not exercised by {check}"


def test_a_check_that_does_not_apply_is_a_visible_skip() -> None:
    class NoRelu(LoopsEngine):
        capabilities = ALL_CAPABILITIES - {"activation:relu"}

    [kink] = [r for r in run_suite(NoRelu()).results if r.check == "check_relu_kink"]
    assert kink.outcome == SKIPPED
    assert "activation:relu" in kink.message
