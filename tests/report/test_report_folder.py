"""The report folder: a report deletes only files it wrote, never through a link, never outside.

An earlier report's files are known by its manifest (``.bpcheck-report-manifest``),
not by their names: a user's ``csv/fixture-mine.csv`` or ``img/loss-mine.png``
is kept, and a ``csv/`` that is a symbolic link is refused before anything runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpcheck.cli.main import main
from bpcheck.errors import BadInput
from tests.support.paths import ROOT

pytest.importorskip("pandas", reason="pandas is missing: bpcheck[report] is not installed")
pytest.importorskip("matplotlib", reason="matplotlib is missing: bpcheck[report] is not installed")

from bpcheck.report.folder import MANIFEST_NAME, read_manifest, replace_report

SMALL = ROOT / "fixtures" / "babin" / "babin-comment-w2.json"


def report(out: Path, *paths: Path, formats: str = "md,csv") -> int:
    argv = [*(str(p) for p in paths), "--out", str(out), "--engine", "loops", "--format", formats]
    return main(["report", *argv])


def second_fixture(folder: Path) -> Path:
    document = json.loads(SMALL.read_text())
    document["id"] = "gone-later"
    path = folder / "gone-later.json"
    path.write_text(json.dumps(document))
    return path


# --- through the command ------------------------------------------------------------------------


def test_a_report_keeps_files_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "csv").mkdir(parents=True)
    (out / "img").mkdir()
    foreign = {
        out / "csv" / "fixture-mine.csv": "a user's table\n",
        out / "csv" / "summary-notes.csv": "notes\n",
        out / "img" / "loss-mine.png": "a user's picture",
    }
    for path, text in foreign.items():
        path.write_text(text)
    assert report(out, SMALL) == 0
    assert report(out, SMALL) == 0
    for path, text in foreign.items():
        assert path.read_text() == text, f"{path.name} was not the report's to delete"


def test_a_report_deletes_what_an_earlier_one_wrote_and_it_does_not(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert report(out, SMALL, second_fixture(tmp_path), formats="md,csv,json") == 0
    assert (out / "csv" / "fixture-gone-later.csv").exists()
    assert report(out, SMALL, formats="csv") == 0
    assert not (out / "csv" / "fixture-gone-later.csv").exists()
    assert (out / "report.md").exists() and (out / "report.json").exists(), "other formats stay"
    listed = read_manifest(out)
    assert "csv/fixture-gone-later.csv" not in listed
    assert {"report.md", "report.json", "csv/fixture-babin-comment-w2.csv"} <= set(listed)


@pytest.mark.parametrize("with_manifest", [False, True], ids=["new folder", "earlier report"])
def test_a_linked_csv_folder_is_refused_and_nothing_outside_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], with_manifest: bool
) -> None:
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    if with_manifest:  # an earlier report wrote csv/, which was then made a link
        assert report(out, SMALL, second_fixture(tmp_path)) == 0
        (out / "csv").rename(outside)
    else:
        out.mkdir()
        outside.mkdir()
        (outside / "summary.csv").write_text("precious\n")
        (outside / "fixture-gone-later.csv").write_text("precious\n")
    (out / "csv").symlink_to(outside)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    capsys.readouterr()
    assert report(out, SMALL) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"{out / 'csv'}: --out: expected a folder, found a symbolic link "
        "(bpcheck writes no file through a symbolic link)"
    )
    assert captured.out == ""
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


@pytest.mark.parametrize("case", ["file", "under a file", "read-only", "linked report.md"])
def test_an_out_folder_that_cannot_be_written_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    file = tmp_path / "file"
    file.write_text("precious")
    out = tmp_path / "out"
    if case == "file":
        out, named, expected = file, file, "expected a folder, found a file"
    elif case == "under a file":
        out, named, expected = file / "out", file / "out", f"expected {file} to be a folder"
    elif case == "read-only":
        out.mkdir(mode=0o555)
        named, expected = out, f"cannot write in {out}: the folder is read-only"
    else:
        out.mkdir()
        (out / "report.md").symlink_to(file)
        named, expected = out / "report.md", "expected a regular file, found a symbolic link"
    assert report(out, SMALL) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{named}: --out: {expected}"), captured.err
    assert len(captured.err.strip().splitlines()) == 1 and captured.out == ""
    assert file.read_text() == "precious"


# --- the manifest ---------------------------------------------------------------------------------


def test_the_manifest_lists_what_was_written_sorted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = replace_report(
        out, {"report.md": b"m", "csv/b.csv": b"b", "csv/a.csv": b"a"}, ["md", "csv"]
    )
    assert sorted(written) == sorted([out / "report.md", out / "csv/a.csv", out / "csv/b.csv"])
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == [
        "csv/a.csv",
        "csv/b.csv",
        "report.md",
    ]


@pytest.mark.parametrize(
    "entry",
    ["../victim.csv", "/etc/passwd", "csv/../../victim.csv", "notes.txt", "csv/.hidden.csv"],
)
def test_a_manifest_naming_anything_but_report_files_is_refused(tmp_path: Path, entry: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.csv"
    victim.write_text("precious")
    (out / MANIFEST_NAME).write_text(f"# hand-edited\n{entry}\n")
    with pytest.raises(BadInput) as raised:
        replace_report(out, {"csv/a.csv": b"a"}, ["csv"])
    assert raised.value.lines == [
        f"{out / MANIFEST_NAME}: line 2: expected the name of a file a report writes "
        f"(report.md, csv/NAME.csv, img/NAME.png, ...), found {entry!r}"
    ]
    assert victim.read_text() == "precious"
    assert not (out / "csv").exists()


def test_a_listed_file_replaced_by_a_link_is_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    replace_report(out, {"csv/a.csv": b"a", "csv/b.csv": b"b"}, ["csv"])
    victim = tmp_path / "victim.csv"
    victim.write_text("precious")
    (out / "csv" / "b.csv").unlink()
    (out / "csv" / "b.csv").symlink_to(victim)
    replace_report(out, {"csv/a.csv": b"a"}, ["csv"])
    assert victim.read_text() == "precious"
    assert (out / "csv" / "b.csv").is_symlink(), "not a file of ours any more: left alone"
