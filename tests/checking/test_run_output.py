"""What ``bpcheck run`` prints: counts per fixture, a closing tally, the same counts in --json."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Collection
from pathlib import Path

import pytest

from bpcheck.checking.check import check_fixture
from bpcheck.checking.results import fixture_rows, run_result, tally_line
from bpcheck.checking.run_result import read_run_result
from bpcheck.cli.main import main
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from tests.support.broken_engines import broken_engine
from tests.support.paths import ROOT

FIXTURES = ROOT / "fixtures"
BABIN = FIXTURES / "babin" / "babin.json"
TALLY = (
    "293 claims in 12 fixtures: 57 printed numbers match, 15 truncated, 11 wrong, "
    "194 pinned, 16 relations (all as expected); engines agree"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def every_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[str], Path]:
    """``bpcheck run fixtures/`` with two engines (what it prints, and its --json)."""
    path = tmp_path_factory.mktemp("run") / "run.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["run", str(FIXTURES), "--engine", "loops", "--engine", "matrices", "--json", str(path)]
        )
    return code, out.getvalue().splitlines(), path


def row(lines: list[str], fixture: str) -> list[str]:
    return next(line.split() for line in lines if line.split()[:1] == [fixture])


def test_run_ends_with_the_tally_line(every_fixture: tuple[int, list[str], Path]) -> None:
    code, lines, _ = every_fixture
    assert code == 0
    assert lines[-1] == TALLY


def test_the_babin_row_shows_its_truncated_and_wrong_counts(
    every_fixture: tuple[int, list[str], Path],
) -> None:
    _, lines, _ = every_fixture
    assert lines[0].split()[:7] == [
        "fixture",
        "claims",
        "match",
        "truncated",
        "mismatch",
        "pinned",
        "relations",
    ]
    assert row(lines, "babin") == ["babin", "27", "8", "15", "3", "0", "1", "all", "agree"]
    assert row(lines, "mazur-2015") == [
        "mazur-2015",
        "41",
        "3",
        "0",
        "4",
        "31",
        "3",
        "all",
        "agree",
    ]


def test_the_json_has_the_same_counts(every_fixture: tuple[int, list[str], Path]) -> None:
    _, lines, path = every_fixture
    document = json.loads(path.read_text())
    babin = next(f for f in document["fixtures"] if f["id"] == "babin")
    counts = babin["counts"]
    shown = [str(counts[k]["claims"]) for k in ("match", "truncated", "mismatch", "pinned")]
    assert row(lines, "babin")[2:6] == shown
    assert counts["claims"] == counts["as_expected"] == 27 and counts["disagreements"] == 0
    total = document["counts"]
    assert (total["fixtures"], total["fixtures_not_ok"], total["claims"]) == (12, 0, 293)
    expected = {"match": 57, "truncated": 15, "mismatch": 11, "pinned": 194, "relations": 16}
    assert {k: total[k]["claims"] for k in expected} == expected


def test_a_claim_off_its_expected_verdict_shows_in_the_row_and_the_tally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(BABIN.read_text())
    wrong = next(c for c in document["claims"] if c.get("expect") == "mismatch")
    wrong["expect"] = "match"
    document["$schema"] = str(FIXTURES / "schema" / "fixture-v1.schema.json")
    path = tmp_path / "babin.json"
    path.write_text(json.dumps(document))
    assert main(["run", str(path), "--engine", "loops"]) == 1
    lines = capsys.readouterr().out.splitlines()
    babin = " ".join(row(lines, "babin"))
    assert babin == "babin 27 8 15 3 0 1 26 of 27 only loops"
    assert lines[-1] == (
        "27 claims in 1 fixture: 8 printed numbers match, 15 truncated, 3 wrong, 1 relation "
        "(1 not as expected: 1 wrong); only loops ran"
    )


def test_plain_when_piped_and_coloured_at_a_terminal_with_the_same_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["run", str(BABIN), "--engine", "loops"]) == 0
    plain = capsys.readouterr().out
    assert "\x1b" not in plain
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(["run", str(BABIN), "--engine", "loops"]) == 0
    coloured = capsys.readouterr().out
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain


class Raises(LoopsEngine):
    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise RuntimeError("planted")


def test_the_tally_names_disagreements_and_engines_that_errored() -> None:
    raises = Raises()
    raises.name = "raises"
    engines: dict[str, Engine] = {
        "loops": LoopsEngine(),
        "float32": broken_engine("float32"),
        "raises": raises,
    }
    result = check_fixture(load(FIXTURES / "mazur" / "mazur-2015.json"), engines)
    run = run_result(engines, [result])
    quantities = len(result.disagreements)
    assert quantities > 1
    line = tally_line(run)
    assert line.endswith(
        f"; engines disagree on {quantities} quantities in 1 fixture; raises errored on 1 fixture"
    )
    assert "not as expected" in line
    headers, rows = fixture_rows(run)
    cells = dict(zip(headers, rows[0], strict=True))
    assert cells["engines"] == f"disagree on {quantities}, raises errored"
    assert cells["as expected"] != "all"


def test_claims_no_engine_computed_get_a_column_and_a_count() -> None:
    raises = Raises()
    engines: dict[str, Engine] = {"raises": raises}
    run = run_result(engines, [check_fixture(load(BABIN), engines)])
    headers, rows = fixture_rows(run)
    cells = dict(zip(headers, rows[0], strict=True))
    assert cells["not computed"] == "27" and cells["as expected"] == "0 of 27"
    assert tally_line(run) == (
        "27 claims in 1 fixture: 0 printed numbers match, 0 truncated, 0 wrong, 27 not computed "
        "(27 not as expected: 27 not computed); no engine ran; raises errored on 1 fixture"
    )


def test_a_file_written_before_the_counts_is_read_and_gets_them(
    every_fixture: tuple[int, list[str], Path], tmp_path: Path
) -> None:
    _, _, path = every_fixture
    document = json.loads(path.read_text())
    del document["counts"]
    for fixture in document["fixtures"]:
        del fixture["counts"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    assert read_run_result(old).to_json() == json.loads(path.read_text())
