"""``bpcheck claim`` takes issue 17's names (the aliases ``new`` writes and the canonical ones)
and numbers printed the way authors print them.

The printed numbers are another engine's values (matrices), rounded here; the claims are
judged by the loops engine, so a match says two engines agree, nothing hard-coded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpcheck.checking import registry
from bpcheck.cli.main import main
from bpcheck.engines.matrices import MatricesEngine
from bpcheck.io.loader import load
from tests.authoring.test_claim import MAZUR

NAMES = {
    "dw5": "dw[2,1,1]",
    "db2": "db[2]",
    "dE_di1": "dE_dout[0,1]@1",
    "error_o1": "error[1]@1",
    "error_term_o1": "error_term[2,1]@1",
    "E_sample": "E@1",
    "net_term_w5": "net_term[2,1,1]@1",
    "weighted_sum_o1": "weighted_sum[2,1]@1",
    "dE_dw5@1": "dE_dw[2,1,1]@1",
    "dE_dout[0,2]": "dE_dout[0,2]@1",
}


@pytest.fixture
def fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """Mazur's network with a weight decay, as `bpcheck new` writes it; loops judges."""
    monkeypatch.setattr("bpcheck.checking.registry.all_engines", lambda: registry.select(["loops"]))
    path = tmp_path / "m.json"
    assert main(["new", str(path), *MAZUR, "--weight-decay=0.01", "--steps=2"]) == 0
    capsys.readouterr()
    return path


def other_engine(path: Path) -> dict[int, dict[str, float]]:
    return MatricesEngine().run(load(path).problem, {0, 1})


def four_places(value: float) -> str:
    """Rounded to 4 significant digits, as plain decimals (``-0.04108``)."""
    return f"{float(f'{value:.4g}'):f}".rstrip("0")


def test_the_new_names_are_claimed_and_judged(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = other_engine(fixture)[0]
    assignments = [f"{name}={four_places(values[target])}" for name, target in NAMES.items()]
    change = values["E"] - other_engine(fixture)[1]["E"]
    assignments.append(f"E_change={four_places(-change)}")
    assert main(["claim", str(fixture), *assignments, "--where", "p. 3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(assignments) and all(line.endswith(": match") for line in out), out
    claims = load(fixture).claims
    assert [c.canonical for c in claims] == [*NAMES.values(), "E_change"]


def test_typographic_numbers_are_kept_as_printed_and_judged_as_decimals(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = other_engine(fixture)[0]
    minus = four_places(values["dw[2,1,1]"]).replace("-", "\u2212")
    mantissa = f"{values['dE_dout[0,1]@1'] * 1000:.3f}"
    printed = {"dw5": minus, "dE_di1": f"{mantissa} \u00d7 10^-3"}
    assignments = [f"{name}={text}" for name, text in printed.items()]
    assert main(["claim", str(fixture), *assignments]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.rpartition(", printed ")[2] for line in out] == [
        f"{minus}: match",
        f"{mantissa} \u00d7 10^-3: match",
    ]
    stored = {c["quantity"]: c for c in json.loads(fixture.read_text())["claims"]}
    assert {name: stored[name]["printed"] for name in printed} == printed
    assert {stored[name]["expect"] for name in printed} == {"match"}


def test_a_decimal_comma_is_refused_naming_the_comma(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fixture.read_text()
    assert main(["claim", str(fixture), "dw5=0,04"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "',' (U+002C COMMA)" in line
    assert fixture.read_text() == before


def test_a_number_bpcheck_cannot_compute_is_recorded_as_unsupported(
    fixture: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engines() -> None:
        raise AssertionError("an unsupported number runs no engine")

    monkeypatch.setattr("bpcheck.checking.registry.all_engines", no_engines)
    reason = "bpcheck has no name for momentum's velocity"
    args = ["velocity η=\u22120.041", "velocity=0.03", "--unsupported", reason, "--where", "p. 4"]
    assert main(["claim", str(fixture), *args]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "velocity: printed \u22120.041: unsupported",
        "velocity-2: printed 0.03: unsupported",
    ]
    loaded = load(fixture)
    assert loaded.claims == ()
    assert [(c.id, c.printed, c.unsupported) for c in loaded.unsupported] == [
        ("velocity", "\u22120.041", reason),
        ("velocity-2", "0.03", reason),
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["v=0.9", "--unsupported", " "], "--unsupported: expected why bpcheck cannot compute"),
        (["v=0.9", "--unsupported", "why", "--note", "n"], "--note: expected no --note with"),
        (["v=0.9", "--unsupported", "why", "--step", "1"], "--step: expected no --step with"),
        (["v=0,9", "--unsupported", "why"], "',' (U+002C COMMA)"),
    ],
)
def test_a_wrong_unsupported_claim_is_one_line(
    fixture: Path, capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    before = fixture.read_text()
    assert main(["claim", str(fixture), *args]) == 2
    [said] = capsys.readouterr().err.splitlines()
    assert line in said
    assert fixture.read_text() == before
