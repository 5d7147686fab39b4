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
from tests.conformance.broken_features import FEATURE_BUGS, feature_bug
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


@pytest.mark.parametrize("name", FEATURE_BUGS)
def test_broken_feature_is_caught_by_name(name: str) -> None:
    """Each feature of issue 17, broken on purpose, fails the check named for it
    (tests/conformance/broken_features.py), run alone."""
    _, _, expected_check = FEATURE_BUGS[name]
    [check] = [c for c in CHECKS if c.__name__ == expected_check]
    result = run_check(check, feature_bug(name))
    assert result.outcome == FAILED, f"{name} escaped {expected_check}: {result}"


def test_every_feature_of_issue_17_has_a_broken_engine() -> None:
    features = {feature for feature, _, _ in FEATURE_BUGS.values()}
    assert {
        "bce on softmax",
        "bce on identity",
        "softmax_ce on sigmoid",
        "objective output k",
        "momentum",
        "nesterov",
        "weight decay",
        "per-layer rates",
        "mini-batch",
        "leaky_relu",
        "softplus",
        "elu",
        "float32",
        "dE_dout[0,i]",
        "error_term",
        "dw, db",
    } <= features


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
    """bce goes with sigmoid or softmax outputs: an engine with neither cannot use it."""

    class BceWithoutItsOutputs(LoopsEngine):
        capabilities = ALL_CAPABILITIES - {"activation:sigmoid", "activation:softmax"}

    failed = failing_checks(BceWithoutItsOutputs())
    assert "loss:bce is declared" in failed["check_declares_capabilities"]


FLOAT32_ONLY = {"precision:float32": "check_float32"}
"""Capabilities the float64 checks cannot judge, and the check that exercises them instead."""


def test_every_declared_capability_is_exercised_by_the_main_checks() -> None:
    """Coverage: each capability of the loops engine by the checks that run problems
    (float32 by its own check; quantity:extended by the checks of the extended names)."""
    result = run_suite(LoopsEngine())
    assert not result.failed, result.failed
    for capability, checks in result.coverage().items():
        if capability in FLOAT32_ONLY:
            assert FLOAT32_ONLY[capability] in checks, capability
            continue
        if capability == "quantity:extended":
            expected = ("check_input_gradients", "check_extended_identities")
            assert set(expected) <= set(checks), checks
            continue
        for check in ("check_gradients_match_finite_differences", "check_forward_values"):
            assert check in checks, f"{capability} not exercised by {check}"


def test_a_check_that_does_not_apply_is_a_visible_skip() -> None:
    class NoRelu(LoopsEngine):
        capabilities = ALL_CAPABILITIES - {"activation:relu"}

    [kink] = [r for r in run_suite(NoRelu()).results if r.check == "check_relu_kink"]
    assert kink.outcome == SKIPPED
    assert "activation:relu" in kink.message
