"""``bpcheck diagnose`` (tens of seconds on a big fixture) shows progress per fixture, on
standard error and only at a terminal."""

from __future__ import annotations

import io
import sys

import pytest

from bpcheck.cli.main import main
from tests.support.paths import ROOT

ALL_MATCH = ROOT / "fixtures" / "babin" / "babin-comment-w4.json"
"""Every printed number a match: nothing to diagnose, so the test is quick."""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_per_fixture_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr, stdout = Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["diagnose", str(ALL_MATCH)]) == 0
    assert "diagnose" in stderr.getvalue() and "babin-comment-w4" in stderr.getvalue()
    assert stdout.getvalue() == ""


def test_no_progress_when_standard_error_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagnose", str(ALL_MATCH)]) == 0
    assert capsys.readouterr() == ("", "")
