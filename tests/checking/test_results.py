"""Results as text tables (tabulate) and as the typed, schema-backed ``run --json`` contract."""

from __future__ import annotations

import copy
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bpcheck.checking.check import ERRORED, FAILED, OK, check_fixture
from bpcheck.checking.results import run_result, text_table
from bpcheck.checking.run_result import (
    SCHEMA_NAME,
    RunResult,
    read_run_result,
    write_run_result,
)
from bpcheck.cli.main import main as bpcheck
from bpcheck.engines.loops import LoopsEngine
from bpcheck.errors import BadInput
from bpcheck.io.loader import load
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from tests.support.broken_engines import broken_engine

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "bpcheck" / "io" / "schema" / SCHEMA_NAME
RELATIONS = ROOT / "fixtures" / "hmkcode" / "hmkcode-2018.json"
PINS = ROOT / "fixtures" / "rules-003" / "rules-003-sequential.json"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``bpcheck run --json`` writes for fixtures with relations and pinned values."""
    path = tmp_path_factory.mktemp("run") / "run.json"
    assert (
        bpcheck(["run", str(RELATIONS), str(PINS), "--engine", "loops", "--json", str(path)]) == 0
    )
    return path


class Raises(LoopsEngine):
    """An engine whose every run raises: its claims are ``errored``."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise RuntimeError("planted")


@pytest.fixture(scope="module")
def odd() -> RunResult:
    """A run with every kind of entry: a disagreement, a failed claim, an errored engine."""
    fixture = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    raises = Raises()
    raises.name = "raises"
    engines = {"loops": LoopsEngine(), "float32": broken_engine("float32"), "raises": raises}
    result = check_fixture(fixture, engines)
    assert result.disagreements and any(c.outcome == FAILED for c in result.claims)
    assert [run.outcome for run in result.runs] == [OK, OK, ERRORED]
    return run_result(engines, [result])


def test_the_schema_file_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


def test_what_run_writes_validates_against_the_published_schema(written: Path) -> None:
    document = json.loads(written.read_text())
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["$schema"] == SCHEMA_NAME
    claims = [c for f in document["fixtures"] for c in f["claims"]]
    assert any("relation" in c for c in claims) and any("pinned" in c for c in claims)


def test_the_run_json_round_trips_through_the_reader(written: Path) -> None:
    document = json.loads(written.read_text())
    results = read_run_result(written)
    assert results.to_json() == document
    assert [f.id for f in results.fixtures] == ["hmkcode-2018", "rules-003-sequential"]


def test_disagreements_failures_and_errors_round_trip(odd: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    write_run_result(path, odd)
    again = read_run_result(path)
    assert json.dumps(again.to_json()) == json.dumps(odd.to_json())  # NaN == NaN as text
    assert again.fixtures[0].disagreements[0].quantity


def test_a_file_from_before_the_schema_field_is_read(written: Path, tmp_path: Path) -> None:
    document = json.loads(written.read_text())
    del document["$schema"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))
    assert read_run_result(path).fixtures


def test_bpcheck_refuses_to_write_results_its_schema_refuses(
    odd: RunResult, tmp_path: Path
) -> None:
    broken = copy.deepcopy(odd)
    broken.fixtures[0].claims[0].step = -1
    with pytest.raises(ValueError, match=r"\$\.fixtures\[0\]\.claims\[0\]\.step"):
        write_run_result(tmp_path / "bad.json", broken)
    assert not (tmp_path / "bad.json").exists()


def _planted(document: dict[str, Any], where: str) -> None:
    claim = document["fixtures"][0]["claims"][0]
    if where == "outcome":
        claim["outcome"] = "fine"
    elif where == "step":
        claim["step"] = "one"
    elif where == "extra":
        claim["colour"] = "red"
    elif where == "missing":
        del document["fixtures"][0]["runs"]
    elif where == "engine":
        document["engines"]["loops"]["available"] = "yes"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("outcome", '$.fixtures[0].claims[0].outcome: expected one of "ok", "failed", "errored"'),
        ("step", '$.fixtures[0].claims[0].step: expected integer, found "one"'),
        ("extra", "$.fixtures[0].claims[0]: unknown field 'colour'; expected only id, quantity"),
        ("missing", "$.fixtures[0]: missing field: 'runs'"),
        ("engine", '$.engines.loops.available: expected boolean, found "yes"'),
    ],
)
def test_a_malformed_file_is_bad_input_of_one_line(
    written: Path, tmp_path: Path, where: str, expected: str
) -> None:
    document = json.loads(written.read_text())
    _planted(document, where)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BadInput) as caught:
        read_run_result(path)
    assert len(caught.value.lines) == 1
    assert caught.value.lines[0].startswith(f"{path}: {expected}"), caught.value.lines[0]


def test_bpcheck_report_from_a_malformed_file_is_exit_2_with_one_line(
    written: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pandas")
    document = json.loads(written.read_text())
    _planted(document, "outcome")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    assert bpcheck(["report", "--from", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: $.fixtures[0].claims[0].outcome: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


# --- text tables ----------------------------------------------------------------------------


def test_text_table_aligns_numbers_right_text_left_and_keeps_every_digit() -> None:
    table = text_table(
        ["fixture", "claims", "value", "note"],
        [["babin", "27", "0.35891647971788465", ""], ["a-longer-name", "3", "-", "skipped"]],
    )
    assert table.splitlines() == [
        "fixture        claims                value  note",
        "-------------  ------  -------------------  -------",
        "babin              27  0.35891647971788465",
        "a-longer-name       3                    -  skipped",
    ]


def test_text_table_without_rows_is_its_headers() -> None:
    assert text_table(["a", "bb"], []).splitlines() == ["a  bb", "-  --"]
