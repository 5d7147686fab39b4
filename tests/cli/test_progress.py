"""Progress (bpcheck.io.progress): drawn on standard error at a terminal, and nowhere else."""

from __future__ import annotations

import io
import sys

import pytest

from bpcheck.io.progress import tracked, working


class Terminal(io.StringIO):
    """A standard stream that says it is a terminal, and keeps what is written to it."""

    def isatty(self) -> bool:
        return True


def test_nothing_is_drawn_when_standard_error_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert list(tracked(["a", "b"], "checking", str.upper)) == ["a", "b"]
    with working("rewriting"):
        pass
    assert capsys.readouterr() == ("", "")


def test_a_bar_with_the_item_is_drawn_on_standard_error_at_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr, stdout = Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    seen = []
    for item in tracked(["first-fixture", "second[bold]"], "diagnosing", str):
        print(f"result of {item}")
        seen.append(item)
    assert seen == ["first-fixture", "second[bold]"]
    drawn = stderr.getvalue()
    assert "diagnosing" in drawn and "first-fixture" in drawn
    assert "second[bold]" in drawn, "an item's name is shown as it is, never read as markup"
    assert stdout.getvalue() == "result of first-fixture\nresult of second[bold]\n"
    assert "diagnosing" not in stdout.getvalue()


def test_a_spinner_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    with working("regenerating the documents"):
        pass
    assert "regenerating the documents" in stderr.getvalue()
