"""Generated files stay current (`bpcheck sync`); regenerating pinned values round-trips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bpcheck.authoring.sync import SYNC, regenerate_hint, stale_sections
from bpcheck.checking import registry
from bpcheck.cli.main import main
from bpcheck.diagnose import zoo
from bpcheck.io.loader import fixture_paths
from bpcheck.model.fixture import Fixture
from tests.support.groups import ZOO_GROUP

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # regenerates every section, the bug zoo included
@ZOO_GROUP
def test_the_generated_sections_are_up_to_date(bundled: dict[Path, Fixture]) -> None:
    """The coverage table, the errata list and the bug zoo (the reports: tests/report)."""
    stale = stale_sections(ROOT, list(bundled.values()), registry.reference_engine())
    lines = [f"{item.path.relative_to(ROOT)}: {item.what}" for item in stale]
    assert not stale, "\n".join([*lines, regenerate_hint(stale)])


@pytest.mark.slow  # the committed reports are made again (every engine on every fixture)
@ZOO_GROUP
def test_sync_finds_nothing_stale_in_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pandas", reason="the committed reports need bpcheck[report]")
    code = main(["sync", "--check", "--root", str(ROOT)])
    captured = capsys.readouterr()
    if code == 2 and "unavailable here" in captured.err:
        pytest.skip(f"the committed reports need an engine missing here: {captured.err}")
    assert code == 0, f"run `{SYNC}`:\n{captured.out}{captured.err}"
    assert captured.out == ""


def project_copy(folder: Path) -> Path:
    """One document's fixtures and the pages with generated sections, no committed reports."""
    shutil.copytree(ROOT / "fixtures" / "hmkcode", folder / "fixtures" / "hmkcode")
    shutil.copytree(ROOT / "fixtures" / "schema", folder / "fixtures" / "schema", symlinks=False)
    shutil.copy(ROOT / "fixtures" / "README.md", folder / "fixtures" / "README.md")
    shutil.copy(ROOT / "README.md", folder / "README.md")
    if (ROOT / "docs").is_dir():
        shutil.copytree(ROOT / "docs", folder / "docs")
    return folder


def test_a_dropped_claim_makes_the_coverage_table_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zoo's table is a fixed text here: making it takes a minute, and its own tests
    (tests/diagnose/test_zoo.py, the slow tests above) show sync keeps it current."""
    monkeypatch.setattr(zoo, "zoo_table", lambda fixtures: "the zoo table")
    project_copy(tmp_path)
    assert main(["sync", "--root", str(tmp_path)]) == 0
    capsys.readouterr()
    path = tmp_path / "fixtures" / "hmkcode" / "hmkcode-2018.json"
    document = json.loads(path.read_text())
    document["claims"].pop(0)
    path.write_text(json.dumps(document))
    assert main(["sync", "--check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "fixtures/README.md: out of date (coverage section)" in out
    assert out.splitlines()[-1] == (
        "1 generated file(s) out of date: run `bpcheck sync` to regenerate them"
    )
    before = (tmp_path / "fixtures" / "README.md").read_text()
    assert main(["sync", "--root", str(tmp_path)]) == 0
    assert "fixtures/README.md: rewritten (coverage section)" in capsys.readouterr().out
    assert (tmp_path / "fixtures" / "README.md").read_text() != before
    assert main(["sync", "--check", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


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
