"""Every kind of bad input gets one clear line, ``FILE: LOCATION: expected ...``, and exit 2."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main
from tests.support.documents import VALID


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    change(document)
    return document


def validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> tuple[int, list[str]]:
    path = tmp_path / "bad.json"
    path.write_text(text)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    return code, err.splitlines()


def test_the_valid_fixture_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = validate(tmp_path, capsys, json.dumps(VALID))
    assert (code, lines) == (0, [])


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``a.b.0.c`` style paths."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return change


def _rename(path: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for part in path.split(".") if path else []:
            node = node[int(part)] if part.isdigit() else node[part]
        node[new] = node.pop(old)

    return change


BAD_DOCUMENTS = {
    "missing field": (_delete("problem.loss"), "$.problem", "missing field: 'loss'"),
    "unknown field": (
        _rename("claims.0", "printed", "prnted"),
        "$.claims[0]",
        "unknown field 'prnted' (did you mean 'printed'?)",
    ),
    "wrong type": (_set("problem.steps", "one"), "$.problem.steps", "expected integer"),
    "weights that do not fit": (
        _set("problem.layers.0.weights", [[0.1, 0.2, 0.3]]),
        "$.problem.layers[0].weights[0]",
        "expected 2 weights",
    ),
    "unknown activation": (
        _set("problem.layers.0.activation", "sigmoyd"),
        "$.problem.layers[0].activation",
        "unknown value 'sigmoyd' (did you mean 'sigmoid'?)",
    ),
    "unknown loss": (_set("problem.loss", "hinge"), "$.problem.loss", "unknown value 'hinge'"),
    "unknown quantity": (
        _set("claims.0.quantity", "out[1,2]"),
        "$.claims[0].quantity",
        "unknown quantity 'out[1,2]'",
    ),
    "unknown alias": (
        _set("claims.0.quantity", "out_o1"),
        "$.claims[0].quantity",
        "unknown quantity 'out_o1'",
    ),
    "alias to an unknown name": (
        _set("aliases.w1", "w[1,1,3]"),
        "$.aliases.w1",
        "unknown quantity 'w[1,1,3]'",
    ),
    "printed value not a decimal number": (
        _set("claims.0.printed", "0,54"),
        "$.claims[0].printed",
        "expected a decimal number",
    ),
    "printed value as a number": (_set("claims.0.printed", 0.54), "$.claims[0].printed", "string"),
    "learning rate zero": (
        _set("problem.learning_rate", 0),
        "$.problem.learning_rate",
        "less than or equal to the minimum of 0",
    ),
    "negative steps": (_set("problem.steps", -1), "$.problem.steps", "less than the minimum of 0"),
    "step beyond the training": (
        _set("claims.0.step", 5),
        "$.claims[0].quantity",
        "expected a step from 0 to 1",
    ),
    "duplicate claim ids": (
        lambda d: d["claims"].append(dict(d["claims"][0])),
        "$.claims[1].id",
        "duplicate claim id 'o'",
    ),
    "bias count": (
        _set("problem.layers.0.bias", {"kind": "per_neuron", "values": [0.1, 0.2]}),
        "$.problem.layers[0].bias.values",
        "expected 1 bias value(s)",
    ),
    "softmax below the output": (
        lambda d: d["problem"]["layers"].insert(
            0, {"activation": "softmax", "weights": [[1.0, 1.0], [1.0, 1.0]]}
        ),
        "$.problem.layers[0].activation",
        "expected softmax only on the output layer",
    ),
    "mismatch without a note": (
        _set("claims.0.expect", "mismatch"),
        "$.claims[0].note",
        "expected a note",
    ),
    "targets that do not fit": (
        _set("problem.targets", [[1.0, 0.0]]),
        "$.problem.targets[0]",
        "expected 1 targets",
    ),
}


@pytest.mark.parametrize("kind", BAD_DOCUMENTS)
def test_bad_document_gets_one_clear_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change, location, fragment = BAD_DOCUMENTS[kind]
    code, lines = validate(tmp_path, capsys, json.dumps(mutated(change)))
    assert code == 2
    assert len(lines) == 1, lines
    path = str(tmp_path / "bad.json")
    assert lines[0].startswith(f"{path}: {location}: "), lines[0]
    assert fragment in lines[0], lines[0]


BAD_TEXTS = {
    "not JSON": ("{'id': 1}", "line 1 column 2", "expected JSON: Expecting property name"),
    "empty file": ("  \n", "line 1 column 1", "expected JSON, found an empty file"),
    "top level not an object": ("[1, 2]", "$", "expected a JSON object at the top, found list"),
    "NaN": (
        json.dumps(VALID).replace("0.5,", "NaN,", 1),
        "$.problem.inputs[0][0]",
        "expected a finite number, found NaN",
    ),
    "Infinity": (
        json.dumps(VALID).replace("0.25", "Infinity"),
        "$.problem.inputs[0][1]",
        "found Infinity",
    ),
    "overflow": (
        json.dumps(VALID).replace("0.25", "1e999"),
        "$.problem.inputs[0][1]",
        "expected a number that fits in a float64, found 1e999",
    ),
}


@pytest.mark.parametrize("kind", BAD_TEXTS)
def test_bad_text_gets_one_clear_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, location, fragment = BAD_TEXTS[kind]
    code, lines = validate(tmp_path, capsys, text)
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{tmp_path / 'bad.json'}: {location}: "), lines[0]
    assert fragment in lines[0], lines[0]


def test_duplicate_fixture_ids_across_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(VALID))
    code = main(["validate", str(tmp_path)])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert lines == [
        f"{tmp_path / 'b.json'}: $.id: duplicate fixture id 'tiny' (also in {tmp_path / 'a.json'})"
    ]


def test_missing_path_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(tmp_path / "nowhere.json")])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert lines == [
        f"{tmp_path / 'nowhere.json'}: $: expected a fixture file or folder; not found"
    ]


def test_run_refuses_bad_input_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[]")
    assert main(["run", str(path), "--engine", "loops"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_unknown_engine_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(VALID))
    assert main(["run", str(path), "--engine", "nope"]) == 2
    assert capsys.readouterr().err.strip().startswith("--engine: unknown engine 'nope'")


def test_an_alias_takes_a_sample_suffix(tmp_path: Path) -> None:
    from bpcheck.io.loader import load

    document = mutated(
        lambda d: (
            d["problem"].update(inputs=[[0.5, 0.25], [1.0, 0.0]], targets=[[1.0], [0.0]]),
            d["claims"].append(
                {"id": "o2", "quantity": "o@2", "printed": "0.525", "where": "-", "expect": "match"}
            ),
        )
    )
    path = tmp_path / "two.json"
    path.write_text(json.dumps(document))
    claims = {c.id: c.canonical for c in load(path).claims}
    assert claims == {"o": "out[1,1]@1", "o2": "out[1,1]@2"}
