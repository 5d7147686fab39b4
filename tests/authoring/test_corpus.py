"""``bpcheck gen-corpus``: valid fixtures, pinned to what the engines agree on, reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import OK, check_fixture
from bpcheck.cli.main import main
from bpcheck.io.loader import load_all


def test_the_corpus_loads_and_every_pin_holds(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    assert main(["gen-corpus", "24", "--seed", "5", str(out)]) == 0
    fixtures, errors = load_all([out])
    assert errors == [] and len(fixtures) == 24
    assert sum(len(f.claims) for f in fixtures) >= 24 * 2
    assert len({f.problem.sizes for f in fixtures}) > 3  # the pool's architectures
    engines = registry.in_process(["loops", "matrices"])
    for fixture in fixtures:
        assert check_fixture(fixture, engines).outcome == OK, fixture.id


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert main(["gen-corpus", "5", "--seed", "2", str(tmp_path / name)]) == 0
    other = tmp_path / "c"
    assert main(["gen-corpus", "5", "--seed", "3", str(other)]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in files:
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    assert (tmp_path / "a" / files[0]).read_text() != (other / files[0]).read_text()


def test_a_folder_with_files_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["gen-corpus", "3", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"{tmp_path}: OUT: expected a new or empty folder, found files"
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
