"""A full disk loses no fixture: ``regen`` and ``claim`` leave it as it was, and say so in one line.

The fixture sits on a tmpfs of 64 KiB that is then filled up (mounting one needs
root on Linux; elsewhere the test is skipped with the reason).  Its text ends just
short of a page, so that the rewritten fixture needs one page more than the old:
a write that truncates first and then writes would run out of space half way.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PAGE = 4096


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on its own 64 KiB tmpfs, unmounted afterwards."""
    if not sys.platform.startswith("linux"):
        pytest.skip("a small tmpfs is mounted only on Linux")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def fill(disk: Path) -> None:
    """Fill the file system to the last byte."""
    with (disk / "filler").open("wb", buffering=0) as filler:
        while True:
            try:
                filler.write(b"\0" * PAGE)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
                break
    probe = disk / "probe"
    with pytest.raises(OSError):
        probe.write_bytes(b"\0" * PAGE)
    probe.unlink()


def fixture_a_page_short(path: Path) -> str:
    """A fixture with a pinned value of 3 digits where the engines give 17, padded so that
    its text ends 4 bytes before a page boundary."""
    text = (ROOT / "fixtures" / "rules-003" / "rules-003-sequential.json").read_text("utf-8")
    pinned = next(c["pinned"] for c in json.loads(text)["claims"] if "pinned" in c)
    text = text.replace(f'"pinned": "{pinned}"', '"pinned": "0.5"', 1)
    size = len(text.encode())
    text += " " * (-(size + 4) % PAGE)
    path.write_text(text, "utf-8")
    return text


def bpcheck(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess (JAX hidden: see :mod:`tests.support.slow_disk`), at full speed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), BPCHECK_TEST_SLOW="0")
    return subprocess.run(
        [sys.executable, "-m", "tests.support.slow_disk", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # mounts a filesystem and fills it, once per command
@pytest.mark.parametrize(
    "argv",
    [["regen", "FIXTURE", "--engine", "loops"], ["claim", "FIXTURE", "out_o1=0.6", "E_total=0.3"]],
    ids=["regen", "claim"],
)
def test_a_full_disk_leaves_the_fixture_as_it_was(small_disk: Path, argv: list[str]) -> None:
    path = small_disk / "fixture.json"
    old = fixture_a_page_short(path)
    fill(small_disk)
    done = bpcheck([str(path) if a == "FIXTURE" else a for a in argv])
    assert path.read_text("utf-8") == old
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "fixture.json"]
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"{path}: $: cannot write the file (No space left on device); the file is left as it was"
    )
