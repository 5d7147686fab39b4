"""Engines agree on every quantity of every bundled fixture; a disagreement fails the run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import FAILED, check_fixture, disagreements
from bpcheck.checking.results import disagreement_table
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture
from tests.support.broken_engines import broken_engine
from tests.support.paths import BUNDLED_FIXTURES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # every engine on every bundled fixture (pytest fixtures/ does it too)
@pytest.mark.parametrize("path", BUNDLED_FIXTURES, ids=lambda p: p.stem)
def test_available_engines_agree_and_value_every_claim(
    path: Path, bundled: dict[Path, Fixture], available: dict[str, Engine]
) -> None:
    result = check_fixture(bundled[path], available)
    assert not result.disagreements, disagreement_table(result.disagreements, list(available))
    for claim in result.claims:
        missing = [name for name, value in claim.values.items() if value is None]
        assert not missing, f"{claim.claim.id}: no value from {missing}"


def test_a_wrong_engine_is_a_disagreement_shown_as_a_table(available: dict[str, Engine]) -> None:
    fixture = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    engines = {"loops": available["loops"], "float32": broken_engine("float32")}
    result = check_fixture(fixture, engines)
    assert result.outcome == FAILED
    table = disagreement_table(result.disagreements, list(engines))
    assert table.splitlines()[0].split() == [
        "quantity",
        "step",
        "loops",
        "float32",
        "difference",
        "tolerance",
    ]
    assert any(row.startswith("out[1,1]@1") for row in table.splitlines()), table


def test_agreement_tolerance_widens_with_steps_but_not_beyond_1e_9() -> None:
    from bpcheck.checking.check import agreement_tolerance

    assert agreement_tolerance(0) == agreement_tolerance(1) == 1e-12
    assert agreement_tolerance(10_000) == 1e-9


def test_a_missing_quantity_is_a_disagreement(available: dict[str, Engine]) -> None:
    fixture = load(ROOT / "fixtures" / "hmkcode" / "hmkcode-2018.json")
    loops = available["loops"]
    runs = [r for r in check_fixture(fixture, {"loops": loops}).runs]
    trimmed = check_fixture(fixture, {"loops": loops}).runs[0]
    trimmed.engine = "trimmed"
    trimmed.trace = {step: dict(list(v.items())[1:]) for step, v in trimmed.trace.items()}
    found = disagreements([trimmed, *runs])
    assert found, "a quantity one engine has and another lacks must be reported"


@pytest.mark.skipif(not os.environ.get("BPCHECK_EXPECT_NO_JAX"), reason="only in the tox env nojax")
def test_without_jax_the_autodiff_engine_says_why() -> None:
    status = registry.all_engines()["autodiff"].available()
    assert not status.available
    assert status.reason and "jax" in status.reason
