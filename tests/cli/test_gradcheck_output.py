"""What ``bpcheck gradcheck`` prints: per row an error and its tolerance in the same units, and
one word for an outcome (ok, failed) in the rows, the summary lines and the closing count."""

from __future__ import annotations

import io
import sys
from collections.abc import Collection

import pytest

from bpcheck.checking import registry
from bpcheck.cli.gradcheck import ROW_HEADERS, row_cells
from bpcheck.cli.main import main
from bpcheck.engines.loops import LoopsEngine
from bpcheck.gradcheck.result import make_row
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from tests.support.paths import ROOT

BABIN = ROOT / "fixtures" / "babin" / "babin.json"
HMKCODE = ROOT / "fixtures" / "hmkcode" / "hmkcode-2018.json"


class WrongGradient(LoopsEngine):
    """The loops engine with dE/dw[2,1,1] off by one part in a thousand."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        trace = super().run(problem, record)
        for values in trace.values():
            values["dE_dw[2,1,1]"] *= 1.001
        return trace


def test_a_row_shows_the_error_beside_its_tolerance_in_the_same_units() -> None:
    assert ROW_HEADERS[3:] == ["abs error", "abs tolerance", "outcome"]
    assert "engine dE/dθ" in ROW_HEADERS and "reference dE/dθ" in ROW_HEADERS
    cells = row_cells(make_row("w[1,1,1]", 0.5, 0.5 + 1e-9, tolerance=1e-12))
    assert cells[3:] == ["1.00e-09", "1.00e-12", "failed"]
    assert row_cells(make_row("w[1,1,1]", 0.5, 0.5, tolerance=1e-12))[-1] == "ok"
    kink = row_cells(make_row("w[1,1,1]", 0.5, 0.25, tolerance=1e-12, one_sided=(0.0, 0.5)))
    assert kink[-1] == "kink (left 0, right 0.5)"


def test_every_row_pairs_its_error_with_its_tolerance_and_says_ok_or_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(registry, "all_engines", lambda: {"wrong": WrongGradient()})
    assert main(["gradcheck", str(BABIN)]) == 1
    lines = capsys.readouterr().out.splitlines()
    summary = lines[0]
    assert summary.startswith("babin  loops  step 0  richardson  failed  8 checked")
    assert "nearest its tolerance: w[2,1,1]" in summary and summary.endswith("(1 failed)")
    assert lines[1].split("  ")[:1] == ["parameter"]
    rows = [line.split() for line in lines[3:] if line.startswith(("w[", "b["))]
    assert len(rows) == 8
    for row in rows:
        error, tolerance, outcome = float(row[3]), float(row[4]), row[5]
        assert outcome == ("ok" if error <= tolerance else "failed"), row
    assert [row[5] for row in rows if row[0] == "w[2,1,1]"] == ["failed"]
    words = {"ok", "failed", "errored", "skipped"}
    assert lines[-1] == "1 fixture(s), 1 gradient check(s): 0 ok, 1 failed, 0 errored, 0 skipped"
    assert {row[5] for row in rows} <= words


def test_progress_per_fixture_on_standard_error_at_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stderr, stdout = Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["gradcheck", str(HMKCODE), "--engine", "loops", "--quiet"]) == 0
    assert "gradcheck" in stderr.getvalue() and "hmkcode-2018" in stderr.getvalue()
    assert stdout.getvalue().startswith("hmkcode-2018  loops  step 0")
    assert "━" not in stdout.getvalue()
