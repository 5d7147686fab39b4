"""Bad command-line arguments are one line and exit 2: no traceback, no silent oddity, no file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

NETWORK = ["--sizes", "1,1", "--inputs", "0.5", "--targets", "0.2", "--no-ask"]


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err.splitlines()
    assert (code, len(err)) == (2, 1), err
    return err[0]


def test_diagnose_refuses_a_negative_top(capsys: pytest.CaptureFixture[str]) -> None:
    """``--top -1`` silently showed every explanation but the last."""
    fixture = str(ROOT / "fixtures" / "hmkcode" / "hmkcode-2018.json")
    line = refused(["diagnose", fixture, "--top", "-1"], capsys)
    assert line == "--top: expected a whole number of 0 or more, found -1"


def test_bench_refuses_zero_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(["bench", "--repeats", "0", "--engine", "loops"], capsys)
    assert line == "--repeats: expected a whole number of at least 1, got 0"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--weights", "nan", "--weights: expected comma-separated decimal numbers, found 'nan'"),
        ("--weights", "inf", "--weights: expected comma-separated decimal numbers, found 'inf'"),
        ("--weights", "1e999", "--weights: expected numbers that fit in a float64, found '1e999'"),
        ("--weights", "1_0", "--weights: expected comma-separated decimal numbers, found '1_0'"),
        ("--learning-rate", "nan", "--learning-rate: expected comma-separated decimal numbers"),
        ("--steps", "abc", "--steps: expected a whole number, found 'abc'"),
        ("--steps", "10000000000000", "$.problem.steps: expected at most 1000000 training steps"),
    ],
)
def test_new_refuses_what_no_fixture_can_hold(
    option: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``new --weights nan`` wrote a file no command could load, and exited 0."""
    path = tmp_path / "n.json"
    arguments = {"--weights": "0.3", "--learning-rate": "0.5", "--steps": "1", option: value}
    argv = ["new", str(path), *NETWORK]
    for name, given in arguments.items():
        argv += [name, given]
    line = refused(argv, capsys)
    assert line.startswith(f"{path}: {message}"), line
    assert not path.exists()
