"""`bpcheck compare`: drift between two `run --json` results, and which drift is a regression."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import FAILED, OK, SKIPPED, check_fixture
from bpcheck.checking.results import run_result
from bpcheck.checking.run_result import ClaimRecord, EngineInfo, RunResult, read_run_result
from bpcheck.cli.main import main as bpcheck
from bpcheck.io.loader import load
from bpcheck.report.compare import DOCUMENT, FIX, OTHER, compare, moved

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "babin" / "babin.json"
SCHEMA = ROOT / "fixtures" / "schema" / "fixture-v1.schema.json"


@pytest.fixture(scope="module")
def run() -> RunResult:
    """A real ``run --json`` result (loops on babin), so the contract is the one `run` writes."""
    engines = registry.select(["loops"])
    return run_result(engines, [check_fixture(load(FIXTURE), engines)])


def main(argv: list[str]) -> int:
    """``bpcheck compare ...`` as a user runs it (bad input is exit 2, one line per problem)."""
    return bpcheck(["compare", *argv])


def files(tmp_path: Path, old: RunResult, new: RunResult) -> list[str]:
    paths = [tmp_path / "old.json", tmp_path / "new.json"]
    for path, data in zip(paths, (old, new), strict=True):
        path.write_text(json.dumps(data.to_json()))
    return [str(p) for p in paths]


def section(out: str, title: str) -> list[list[str]]:
    """The rows (split in words) of the section titled ``title`` of compare's output."""
    lines = out.splitlines()
    start = lines.index(title) + 3  # the title, the headers, the rule
    end = lines.index("", start)
    return [line.split() for line in lines[start:end]]


def claim(results: RunResult, cid: str) -> ClaimRecord:
    return next(c for c in results.fixtures[0].claims if c.id == cid)


def test_identical_runs_have_no_changes(
    run: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(files(tmp_path, run, run)) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("0 changes from ") and "\n" not in out
    assert out.endswith(": 0 regressions, 0 fixes, 0 document changes, 0 other changes")


def test_a_planted_verdict_change_is_a_regression(
    run: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = copy.deepcopy(run)
    claim(new, "h1").verdict = "truncated"
    assert main(files(tmp_path, run, new)) == 1
    out = capsys.readouterr().out
    assert section(out, "regressions (1)") == [["verdict", "babin", "h1", "match", "truncated"]]


def test_a_planted_value_drift_is_found_beyond_the_tolerance(
    run: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = copy.deepcopy(run)
    target = claim(new, "out_h1")
    run_value = target.values["loops"]
    assert run_value is not None
    target.values["loops"] = run_value * (1 + 1e-9)
    assert main(files(tmp_path, run, new)) == 1
    out = capsys.readouterr().out
    [line] = section(out, "regressions (1)")
    assert line[:4] == ["value", "babin", "out_h1", "loops"]
    old, new_value = f"{run_value:.17g}", f"{target.values['loops']:.17g}"
    assert line[4:] == [old, new_value, "relative", "1e-09"]
    assert main([*files(tmp_path, run, new), "--tolerance", "1e-6"]) == 0


def test_drift_within_the_default_tolerance_is_not_a_change(run: RunResult) -> None:
    new = copy.deepcopy(run)
    target = claim(new, "out_h1")
    assert target.values["loops"] is not None
    target.values["loops"] *= 1 + 1e-14
    assert compare(run, new) == []
    assert not moved(math.nan, math.nan, 1e-12) and moved(1.0, math.nan, 1e-12)
    assert moved(0.0, 1e-300, 1e-12) and not moved(0.0, 0.0, 0.0)


def test_claims_added_and_removed(run: RunResult) -> None:
    new = copy.deepcopy(run)
    claims = new.fixtures[0].claims
    removed = claims.pop(0)
    claims.append(replace(removed, id="brand-new"))
    changes = {(c.kind, c.claim): c.regression for c in compare(run, new)}
    assert changes == {("claim removed", removed.id): True, ("claim added", "brand-new"): False}


def test_fixtures_added_and_removed(run: RunResult) -> None:
    new = copy.deepcopy(run)
    new.fixtures[0].id = "renamed"
    changes = {(c.kind, c.fixture): c.regression for c in compare(run, new)}
    assert changes == {("fixture removed", "babin"): True, ("fixture added", "renamed"): False}


def test_engines_that_vanish_or_appear(run: RunResult) -> None:
    extra = copy.deepcopy(run)
    extra.engines["other"] = EngineInfo("1", True, None)
    unavailable = copy.deepcopy(extra)
    unavailable.engines["other"] = EngineInfo("1", False, "no jax")
    vanished = compare(extra, unavailable)
    assert [(c.kind, c.engine, c.new, c.regression) for c in vanished] == [
        ("engine vanished", "other", "unavailable: no jax", True)
    ]
    appeared = compare(run, extra)
    assert [(c.kind, c.engine, c.old, c.regression) for c in appeared] == [
        ("engine appeared", "other", "absent", False)
    ]


def test_an_outcome_that_stops_being_ok_is_a_regression_and_the_reverse_is_not(
    run: RunResult,
) -> None:
    new = copy.deepcopy(run)
    target = claim(new, "h1")
    target.outcome, target.outcomes["loops"] = FAILED, FAILED
    worse = compare(run, new)
    assert [(c.kind, c.engine, c.old, c.new, c.regression) for c in worse] == [
        ("outcome", "loops", "ok", "failed", True)
    ]
    better = compare(new, run)
    assert [(c.kind, c.regression) for c in better] == [("outcome", False)]


def test_an_engine_that_skips_a_claim_while_the_claim_stays_ok_is_a_regression(
    run: RunResult,
) -> None:
    both = copy.deepcopy(run)
    both.engines["other"] = EngineInfo("1", True, None)
    for item in both.fixtures[0].claims:
        item.outcomes["other"] = OK
    new = copy.deepcopy(both)
    claim(new, "h1").outcomes["other"] = SKIPPED
    changes = compare(both, new)
    assert [(c.kind, c.engine, c.regression) for c in changes] == [("outcome", "other", True)]


def test_a_fixture_whose_engines_start_to_disagree(run: RunResult) -> None:
    new = copy.deepcopy(run)
    new.fixtures[0].outcome = FAILED
    assert [(c.kind, c.regression) for c in compare(run, new)] == [("fixture outcome", True)]


def test_nan_values_from_a_diverging_engine_are_readable(run: RunResult, tmp_path: Path) -> None:
    new = copy.deepcopy(run)
    claim(new, "h1").values["loops"] = math.nan
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(new.to_json()))
    assert "NaN" in path.read_text()
    value = claim(read_run_result(path), "h1").values["loops"]
    assert value is not None and math.isnan(value)
    assert [c.kind for c in compare(run, new)] == ["value"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "new.json: line 1 column 2: expected JSON: "),
        ("[]", "new.json: $: expected object, found []"),
        ('{"bpcheck": "0.1.0", "engines": {}}', "new.json: $: missing field: 'fixtures'"),
        ("DROP", "new.json: $.fixtures[0].claims[0]: missing field: 'verdict'"),
        ("", "new.json: line 1 column 1: expected JSON"),
    ],
)
def test_unreadable_input_is_one_line_and_exit_2(
    run: RunResult,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    expected: str,
) -> None:
    old, new = files(tmp_path, run, run)
    if content == "DROP":
        broken = run.to_json()
        del broken["fixtures"][0]["claims"][0]["verdict"]
        content = json.dumps(broken)
    Path(new).write_text(content)
    assert main([old, new]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "gone.json"), str(tmp_path / "also.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{tmp_path / 'gone.json'}: $: cannot read the file")


# --- fixes and document changes ---------------------------------------------------------------


def run_of(document: dict[str, Any], tmp_path: Path, name: str) -> RunResult:
    """The ``run --json`` result of the fixture ``document`` (loops), as a user would get it."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({**document, "$schema": str(SCHEMA)}))
    engines = registry.select(["loops"])
    return run_result(engines, [check_fixture(load(path), engines)])


def babin_with(**changes: str) -> dict[str, Any]:
    """Babin's fixture with the claim ``w8-after-1`` (printed 0.0613, a mismatch) changed."""
    document = json.loads(FIXTURE.read_text())
    target = next(c for c in document["claims"] if c["id"] == "w8-after-1")
    target.update(changes)
    return dict(document)


def test_a_corrected_typo_is_a_fix_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The document corrects 0.0613 to 0.5614 (rounded) and the fixture now expects match."""
    old = run_of(babin_with(), tmp_path, "old")
    new = run_of(babin_with(printed="0.5614", expect="match"), tmp_path, "new")
    assert main(files(tmp_path, old, new)) == 0
    out = capsys.readouterr().out
    assert section(out, "fixes (1)") == [["verdict", "babin", "w8-after-1", "mismatch", "match"]]
    assert section(out, "document changes (2)") == [
        ["printed", "babin", "w8-after-1", "0.0613", "0.5614"],
        ["expected", "babin", "w8-after-1", "mismatch", "match"],
    ]
    assert "regressions (" not in out
    assert out.splitlines()[-1].endswith(
        ": 0 regressions, 1 fix, 2 document changes, 0 other changes"
    )


def test_a_new_erratum_recorded_with_its_expectation_is_a_document_change(
    tmp_path: Path,
) -> None:
    old = run_of(babin_with(printed="0.5614", expect="match"), tmp_path, "old")
    new = run_of(babin_with(), tmp_path, "new")
    sections = {c.kind: c.section for c in compare(old, new)}
    assert sections == {"printed": DOCUMENT, "expected": DOCUMENT, "verdict": DOCUMENT}


def test_a_claim_that_reaches_its_expected_verdict_is_a_fix(tmp_path: Path) -> None:
    """Expected match all along, the printed number was wrong, the document corrected it."""
    old = run_of(babin_with(expect="match"), tmp_path, "old")
    new = run_of(babin_with(printed="0.5614", expect="match"), tmp_path, "new")
    sections = {c.kind: c.section for c in compare(old, new)}
    assert sections == {
        "printed": DOCUMENT,
        "verdict": FIX,
        "outcome": FIX,
        "fixture outcome": FIX,
    }


def test_a_verdict_that_moves_while_the_claim_stays_off_loses_nothing(tmp_path: Path) -> None:
    old = run_of(babin_with(expect="truncated"), tmp_path, "old")
    new = run_of(babin_with(printed="0.5614", expect="truncated"), tmp_path, "new")
    sections = {c.kind: c.section for c in compare(old, new)}
    assert sections["verdict"] == OTHER and not any(c.regression for c in compare(old, new))
