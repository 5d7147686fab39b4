"""claim, regen and new write only the fixture, in one step, and never through a link.

``claim`` used to check its new claims in a scratch file ``.NAME.claim-trial`` beside
the fixture, following a link planted there; it now leaves nothing beside the
fixture.  A rewritten fixture keeps its permission bits.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from bpcheck.checking import registry
from bpcheck.cli.main import main
from tests.support.paths import ROOT


@pytest.fixture
def loops_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """``claim`` runs every engine; the loops engine is enough here (no JAX start-up)."""
    monkeypatch.setattr("bpcheck.checking.registry.all_engines", lambda: registry.select(["loops"]))


def fixture_in(folder: Path) -> Path:
    path = folder / "c.json"
    shutil.copy(ROOT / "fixtures" / "babin" / "babin-comment-w2.json", path)
    return path


def test_claim_follows_no_link_planted_beside_the_fixture(tmp_path: Path, loops_only: None) -> None:
    (tmp_path / "fixtures").mkdir()
    path = fixture_in(tmp_path / "fixtures")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = path.with_name(f".{path.name}.claim-trial")
    planted.symlink_to(victim)
    assert main(["claim", str(path), "output_input0=0.0", "--again"]) == 0
    assert victim.read_text() == "precious"
    assert planted.is_symlink(), "claim touches nothing beside the fixture"
    claims = json.loads(path.read_text())["claims"]
    assert claims[-1]["id"] == "output_input0" and claims[-1]["expect"] == "match"


def test_claim_leaves_nothing_beside_the_fixture(tmp_path: Path, loops_only: None) -> None:
    path = fixture_in(tmp_path)
    assert main(["claim", str(path), "output_input0=0.0", "--again"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_a_wrong_claim_is_reported_against_the_fixture(
    tmp_path: Path, loops_only: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trial is checked elsewhere, but its problems name the fixture the author edits."""
    path = fixture_in(tmp_path)
    before = path.read_text()
    assert main(["claim", str(path), "nonsense=1"]) == 2
    assert capsys.readouterr().err.startswith(f"{path}: $.claims[")
    assert path.read_text() == before


def test_claim_and_regen_keep_the_fixture_permission_bits(tmp_path: Path, loops_only: None) -> None:
    path = fixture_in(tmp_path)
    path.chmod(0o640)
    assert main(["claim", str(path), "output_input0=0.0", "--again"]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    pinned = tmp_path / "r.json"
    text = (ROOT / "fixtures" / "rules-003" / "rules-003-sequential.json").read_text()
    first = next(c["pinned"] for c in json.loads(text)["claims"] if "pinned" in c)
    pinned.write_text(text.replace(f'"pinned": "{first}"', '"pinned": "0.5"', 1))
    pinned.chmod(0o604)
    assert main(["regen", str(pinned), "--engine", "loops"]) == 0
    assert pinned.read_text() == text
    assert stat.S_IMODE(pinned.stat().st_mode) == 0o604


def test_new_through_a_dangling_link_writes_nothing_anywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "fixtures"
    target.mkdir()
    (target / "x.json").symlink_to(outside / "x.json")
    args = ["--sizes", "1,1", "--inputs", "1", "--targets", "1", "--weights", "0.5", "--no-ask"]
    assert main(["new", str(target / "x.json"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"{target / 'x.json'}: $: expected a new file, found a dangling symbolic link "
        "(bpcheck writes no file through a symbolic link)"
    )
    assert list(outside.iterdir()) == []
    assert (target / "x.json").is_symlink()
