"""Generated tables stay current; regenerating pinned values round-trips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bpcheck.cli.main import main
from bpcheck.io.loader import fixture_paths

ROOT = Path(__file__).resolve().parents[2]


def test_coverage_table_and_errata_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["docs", "--check", "--root", str(ROOT)])
    out = capsys.readouterr().out
    assert code == 0, f"run `bpcheck docs` to regenerate:\n{out}"


def test_a_dropped_claim_makes_the_coverage_table_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures", symlinks=False)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    path = tmp_path / "fixtures" / "hmkcode" / "hmkcode-2018.json"
    document = json.loads(path.read_text())
    document["claims"].pop(0)
    path.write_text(json.dumps(document))
    assert main(["docs", "--check", "--root", str(tmp_path)]) == 1
    assert "fixtures/README.md: out of date" in capsys.readouterr().out


def pinned_fixtures(root: Path) -> list[Path]:
    return [p for p in fixture_paths([root / "fixtures"]) if '"pinned"' in p.read_text()]


def test_regen_of_unchanged_fixtures_changes_nothing(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    before = {p: p.read_text() for p in fixture_paths([tmp_path / "fixtures"])}
    assert main(["regen", str(tmp_path / "fixtures"), "--engine", "loops"]) == 0
    after = {p: p.read_text() for p in before}
    assert after == before


def test_regen_rewrites_a_moved_pin_and_shows_the_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    candidates = pinned_fixtures(tmp_path)
    if not candidates:
        pytest.fail("no bundled fixture pins a value: regen has nothing to protect")
    path = candidates[0]
    original = path.read_text()
    document = json.loads(original)
    claim = next(c for c in document["claims"] if "pinned" in c)
    tampered = original.replace(f'"pinned": "{claim["pinned"]}"', '"pinned": "0.123"', 1)
    assert tampered != original
    path.write_text(tampered)
    assert main(["regen", str(path), "--engine", "loops"]) == 0
    out = capsys.readouterr().out
    assert path.read_text() == original
    assert "-" in out and '"pinned": "0.123"' in out and claim["pinned"] in out
