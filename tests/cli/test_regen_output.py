"""``bpcheck regen`` says how many fixtures it changed, not how many it read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bpcheck.cli.main import main
from tests.support.paths import ROOT

PINNED = ROOT / "fixtures" / "rules-003" / "rules-003-sequential.json"
PLAIN = ROOT / "fixtures" / "hmkcode" / "hmkcode-2018.json"


def test_regen_says_how_many_fixtures_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fixtures").mkdir()
    shutil.copytree(ROOT / "fixtures" / "schema", tmp_path / "schema")
    copies = [shutil.copy(p, tmp_path / "fixtures" / p.name) for p in (PINNED, PLAIN)]
    assert main(["regen", str(tmp_path / "fixtures"), "--engine", "loops"]) == 0
    assert capsys.readouterr().out.splitlines() == ["0 of 2 fixture(s) changed"]
    pinned = Path(copies[0])
    original = pinned.read_text()
    claim = next(c for c in json.loads(original)["claims"] if "pinned" in c)
    pinned.write_text(original.replace(f'"pinned": "{claim["pinned"]}"', '"pinned": "0.5"', 1))
    assert main(["regen", str(tmp_path / "fixtures"), "--engine", "loops"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 of 2 fixture(s) changed" and any(line.startswith("---") for line in out)
    assert pinned.read_text() == original
