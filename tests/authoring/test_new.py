"""``bpcheck new`` at a terminal and on the command line: every field, counted prompts,
bad answers asked again, a ``$schema`` that resolves, placeholders validate refuses."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from bpcheck.authoring.new import installed_schema, new_fixture
from bpcheck.cli.main import main
from bpcheck.errors import BadInput
from bpcheck.io.loader import load
from bpcheck.io.placeholders import DOCUMENT, WHERE

ROOT = Path(__file__).resolve().parents[2]
MAZUR = {
    "sizes": "2,2,2",
    "bias": "shared",
    "biases": "0.35,0.60",
    "inputs": "0.05,0.10",
    "targets": "0.01,0.99",
    "weights": "0.15,0.20,0.25,0.30,0.40,0.45,0.50,0.55",
    "document": "mazur.html",
    "where": "The Forward Pass",
}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fixtures" / "schema").mkdir(parents=True)
    shutil.copy(installed_schema(), tmp_path / "fixtures" / "schema")
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Terminal:
    """Answers typed at prompts, one per prompt; records the prompts and what was said."""

    def __init__(self, answers: list[str]) -> None:
        self.answers: Iterator[str] = iter(answers)
        self.prompts: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        try:
            return next(self.answers)
        except StopIteration:
            raise EOFError from None

    def say(self, message: str) -> None:
        self.said.append(message)


def test_a_bad_answer_at_a_terminal_is_asked_again(workspace: Path) -> None:
    terminal = Terminal(
        [
            "2,2,2",
            *["", "shared", "0.35", "0.35,0.60", "", "", ""],  # a bias value short
            "0.05,0.10",
            "0.01;0.99",  # two samples of one value: not a row of two
            "0.01,0.99",
            "0.15,0.20,0.25,0.30,0.40,0.45,0.50",  # seven weights
            "0.15,0.20,0.25,0.30,0.40,0.45,0.50,0.55",
            *[""] * 10,  # batch, order, steps, rates, rate, momentum, decay, precision, source
        ]
    )
    document = new_fixture(workspace / "m.json", {}, ask=terminal.ask, say=terminal.say)
    assert document["problem"]["layers"][1]["weights"] == [[0.4, 0.45], [0.5, 0.55]]
    assert document["problem"]["layers"][1]["bias"]["values"] == [0.6]
    assert terminal.said == [
        "expected 2 bias values (b1..b2), found 1; try again",
        "sample 1: expected 2 values, found 1; try again",
        "expected 8 values (w1..w8), found 7; try again",
    ]
    asked = {p.split(" (")[0]: p for p in terminal.prompts}
    assert asked["Weights"] == "Weights (8 values, w1..w8): "
    assert asked["Bias values"] == "Bias values (2 values, b1..b2): "
    assert asked["Inputs"] == "Inputs (2 values per sample, samples separated by ';'): "
    assert asked["Targets"] == "Targets (2 values per sample, 1 sample(s) separated by ';'): "
    assert terminal.prompts.count("Weights (8 values, w1..w8): ") == 2


def test_a_bad_option_at_a_terminal_is_said_and_asked_for(workspace: Path) -> None:
    terminal = Terminal(["0.5"])
    defaults = {"activations": "sigmoid", "frozen_biases": "none", "loss": "half_sse"}
    settings = {"batch": "full", "update_order": "simultaneous", "steps": "1"}
    settings |= {"objective": "none", "layer_learning_rates": "none", "momentum": "0"}
    settings |= {"weight_decay": "0", "precision": "float64"}
    given = {**MAZUR, **defaults, **settings, "learning_rate": "fast"}
    document = new_fixture(workspace / "m.json", given, ask=terminal.ask, say=terminal.say)
    assert document["problem"]["learning_rate"] == 0.5
    assert terminal.said == [
        "--learning-rate fast: expected comma-separated decimal numbers, found 'fast'"
    ]


def test_the_end_of_input_ends_the_questions_with_one_line(workspace: Path) -> None:
    with pytest.raises(BadInput) as raised:
        new_fixture(workspace / "m.json", {}, ask=Terminal(["2,1"]).ask)
    assert raised.value.lines == [
        f"{workspace / 'm.json'}: --activations: missing (Activation, one for all layers or one "
        "per layer (identity, sigmoid, tanh, relu, softmax, leaky_relu, softplus, elu)); the input "
        "ended"
    ]


def test_every_field_of_the_problem_has_an_option(workspace: Path) -> None:
    given = {
        **MAZUR,
        "activations": "tanh,sigmoid",
        "bias": "none,per_neuron",
        "biases": "0.5,0.6",
        "frozen_biases": "2",
        "loss": "bce",
        "learning_rate": "0.25",
        "batch": "per_sample",
        "update_order": "sequential",
        "steps": "3",
        "inputs": "0.05,0.10;0.2,0.3",
        "targets": "0.01,0.99;1,0",
    }
    document = new_fixture(workspace / "all.json", given)
    problem = document["problem"]
    assert [layer["activation"] for layer in problem["layers"]] == ["tanh", "sigmoid"]
    assert "bias" not in problem["layers"][0]
    assert problem["layers"][1]["bias"] == {
        "kind": "per_neuron",
        "values": [0.5, 0.6],
        "trainable": False,
    }
    assert (problem["loss"], problem["learning_rate"], problem["steps"]) == ("bce", 0.25, 3)
    assert (problem["batch"], problem["update_order"]) == ("per_sample", "sequential")
    assert document["aliases"]["b1"] == "b[2,1]" and document["aliases"]["b2"] == "b[2,2]"
    assert document["source"] == {"document": "mazur.html", "where": "The Forward Pass"}


def test_the_defaults_are_written_out(workspace: Path) -> None:
    document = new_fixture(workspace / "d.json", {**MAZUR, "bias": "shared"})
    problem = document["problem"]
    assert (problem["batch"], problem["update_order"], problem["steps"]) == (
        "full",
        "simultaneous",
        1,
    )
    assert all(layer["bias"]["trainable"] for layer in problem["layers"])


@pytest.mark.parametrize(
    ("given", "line"),
    [
        ({"bias": "none", "biases": "0.1"}, "--biases: expected no answer: does not apply"),
        ({"frozen_biases": "3"}, "--frozen-biases: layer 3 has no bias; expected some of 1, 2"),
        (
            {"batch": "mini"},
            "--batch: unknown 'mini'; expected full, per_sample or a mini-batch size",
        ),
        ({"update_order": "random"}, "--update-order: unknown 'random'; expected one of"),
        ({"loss": "output"}, "--loss: expected a loss; the gradient of one output is --objective"),
        ({"activations": "softmax,sigmoid"}, "--activations: expected softmax only on the output"),
        ({"bias": "shared,none,shared"}, "--bias: expected 1 or 2 names, found 3"),
    ],
)
def test_a_wrong_option_is_one_line_naming_it(
    workspace: Path, given: dict[str, str], line: str
) -> None:
    with pytest.raises(BadInput) as raised:
        new_fixture(workspace / "w.json", {**MAZUR, **given})
    assert len(raised.value.lines) == 1
    assert line in raised.value.lines[0], raised.value.lines


def test_the_schema_is_found_from_any_folder_below_it(workspace: Path) -> None:
    deep = workspace / "fixtures" / "a" / "b" / "deep.json"
    document = new_fixture(deep, MAZUR)
    assert document["$schema"] == "../../schema/fixture-v1.schema.json"
    assert (deep.parent / document["$schema"]).resolve().is_file()
    beside = new_fixture(workspace / "fixtures" / "here.json", MAZUR)
    assert beside["$schema"] == "schema/fixture-v1.schema.json"


def test_without_a_schema_nearby_the_installed_one_is_named(tmp_path: Path) -> None:
    """Never a dangling ``../schema/...``: a ``file:`` URI of the installed package's schema."""
    document = new_fixture(tmp_path / "alone" / "x.json", MAZUR)
    uri = urlparse(document["$schema"])
    assert uri.scheme == "file"
    schema = Path(url2pathname(uri.path))
    assert schema.is_file() and schema.name == "fixture-v1.schema.json"
    assert json.loads(schema.read_text())["title"].startswith("bpcheck fixture")
    # the installed copy (site-packages under tox, this tree when installed editable)
    assert schema.read_bytes() == (ROOT / "bpcheck" / "io" / "schema" / schema.name).read_bytes()


def test_validate_refuses_the_placeholders_new_writes(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = {k: v for k, v in MAZUR.items() if k not in ("document", "where")}
    args = [f"--{key}={value}" for key, value in given.items()]
    assert main(["new", "fixtures/p.json", *args, "--no-ask"]) == 0
    assert "source.document and source.where are placeholders" in capsys.readouterr().err
    document = json.loads((workspace / "fixtures/p.json").read_text())
    assert document["source"] == {"document": DOCUMENT, "where": WHERE}
    assert main(["validate", "fixtures/p.json"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "fixtures/p.json: $.source.document: expected the document's title, file name or URL, "
        "found the placeholder `bpcheck new` wrote",
        "fixtures/p.json: $.source.where: expected where in it the example stands, "
        "found the placeholder `bpcheck new` wrote",
    ]
    document["source"] = {"document": "mazur.html", "where": "The Forward Pass"}
    (workspace / "fixtures/p.json").write_text(json.dumps(document))
    assert main(["validate", "fixtures/p.json"]) == 0
    assert load(workspace / "fixtures/p.json").source["document"] == "mazur.html"
