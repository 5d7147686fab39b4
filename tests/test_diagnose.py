"""Diagnose: the catalogue reproduces the documents' slips, and the accepted causes hold."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bpcheck.cli.main import main
from bpcheck.diagnose.diagnosis import Erratum, diagnose_fixture
from bpcheck.diagnose.variants import BY_NAME, CATALOGUE, VariantEngine, digit_edits, typo_of
from bpcheck.io.loader import load, load_all
from bpcheck.model.fixture import Fixture

ROOT = Path(__file__).resolve().parent.parent
FIXTURES, _ = load_all([ROOT / "fixtures"])
WITH_ERRATA = [f for f in FIXTURES if any(c.expect in ("mismatch", "truncated") for c in f.claims)]


@functools.cache
def errata_of(fixture_id: str) -> dict[str, Erratum]:
    """Diagnosed once per test session: the 10,000-step fixtures take seconds."""
    fixture = next(f for f in FIXTURES if f.id == fixture_id)
    return {e.claim.id: e for e in diagnose_fixture(fixture)}


@pytest.mark.parametrize("fixture", WITH_ERRATA, ids=lambda f: f.id)
def test_every_accepted_diagnosis_is_reproduced(fixture: Fixture) -> None:
    """A recorded diagnosis must be among diagnose's explanations; without one, the note
    must say the cause is not established (or diagnose must find nothing)."""
    flagged = [c for c in fixture.claims if c.expect in ("mismatch", "truncated")]
    if all(not c.diagnosis and "not established" in c.note for c in flagged):
        return  # nothing to reproduce: every erratum says its cause is open
    errata = errata_of(fixture.id)
    for claim in flagged:
        assert claim.id in errata, f"{claim.id}: expected {claim.expect}, diagnose saw a match"
        explanations = [c.name for c in errata[claim.id].explanations]
        if claim.diagnosis:
            assert claim.diagnosis in explanations, (
                f"{claim.id}: {claim.diagnosis} not in {explanations}"
            )
        else:
            assert "not established" in claim.note or not explanations, (
                f"{claim.id}: diagnose offers {explanations[0]}; "
                "record it as the diagnosis or say in the note why it is not accepted"
            )


def test_a_planted_sequential_slip_is_diagnosed_first() -> None:
    errata = errata_of("mazur-2015")
    assert errata["E_total-after-1"].explanations[0].name == "sequential-order"


def test_the_hand_truncation_reading_reproduces_babins_chain() -> None:
    fixture = load(ROOT / "fixtures" / "babin" / "babin.json")
    engine = VariantEngine((BY_NAME["truncated-4-decimals"],))
    trace = engine.run(fixture.problem, {0})[0]
    # Babin: out y1 = 0.7513 (cut), then dE/dout y1 = -0.01 + 0.7513 = 0.7413
    assert trace["out[2,1]@1"] == 0.7513
    assert trace["dE_dout[2,1]@1"] == 0.7413


@pytest.mark.parametrize(
    ("value", "printed", "swaps", "expected"),
    [
        (0.5613701211, "0.0613", False, True),  # Babin's w8: the 5 typed as 0
        (1.105905967, "1.1959", False, True),  # Babin's y1 in the exponent
        (0.4086661861, "0.4808", False, False),
        (0.4086661861, "0.4860", True, False),
        (0.4086661861, "0.4078", True, True),  # 0.4087 with 8 and 7 swapped
        (0.5, "0.5", False, False),  # no change is no typo
    ],
)
def test_typo_of(value: float, printed: str, swaps: bool, expected: bool) -> None:
    assert typo_of(value, printed, swaps) is expected


def test_digit_edits_change_one_digit_or_swap_two() -> None:
    edits = set(digit_edits("0.12"))
    assert "0.13" in edits and "0.21" in edits and "1.12" in edits
    assert "0.12" not in edits and "0.31" not in edits


def test_every_variant_is_documented_and_named_uniquely() -> None:
    names = [v.name for v in CATALOGUE]
    assert len(names) == len(set(names))
    assert all(v.doc and v.kind in ("reading", "bug", "hand", "printing") for v in CATALOGUE)


def test_an_unknown_diagnosis_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads((ROOT / "fixtures" / "mazur" / "mazur-2015.json").read_text())
    claim = next(c for c in document["claims"] if c.get("diagnosis"))
    claim["diagnosis"] = "sequentail-order"
    document["$schema"] = str(ROOT / "fixtures" / "schema" / "fixture-v1.schema.json")
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown variant 'sequentail-order' (did you mean 'sequential-order'?)" in err


def test_readings_leave_problems_they_do_not_apply_to_alone() -> None:
    fixture = load(ROOT / "fixtures" / "hmkcode" / "hmkcode-2018.json")
    assert not BY_NAME["biases-trained"].applies(fixture.problem)  # no biases at all
    sequential = replace(fixture.problem, update_order="sequential")
    assert not BY_NAME["sequential-order"].applies(sequential)
