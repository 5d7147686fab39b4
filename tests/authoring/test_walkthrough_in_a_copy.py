"""After the README walkthrough, the suite passes: proved in a copy of the repository.

The walkthrough adds a fixture in a new folder and ends with ``bpcheck sync``.
Before that command existed, the suite then failed four ways (the coverage table
and errata list, the committed reports, the bug zoo table, the accepted-diagnosis
rule), each wanting a different command.  Here the walkthrough runs, as written,
in a copy of the repository's files (``git ls-files``, untracked files not
ignored included, as tox would test them), then the checks for stale files and
the bundled fixtures run there under pytest, as the full suite runs them.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bpcheck.cli.main import main
from tests.support.walkthrough import walkthrough_commands

pytestmark = pytest.mark.slow  # the committed reports are made three times

ROOT = Path(__file__).resolve().parents[2]

STALE_FILE_CHECKS = [
    "tests/authoring/test_docs_and_regen.py",
    "tests/diagnose/test_zoo.py::test_the_readme_shows_the_zoo",
    "tests/diagnose/test_diagnose.py::test_every_accepted_diagnosis_is_reproduced",
    "tests/report/test_report.py::test_the_committed_reports_are_up_to_date",
    "fixtures/",
]
"""What fails when a generated file is stale, and the fixtures the walkthrough adds to."""


def repository_files() -> list[str]:
    try:
        listed = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"the repository's files are listed by git, unavailable here: {error}")
    return [name for name in listed.decode().split("\0") if name]


def copy_repository(target: Path) -> Path:
    """The repository's files (links kept as links) in ``target``; deleted ones left out."""
    for name in repository_files():
        source, copy = ROOT / name, target / name
        if not os.path.lexists(source):
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        elif source.is_file():
            shutil.copy2(source, copy)
    return target


def test_the_walkthrough_then_sync_leaves_every_check_green(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pandas", reason="the committed reports need bpcheck[report]")
    pytest.importorskip("jax", reason="the committed reports were made with the autodiff engine")
    copy = copy_repository(tmp_path / "repository")
    monkeypatch.chdir(copy)

    commands = walkthrough_commands(copy)
    assert commands[-1] == ["bpcheck", "sync"], "the walkthrough ends with `bpcheck sync`"
    for command in commands[:-1]:
        assert main(command[1:]) == 0, f"{shlex.join(command)} failed:\n{capsys.readouterr()}"
    capsys.readouterr()
    assert main(["sync", "--check"]) == 1, "a new fixture changes the generated files"
    stale = capsys.readouterr().out
    for path in ("fixtures/README.md", "reports"):
        assert f"{path}: out of date" in stale, stale

    assert main(commands[-1][1:]) == 0
    assert main(["sync", "--check"]) == 0, f"stale after sync:\n{capsys.readouterr()}"
    assert capsys.readouterr().out.count("rewritten") >= 2
    errata = json.loads((copy / "reports" / "report.json").read_text())["tables"]["errata"]
    assert any(row["fixture"] == "tanh-121" for row in errata["rows"]), "the new erratum"

    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", *STALE_FILE_CHECKS],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
