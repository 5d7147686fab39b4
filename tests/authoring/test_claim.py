"""``bpcheck claim`` guards against typos: a loud line, a placeholder note validate refuses,
no quantity claimed twice by accident, ids that read well."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpcheck.authoring.claim import unique_id
from bpcheck.checking import registry
from bpcheck.cli.main import main
from bpcheck.io.placeholders import MARK

MAZUR = [
    "--sizes=2,2,2",
    "--bias=shared",
    "--biases=0.35,0.60",
    "--inputs=0.05,0.10",
    "--targets=0.01,0.99",
    "--weights=0.15,0.20,0.25,0.30,0.40,0.45,0.50,0.55",
    "--document=mazur.html",
    "--where=The Forward Pass",
    "--no-ask",
]


@pytest.fixture
def fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """Mazur's network as `bpcheck new` writes it; claims judged by the loops engine alone."""
    monkeypatch.setattr("bpcheck.checking.registry.all_engines", lambda: registry.select(["loops"]))
    path = tmp_path / "m.json"
    assert main(["new", str(path), *MAZUR]) == 0
    capsys.readouterr()
    return path


def test_a_mistyped_number_is_loud_and_validate_refuses_it_until_noted(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: out_h1 is really 0.5933, the author typed 0.2499."""
    assert main(["claim", str(fixture), "out_h1=0.2499"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{fixture}: out_h1=0.2499: MISMATCH: the engines compute 0.59326999210718723; "
        "typed right? its note is a placeholder, refused until you write why"
    ]
    document = json.loads(fixture.read_text())
    claim = document["claims"][0]
    assert claim["expect"] == "mismatch" and claim["note"].startswith(MARK)
    assert "0.59326999210718723" in claim["note"]

    for command in (["validate", str(fixture)], ["run", str(fixture), "--engine", "loops"]):
        assert main(command) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"{fixture}: $.claims[0].note: expected the cause of the mismatch (is the printed "
            "number typed right?), found the placeholder `bpcheck claim` wrote"
        ]

    claim["note"] = "The document prints h1's net input's neighbour: a slip, not a rounding."
    fixture.write_text(json.dumps(document))
    assert main(["validate", str(fixture)]) == 0


def test_a_match_is_quiet(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claim", str(fixture), "out_h1=0.593269992"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "printed 0.593269992: match" in captured.out
    assert "note" not in json.loads(fixture.read_text())["claims"][0]


def test_a_truncation_is_loud_too(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claim", str(fixture), "out_h1=0.5932"]) == 1
    assert ": out_h1=0.5932: TRUNCATED: the engines compute 0.5932699921" in capsys.readouterr().err


def test_a_note_given_is_the_cause(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    note = "Babin cuts to 4 places"
    assert main(["claim", str(fixture), "out_h1=0.5932", "--note", note]) == 0
    assert f"TRUNCATED: the engines compute 0.59326999210718723; noted: {note}" in (
        capsys.readouterr().err
    )
    assert json.loads(fixture.read_text())["claims"][0]["note"] == note
    assert main(["validate", str(fixture)]) == 0


def test_a_placeholder_left_does_not_block_the_next_claim(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["claim", str(fixture), "out_h1=0.2499"]) == 1
    assert main(["claim", str(fixture), "out_h2=0.596884378"]) == 0
    ids = [c["id"] for c in json.loads(fixture.read_text())["claims"]]
    assert ids == ["out_h1", "out_h2"]


def test_a_quantity_claimed_twice_at_a_step_is_refused(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["claim", str(fixture), "out_h1=0.593269992"]) == 0
    before = fixture.read_text()
    capsys.readouterr()
    # the same quantity by its canonical name
    assert main(["claim", str(fixture), "out[1,1]=0.5933"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{fixture}: out[1,1]=0.5933: out[1,1] at step 0 is already claim 'out_h1'; "
        "expected a quantity not claimed yet (--again claims it once more)"
    ]
    assert fixture.read_text() == before
    # twice in one command
    assert main(["claim", str(fixture), "E_total=0.298371109", "E=0.2984"]) == 2
    assert "E=0.2984: E at step 0 is already claimed by E_total=0.298371109" in (
        capsys.readouterr().err
    )
    assert fixture.read_text() == before
    # at another step it is another number
    assert main(["claim", str(fixture), "out_h1=0.5932", "--step", "1", "--note", "x"]) == 0
    # asked for
    assert main(["claim", str(fixture), "out[1,1]=0.5933", "--again"]) == 0
    ids = [c["id"] for c in json.loads(fixture.read_text())["claims"]]
    assert ids == ["out_h1", "out_h1-after-1", "out-1-1"]


@pytest.mark.parametrize(
    ("name", "step", "wanted"),
    [
        ("delta[2,1]", 0, "delta-2-1"),
        ("w[1,2,1]", 1, "w-1-2-1-after-1"),
        ("out[1,1]@2", 0, "out-1-1-2"),
        ("E", 0, "E"),
        ("dE_dw5", 0, "dE_dw5"),
        ("[]", 0, "claim"),
    ],
)
def test_claim_ids_read_well(name: str, step: int, wanted: str) -> None:
    assert unique_id(name, set(), step) == wanted


def test_a_taken_id_is_numbered() -> None:
    assert unique_id("delta[2,1]", {"delta-2-1"}, 0) == "delta-2-1-2"
