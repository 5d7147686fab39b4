"""Every command that writes checks where, first: a bad output path is one line and exit 2.

A ``--json FILE``, ``--out DIR``, ``new PATH`` or the fixture ``claim`` and ``regen``
rewrite (or the READMEs of ``docs``) that is a folder, is missing, is read-only,
lies under a file or is a symbolic link gives ``PATH: LOCATION: what was expected``
before anything is computed (nothing is printed on standard output), and nothing
is written.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bpcheck.cli.main import main
from tests.support.paths import ROOT

SMALL = ROOT / "fixtures" / "babin" / "babin-comment-w2.json"

JSON_COMMANDS = {
    "run": ["run", str(SMALL), "--engine", "loops"],
    "gradcheck": ["gradcheck", str(SMALL), "--engine", "loops", "--quiet"],
    "diagnose": ["diagnose", str(SMALL)],
}


def bad_json_path(tmp_path: Path, case: str) -> tuple[Path, str]:
    """A ``--json`` path of a kind that cannot be written, and what the line says."""
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    if case == "folder":
        return tmp_path, "expected a file, found a folder"
    if case == "missing folder":
        return tmp_path / "no" / "r.json", f"expected an existing folder {tmp_path / 'no'}"
    if case == "under a file":
        return victim / "r.json", f"expected {victim} to be a folder, found a file"
    if case == "read-only file":
        path = tmp_path / "r.json"
        path.write_text("old")
        path.chmod(0o444)
        return path, "expected a writable file, found a read-only one"
    if case == "read-only folder":
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o555)
        return folder / "r.json", f"cannot write in {folder}: the folder is read-only"
    if case == "link":
        (tmp_path / "r.json").symlink_to(victim)
        return tmp_path / "r.json", "expected a regular file, found a symbolic link"
    if case == "dangling link":
        (tmp_path / "r.json").symlink_to(tmp_path / "elsewhere.json")
        return tmp_path / "r.json", "expected a regular file, found a dangling symbolic link"
    raise AssertionError(case)


JSON_CASES = [
    "folder",
    "missing folder",
    "under a file",
    "read-only file",
    "read-only folder",
    "link",
    "dangling link",
]


def files_in(folder: Path) -> dict[str, bytes | str]:
    return {
        str(p.relative_to(folder)): str(p.readlink()) if p.is_symlink() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


def refused(
    argv: list[str], path: Path, location: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command exits 2 with the one line expected, having computed and printed nothing."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    line = captured.err.strip()
    assert "\n" not in line, captured.err
    assert line.startswith(f"{path}: {location}: {expected}"), line
    assert captured.out == "", "the output path is checked before anything is computed"


@pytest.mark.parametrize("case", JSON_CASES)
@pytest.mark.parametrize("command", list(JSON_COMMANDS))
def test_a_json_file_that_cannot_be_written_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str
) -> None:
    path, expected = bad_json_path(tmp_path, case)
    before = files_in(tmp_path)
    refused([*JSON_COMMANDS[command], "--json", str(path)], path, "--json", expected, capsys)
    assert files_in(tmp_path) == before


def test_a_json_file_is_written(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    assert main([*JSON_COMMANDS["run"], "--json", str(path)]) == 0
    assert path.read_text().startswith("{")


# --- new --------------------------------------------------------------------------------------

NEW = ["--sizes", "1,1", "--inputs", "1", "--targets", "1", "--weights", "0.5", "--no-ask"]


def bad_new_path(tmp_path: Path, case: str) -> tuple[Path, str]:
    if case == "folder":
        return tmp_path, "expected a file, found a folder"
    if case == "under a file":
        (tmp_path / "file").write_text("")
        return tmp_path / "file" / "x.json", f"expected {tmp_path / 'file'} to be a folder"
    if case == "read-only folder":
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o555)
        return folder / "sub" / "x.json", f"cannot write in {folder}: the folder is read-only"
    if case == "dangling link":
        (tmp_path / "x.json").symlink_to(tmp_path / "outside" / "x.json")
        return tmp_path / "x.json", "expected a new file, found a dangling symbolic link"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["folder", "under a file", "read-only folder", "dangling link"])
def test_new_refuses_a_path_it_cannot_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    (tmp_path / "outside").mkdir()
    path, expected = bad_new_path(tmp_path, case)
    before = files_in(tmp_path)
    refused(["new", str(path), *NEW], path, "$", expected, capsys)
    assert files_in(tmp_path) == before
    assert list((tmp_path / "outside").iterdir()) == [], "nothing written through the link"


def test_new_makes_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.json"
    assert main(["new", str(path), *NEW]) == 0
    assert path.is_file() and not path.is_symlink()


# --- claim and regen rewrite a fixture -----------------------------------------------------------


def pinned_copy(tmp_path: Path) -> Path:
    path = tmp_path / "r.json"
    shutil.copy(ROOT / "fixtures" / "rules-003" / "rules-003-sequential.json", path)
    return path


def read_only(path: Path) -> Path:
    path.chmod(0o444)
    return path


def linked(path: Path) -> Path:
    link = path.with_name("link.json")
    link.symlink_to(path.name)
    return link


REWRITES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "read-only": (read_only, "expected a writable file, found a read-only one"),
    "link": (linked, "expected a regular file, found a symbolic link"),
}


@pytest.mark.parametrize("case", list(REWRITES))
@pytest.mark.parametrize("command", ["claim", "regen"])
def test_a_fixture_that_cannot_be_rewritten_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str
) -> None:
    make, expected = REWRITES[case]
    path = make(pinned_copy(tmp_path))
    before = files_in(tmp_path)
    argv = (
        ["claim", str(path), "w1=0.1"]
        if command == "claim"
        else ["regen", str(path), "--engine", "loops"]
    )
    refused(argv, path, "$", expected, capsys)
    assert files_in(tmp_path) == before


# --- docs rewrites the READMEs ---------------------------------------------------------------


@pytest.mark.parametrize("case", ["read-only", "link", "missing"])
def test_docs_refuses_a_readme_it_cannot_rewrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    shutil.copytree(ROOT / "fixtures" / "hmkcode", tmp_path / "fixtures" / "hmkcode")
    shutil.copy(ROOT / "fixtures" / "README.md", tmp_path / "fixtures" / "README.md")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "diagnose.md", tmp_path / "docs" / "diagnose.md")
    readme = tmp_path / "docs" / "errata.md"
    if case == "read-only":
        shutil.copy(ROOT / "docs" / "errata.md", readme)
        read_only(readme)
        expected = "expected a writable file, found a read-only one"
    elif case == "link":
        shutil.copy(ROOT / "docs" / "errata.md", tmp_path / "real.md")
        readme.symlink_to("../real.md")
        expected = "expected a regular file, found a symbolic link"
    else:
        expected = "expected a file with generated sections"
    before = files_in(tmp_path)
    refused(["sync", "--root", str(tmp_path)], readme, "--root", expected, capsys)
    assert files_in(tmp_path) == before
