"""accept: expected verdicts and pins from the engines' agreed result; refused without one."""

from __future__ import annotations

import copy
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from bpcheck.authoring.accept import accept, agreed_verdict
from bpcheck.checking import registry
from bpcheck.checking.check import FAILED, OK, ClaimResult
from bpcheck.cli.main import main
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Claim
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from tests.support.broken_engines import broken_engine
from tests.support.documents import VALID
from tests.support.pytester_runs import QUIET, use_engines, write_fixture

O_VALUE = "0.52497918747894"
"""sigmoid(0.1 * 0.5 + 0.2 * 0.25), the output of the small valid fixture, as repr cuts it."""
W1_AFTER = "0.12961470230892802"
"""Its first weight after one update."""


def changed_document(**claim: Any) -> dict[str, Any]:
    """The small valid fixture whose printed output is now wrong (0.55), and a stale pin."""
    document: dict[str, Any] = copy.deepcopy(VALID)
    document["claims"][0].update(printed="0.55", **claim)
    document["claims"].append(
        {"id": "w1-after-1", "quantity": "w1", "step": 1, "pinned": "0.1", "where": "-"}
    )
    return document


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def loops_only() -> dict[str, Engine]:
    return {"loops": LoopsEngine()}


def disagreeing() -> dict[str, Engine]:
    """Two engines that disagree: the second computes in single precision."""
    return {"loops": LoopsEngine(), "matrices": broken_engine("float32")}


# --- the domain function ------------------------------------------------------------------


def test_accept_rewrites_the_expected_verdict_and_the_pin_and_nothing_else(tmp_path: Path) -> None:
    document = changed_document(note="the text rounds wrongly")
    path = write(tmp_path / "tiny.json", document)

    result = accept(load(path), loops_only())

    assert result.problems == []
    expected = copy.deepcopy(document)
    expected["claims"][0]["expect"] = "mismatch"
    expected["claims"][1]["pinned"] = W1_AFTER
    assert json.loads(result.new_text) == expected
    assert result.new_text == result.old_text.replace(
        '"expect": "match"', '"expect": "mismatch"'
    ).replace('"pinned": "0.1"', f'"pinned": "{W1_AFTER}"')
    assert '-      "expect": "match",' in result.diff()
    assert '+      "expect": "mismatch",' in result.diff()
    assert "(accepted)" in result.diff()


def test_accepting_an_accepted_fixture_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "tiny.json", VALID)
    assert not accept(load(path), loops_only()).changed


def test_accept_refuses_where_the_engines_disagree(tmp_path: Path) -> None:
    path = write(tmp_path / "tiny.json", changed_document(note="the text rounds wrongly"))
    result = accept(load(path), disagreeing())
    assert not result.changed
    assert any("engines disagree" in problem for problem in result.problems), result.problems


def test_accept_refuses_a_new_mismatch_without_a_note(tmp_path: Path) -> None:
    path = write(tmp_path / "tiny.json", changed_document())
    result = accept(load(path), loops_only())
    assert not result.changed
    assert result.problems == [
        "$.claims[0].expect: o: the verdict is now 'mismatch'; write a note saying why "
        '(the claim\'s "note"), then accept again'
    ]


def test_accept_refuses_a_match_that_keeps_a_diagnosis(tmp_path: Path) -> None:
    document: dict[str, Any] = copy.deepcopy(VALID)
    document["claims"][0].update(
        expect="mismatch", note="was wrong", diagnosis="output-derivative-missing"
    )
    path = write(tmp_path / "tiny.json", document)
    result = accept(load(path), loops_only())
    assert not result.changed
    [problem] = result.problems
    assert "the verdict is now 'match'; its diagnosis 'output-derivative-missing'" in problem


class Raises(LoopsEngine):
    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise RuntimeError("planted")


def test_accept_refuses_when_an_engine_errored(tmp_path: Path) -> None:
    path = write(tmp_path / "tiny.json", changed_document(note="the text rounds wrongly"))
    result = accept(load(path), {"loops": LoopsEngine(), "matrices": Raises()})
    assert not result.changed
    assert result.problems == [
        "$: matrices errored, so its result cannot be compared: RuntimeError: planted"
    ]


def test_no_verdict_is_agreed_when_the_engines_reach_different_ones() -> None:
    """Values within the agreement tolerance can still fall either side of a rounding edge."""
    claim = Claim(id="o", where="-", quantity="o", printed="0.5", expect="match")
    claimed = ClaimResult(
        claim=claim,
        values={"loops": 0.5, "matrices": 0.5},
        verdicts={"loops": "match", "matrices": "mismatch"},
        outcomes={"loops": OK, "matrices": FAILED},
        reference=0.5,
        verdict="match",
        outcome=FAILED,
        message="",
    )
    assert agreed_verdict(claimed, ["loops", "matrices"]) == (
        None,
        "engines reach different verdicts (loops: match, matrices: mismatch)",
    )
    assert agreed_verdict(claimed, ["loops"]) == ("match", "")


# --- bpcheck accept -------------------------------------------------------------------------


def test_bpcheck_accept_rewrites_the_file_and_prints_the_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "tiny.json", changed_document(note="the text rounds wrongly"))

    assert main(["accept", str(path), "--engine", "loops"]) == 0

    out = capsys.readouterr().out
    assert '+      "expect": "mismatch",' in out
    assert f'+      "pinned": "{W1_AFTER}",' in out
    assert out.endswith("1 fixture(s): 1 rewritten, 0 refused\n")
    accepted = load(path)
    assert [claim.expect for claim in accepted.claims] == ["mismatch", None]
    assert main(["run", str(path), "--engine", "loops"]) == 0


def test_bpcheck_accept_refuses_where_the_engines_disagree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "tiny.json", changed_document(note="the text rounds wrongly"))
    before = path.read_text()
    monkeypatch.setattr(registry, "select", lambda names, timeout=0: disagreeing())

    assert main(["accept", str(path)]) == 1

    out, err = capsys.readouterr()
    assert path.read_text() == before
    assert f"{path}: $: " in err and "engines disagree" in err
    assert out == "1 fixture(s): 0 rewritten, 1 refused\n"


# --- pytest --bpcheck-accept ------------------------------------------------------------------


def test_pytest_bpcheck_accept_rewrites_what_ran_and_the_next_run_passes(
    pytester: pytest.Pytester,
) -> None:
    path = write_fixture(pytester, changed_document(note="the text rounds wrongly"), "tiny.json")
    loops = ("--bpcheck-engine", "loops")

    first = pytester.runpytest(*QUIET, *loops, "--bpcheck-accept", "fixtures")

    first.assert_outcomes(failed=2, skipped=1)  # the run shows what changed
    first.stdout.fnmatch_lines(
        [
            "*- bpcheck accept -*",
            f"+++ {path} (accepted)",
            '+      "expect": "mismatch",',
            "1 fixture(s): 1 rewritten, 0 refused",
        ]
    )
    assert load(path).claims[0].expect == "mismatch"
    pytester.runpytest(*QUIET, *loops, "fixtures").assert_outcomes(passed=2, skipped=1)


def test_pytest_bpcheck_accept_refuses_where_the_engines_disagree(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_engines(monkeypatch, disagreeing())
    path = write_fixture(pytester, changed_document(note="the text rounds wrongly"), "tiny.json")
    before = path.read_text()
    engines = ("--bpcheck-engine", "loops", "--bpcheck-engine", "matrices")

    result = pytester.runpytest(*QUIET, *engines, "--bpcheck-accept", "fixtures")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [f"{path}: $: * engines disagree *", "1 fixture(s): 0 rewritten, 1 refused"]
    )
    assert path.read_text() == before


def test_without_bpcheck_items_the_option_does_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest(*QUIET, "--bpcheck-accept")
    result.assert_outcomes(passed=1)
    assert "bpcheck accept" not in result.stdout.str()


@pytest.mark.slow
def test_pytest_bpcheck_accept_under_xdist_accepts_in_the_main_process(
    pytester: pytest.Pytester,
) -> None:
    path = write_fixture(pytester, changed_document(note="the text rounds wrongly"), "tiny.json")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--bpcheck-engine", "loops", "-n", "2", "--bpcheck-accept"
    )
    result.stdout.fnmatch_lines(["1 fixture(s): 1 rewritten, 0 refused"])
    assert load(path).claims[0].expect == "mismatch"
