"""Strict reading: what json.loads lets through and bpcheck must not is one line, in every reader.

Fixtures (``validate``), ``run --json`` results (``compare``, ``report --from``),
``gradcheck --json`` and ``diagnose --json`` results are all read by
:mod:`bpcheck.io.strict_json` and checked by :mod:`bpcheck.io.validator`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import check_fixture
from bpcheck.checking.results import run_result
from bpcheck.cli.main import main
from bpcheck.diagnose.results import read_diagnose_result
from bpcheck.errors import BadInput
from bpcheck.io.json_positions import positions
from bpcheck.io.loader import load, load_all
from bpcheck.io.strict_json import UnreadableJson, parse
from bpcheck.io.validator import ecma_pattern
from tests.support.documents import VALID


def document(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    found = copy.deepcopy(VALID)
    change(found)
    return found


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    """``validate`` on ``text``: exit 2 and exactly one line, returned without the file name."""
    path = tmp_path / "bad.json"
    path.write_text(text, "utf-8")
    code = main(["validate", str(path)])
    lines = capsys.readouterr().err.splitlines()
    assert (code, len(lines)) == (2, 1), lines
    assert lines[0].startswith(f"{path}: "), lines[0]
    return lines[0].removeprefix(f"{path}: ")


# --- fixtures ---------------------------------------------------------------------------------


def test_a_duplicate_key_is_refused_naming_both_places(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``"learning_rate": 0.5, "learning_rate": 50`` validated and ran at 50."""
    text = json.dumps(VALID, indent=1).replace(
        '"learning_rate": 0.5,', '"learning_rate": 0.5,\n  "learning_rate": 50,'
    )
    first = text.index('"learning_rate"')
    line = text.count("\n", 0, first) + 1
    column = first - text.rfind("\n", 0, first)
    assert refused(tmp_path, capsys, text) == (
        f"$.problem.learning_rate: duplicate key 'learning_rate' at line {line} column {column} "
        f"and line {line + 1} column 3; expected each key once in an object"
    )


def test_a_lone_surrogate_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A title ``"\\ud800"`` validated; the report then crashed after writing one file."""
    text = json.dumps(document(lambda d: d.update(title="A \ud800 title")))
    assert refused(tmp_path, capsys, text) == (
        "$.title: expected text, found a lone surrogate \\ud800 (not a character; no UTF-8)"
    )


def test_an_escaped_surrogate_pair_is_text(tmp_path: Path) -> None:
    path = tmp_path / "emoji.json"
    path.write_text(json.dumps(document(lambda d: d.update(title="A \U0001f600 title"))))
    assert load(path).title == "A \U0001f600 title"


def test_a_step_written_as_a_float_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``"step": 1.0`` validated and made the autodiff engine fail."""
    text = json.dumps(document(lambda d: d["claims"][0].update(step=1.0)))
    assert refused(tmp_path, capsys, text) == "$.claims[0].step: expected integer, found 1.0"


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda d: d.update(id="tiny\n"), "$.id"),
        (lambda d: d["claims"][0].update(id="o\n"), "$.claims[0].id"),
        (lambda d: d["aliases"].update({"w2\n": "w[1,1,2]"}), "$.aliases"),
        (lambda d: d.update({"$schema": "fixture-v1.schema.json\n"}), "$.$schema"),
    ],
    ids=["fixture id", "claim id", "alias", "schema"],
)
def test_a_trailing_newline_does_not_match_a_pattern(
    change: Callable[[dict[str, Any]], object],
    location: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = refused(tmp_path, capsys, json.dumps(document(change)))
    assert line.startswith(f"{location}: "), line
    assert "does not match" in line


@pytest.mark.parametrize(
    "printed", ["0.525\n", "\uff10.\uff15\uff12\uff15", "0.\u0665\u0662\u0665"]
)
def test_a_printed_number_in_other_digits_or_with_a_newline_is_refused(
    printed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fullwidth 0.525 was judged a match (``decimal`` reads any Unicode digit)."""
    text = json.dumps(document(lambda d: d["claims"][0].update(printed=printed)))
    line = refused(tmp_path, capsys, text)
    assert line.startswith("$.claims[0].printed: expected a decimal number"), line


@pytest.mark.parametrize(
    ("printed", "message"),
    [
        ("7.5e-2100", "expected a number between 1e-400 and 1e400 in size"),
        ("1" * 101, "expected a number of at most 100 characters"),
    ],
)
def test_a_printed_number_that_no_verdict_can_take_is_refused(
    printed: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``"printed": "7.5e-2100"`` validated, then raised decimal.InvalidOperation."""
    text = json.dumps(document(lambda d: d["claims"][0].update(printed=printed)))
    assert refused(tmp_path, capsys, text).startswith(f"$.claims[0].printed: {message}")


def test_a_pinned_value_out_of_range_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def pin(d: dict[str, Any]) -> None:
        d["claims"][0] = {"id": "o", "quantity": "o", "pinned": "1e-999", "where": "-"}

    line = refused(tmp_path, capsys, json.dumps(document(pin)))
    assert line.startswith("$.claims[0].pinned: expected a number between 1e-400 and 1e400")


def test_nesting_beyond_the_limit_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(VALID).replace('"made-up.txt"', "[" * 500 + "]" * 500)
    assert refused(tmp_path, capsys, text) == (
        "$: expected arrays and objects nested at most 64 deep, found deeper ones"
    )


def test_the_same_file_given_twice_is_loaded_once(tmp_path: Path) -> None:
    """``validate a.json a.json`` reported a duplicate fixture id."""
    path = tmp_path / "a.json"
    path.write_text(json.dumps(VALID))
    fixtures, errors = load_all([path, tmp_path / "." / "a.json", tmp_path, path])
    assert (len(fixtures), errors) == (1, [])


# --- results files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """A real ``run --json`` document (loops on the tiny fixture)."""
    engines = registry.select(["loops"])
    fixture_path = (
        Path(__file__).resolve().parents[2] / "fixtures" / "hmkcode" / "hmkcode-2018.json"
    )
    document: dict[str, Any] = run_result(
        engines, [check_fixture(load(fixture_path), engines)]
    ).to_json()
    return document


def compare_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], good: dict[str, Any], text: str
) -> str:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(good))
    new.write_text(text)
    code = main(["compare", str(old), str(new)])
    lines = capsys.readouterr().err.splitlines()
    assert (code, len(lines)) == (2, 1), lines
    return lines[0].removeprefix(f"{new}: ")


def test_compare_refuses_deep_nesting_in_a_field_with_one_line(
    results: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """980 nested arrays in ``values`` raised RecursionError (printing the schema error)."""
    text = json.dumps(results).replace(
        '"values": {', '"values": {"deep": ' + "[" * 980 + "]" * 980 + ", ", 1
    )
    assert compare_refuses(tmp_path, capsys, results, text) == (
        "$: expected arrays and objects nested at most 64 deep, found deeper ones"
    )


def test_compare_refuses_a_duplicate_key(
    results: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(results).replace('"bpcheck": ', '"bpcheck": "9", "bpcheck": ', 1)
    line = compare_refuses(tmp_path, capsys, results, text)
    assert line.startswith("$.bpcheck: duplicate key 'bpcheck' at line 1 column "), line


def test_report_from_refuses_a_duplicate_key(
    results: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(results).replace('"engines": ', '"engines": {}, "engines": ', 1))
    code = main(["report", "--from", str(path), "--out", str(tmp_path / "out"), "--format", "json"])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"{path}: $.engines: duplicate key"), lines


def test_a_results_file_may_hold_nan_but_no_overflow() -> None:
    assert parse('{"a": NaN, "b": -Infinity}', "r.json", non_finite=True)["b"] == -float("inf")
    with pytest.raises(UnreadableJson) as raised:
        parse('{"a": [1, 1e999]}', "r.json", non_finite=True)
    assert str(raised.value.problem) == (
        "r.json: $.a[1]: expected a number that fits in a float64, found 1e999"
    )


def test_a_diagnose_results_file_is_read_strictly(tmp_path: Path) -> None:
    path = tmp_path / "diagnose.json"
    path.write_text('{"diagnoses": [], "diagnoses": []}')
    with pytest.raises(BadInput) as raised:
        read_diagnose_result(path)
    assert raised.value.lines[0].startswith(f"{path}: $.diagnoses: duplicate key 'diagnoses'")


# --- the pieces -------------------------------------------------------------------------------


def test_patterns_read_as_ecma_262() -> None:
    assert ecma_pattern("^[a-z]+$").search("tiny")
    assert not ecma_pattern("^[a-z]+$").search("tiny\n")
    assert not ecma_pattern(r"^\d+$").search("\uff11")
    assert ecma_pattern(r"^a\$").search("a$")


def test_positions_name_every_value() -> None:
    text = '{"a": [1, "x\\"]", {"b": null}], "pinned": "0.5"}'
    found = positions(text)
    spans = {path: text[start:end] for path, (start, end) in found.spans.items()}
    assert spans[("a", 1)] == '"x\\"]"'
    assert spans[("a", 2, "b")] == "null"
    assert spans[("pinned",)] == '"0.5"'
    assert found.duplicate is None
