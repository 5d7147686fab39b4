"""``bpcheck.io.files``: a file is replaced in one step, or left as it was; never through a link."""

from __future__ import annotations

import errno
import os
import signal
import stat
from pathlib import Path
from typing import Any

import pytest

from bpcheck.errors import BadInput
from bpcheck.io import files
from bpcheck.io.files import check_output, write_atomically


def leftovers(folder: Path) -> list[str]:
    """Temporary files of ours left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def one_line(raised: pytest.ExceptionInfo[BadInput]) -> str:
    assert len(raised.value.lines) == 1, raised.value.lines
    return raised.value.lines[0]


def test_a_file_is_replaced_and_keeps_its_permission_bits(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("old")
    path.chmod(0o640)
    write_atomically(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_new_file_gets_the_usual_permission_bits(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    write_atomically(path, b"\x00bytes", new=True)
    assert path.read_bytes() == b"\x00bytes"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "f.json"
    path.write_text("old")

    def no_space(*args: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, no_space)
    with pytest.raises(BadInput) as raised:
        write_atomically(path, "new " * 10_000)
    assert one_line(raised) == (
        f"{path}: $: cannot write the file (No space left on device); the file is left as it was"
    )
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interruption: type[BaseException]
) -> None:
    """Ctrl-C (KeyboardInterrupt) or SIGTERM (SystemExit, see ``sigterm_unwinds``) mid-write."""
    path = tmp_path / "f.json"
    path.write_text("old")
    real_write = os.write

    def write_half(descriptor: int, data: Any) -> int:
        real_write(descriptor, bytes(data[: len(data) // 2]))
        raise interruption()

    monkeypatch.setattr(os, "write", write_half)
    with pytest.raises(interruption):
        write_atomically(path, "new text")
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_sigterm_unwinds_only_while_writing() -> None:
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with files.sigterm_unwinds():
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        with pytest.raises(SystemExit) as raised:
            handler(signal.SIGTERM, None)
        assert raised.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


@pytest.mark.parametrize("dangling", [False, True], ids=["link", "dangling link"])
def test_a_symbolic_link_is_never_written_through(tmp_path: Path, dangling: bool) -> None:
    victim = tmp_path / "elsewhere.txt"
    if not dangling:
        victim.write_text("precious")
    link = tmp_path / "f.json"
    link.symlink_to(victim)
    for new in (False, True):
        with pytest.raises(BadInput) as raised:
            write_atomically(link, "new", new=new)
        kind = "a dangling symbolic link" if dangling else "a symbolic link"
        assert f"found {kind} (bpcheck writes no file through a symbolic link)" in one_line(raised)
    assert link.is_symlink()
    assert victim.read_text() == "precious" if not dangling else not victim.exists()
    assert leftovers(tmp_path) == []


def test_a_new_file_never_replaces_one_that_appeared_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``new``: the finished file is linked to its name, which fails if anything has it."""
    path = tmp_path / "f.json"
    real_link = os.link

    def someone_else_first(source: Any, target: Any) -> None:
        Path(target).write_text("theirs")
        real_link(source, target)

    monkeypatch.setattr(os, "link", someone_else_first)
    with pytest.raises(BadInput) as raised:
        write_atomically(path, "mine", new=True)
    assert one_line(raised) == f"{path}: $: refusing to overwrite an existing file"
    assert path.read_text() == "theirs"
    assert leftovers(tmp_path) == []


def make(tmp_path: Path, case: str) -> tuple[Path, str]:
    """An output path of a kind that cannot be written, and the line expected for it."""
    if case == "folder":
        return tmp_path, "expected a file, found a folder"
    if case == "missing folder":
        return (
            tmp_path / "nowhere" / "f.json",
            f"expected an existing folder {tmp_path / 'nowhere'}",
        )
    if case == "under a file":
        (tmp_path / "file").write_text("")
        return tmp_path / "file" / "f.json", f"expected {tmp_path / 'file'} to be a folder"
    if case == "read-only file":
        path = tmp_path / "f.json"
        path.write_text("old")
        path.chmod(0o444)
        return path, "expected a writable file, found a read-only one"
    if case == "read-only folder":
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder / "f.json", f"cannot write in {folder}: the folder is read-only"
    if case == "device":
        return Path(os.devnull), "expected a regular file, found a device, pipe or socket"
    raise AssertionError(case)


CASES = ["folder", "missing folder", "under a file", "read-only file", "read-only folder", "device"]


@pytest.mark.parametrize("case", CASES)
def test_an_output_path_that_cannot_be_written_is_one_line(tmp_path: Path, case: str) -> None:
    path, expected = make(tmp_path, case)
    with pytest.raises(BadInput) as raised:
        check_output(path, "--json")
    line = one_line(raised)
    assert line.startswith(f"{path}: --json: {expected}"), line
    with pytest.raises(BadInput):
        write_atomically(path, "new")
    if case == "read-only file":
        assert path.read_text() == "old"


def test_folders_are_made_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "f.json"
    check_output(path, create_folders=True)
    with pytest.raises(BadInput):
        check_output(path)
    assert not (tmp_path / "a").exists(), "a check creates nothing"
