"""``bpcheck new`` for issue 17's settings: each option round-trips through the loader into the
Problem it says, the prompts ask only where a setting applies, and every misuse is one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bpcheck.authoring.new import installed_schema, new_fixture
from bpcheck.cli.main import main
from bpcheck.errors import BadInput
from bpcheck.io.loader import load
from bpcheck.model.problem import Problem
from tests.authoring.test_new import Terminal

NET = {
    "sizes": "2,2,2",
    "inputs": "0.05,0.10;0.2,0.3;0.4,0.5",
    "targets": "0.01,0.99;1,0;0,1",
    "weights": "0.15,0.20,0.25,0.30,0.40,0.45,0.50,0.55",
    "document": "notes.md",
    "where": "section 2",
}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fixtures" / "schema").mkdir(parents=True)
    shutil.copy(installed_schema(), tmp_path / "fixtures" / "schema")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def written(workspace: Path, given: dict[str, str], name: str = "f.json") -> tuple[Any, Problem]:
    """``bpcheck new`` on the command line, then the loader on the file it wrote."""
    args = [f"--{key.replace('_', '-')}={value}" for key, value in {**NET, **given}.items()]
    assert main(["new", f"fixtures/{name}", *args, "--no-ask"]) == 0
    path = workspace / "fixtures" / name
    return json.loads(path.read_text()), load(path).problem


@pytest.mark.parametrize(
    ("given", "field", "expected"),
    [
        ({"activations": "leaky_relu", "slope": "0.2"}, "slope", (0.2, 0.2)),
        ({"activations": "leaky_relu,sigmoid"}, "slope", (0.01, 0.01)),
        ({"activations": "elu,leaky_relu", "alpha": "0.5", "slope": "0.3"}, "alpha", (0.5, 1.0)),
        ({"activations": "softplus,elu"}, "activation", ("softplus", "elu")),
        ({"layer_learning_rates": "0.1,0.2"}, "learning_rate", (0.1, 0.2)),
    ],
)
def test_layer_settings_round_trip(
    workspace: Path, given: dict[str, str], field: str, expected: tuple[Any, ...]
) -> None:
    document, problem = written(workspace, given)
    assert tuple(getattr(layer, field) for layer in problem.layers) == expected
    if field == "learning_rate":
        assert "learning_rate" not in document["problem"], "every layer has its own"


def test_slopes_one_per_leaky_relu_layer(workspace: Path) -> None:
    given = {"sizes": "2,2,2,2", "weights": ",".join(["0.1"] * 12)}
    given |= {"activations": "leaky_relu,tanh,leaky_relu", "slope": "0.1,0.3"}
    document, problem = written(workspace, given)
    assert [layer.slope for layer in problem.layers] == [0.1, 0.01, 0.3]
    assert "slope" not in document["problem"]["layers"][1]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"momentum": "0.9"}, {"momentum": 0.9, "nesterov": False}),
        ({"momentum": "0.9", "nesterov": "yes"}, {"momentum": 0.9, "nesterov": True}),
        ({"weight_decay": "0.001"}, {"weight_decay": 0.001}),
        ({"precision": "float32"}, {"precision": "float32"}),
        ({"batch": "per_sample", "epochs": "2"}, {"batch": "per_sample", "steps": 6}),
        (
            {"batch": "2", "sample_order": "2,3,1", "epochs": "3"},
            {"batch": "mini", "batch_size": 2, "sample_order": (1, 2, 0), "steps": 6},
        ),
        ({"batch": "2"}, {"batch": "mini", "batch_size": 2, "sample_order": (0, 1, 2)}),
        ({"update_order": "sequential", "steps": "4"}, {"update_order": "sequential", "steps": 4}),
    ],
)
def test_training_settings_round_trip(
    workspace: Path, given: dict[str, str], expected: dict[str, Any]
) -> None:
    _, problem = written(workspace, given)
    assert {key: getattr(problem, key) for key in expected} == expected


def test_an_objective_needs_no_targets_no_loss_and_no_rate(workspace: Path) -> None:
    given = {k: v for k, v in NET.items() if k != "targets"}
    args = [f"--{key}={value}" for key, value in given.items()]
    extra = ["--objective", "output 2", "--steps", "0", "--activations", "softplus"]
    assert main(["new", "fixtures/o.json", *args, *extra, "--no-ask"]) == 0
    document = json.loads((workspace / "fixtures/o.json").read_text())
    assert document["problem"]["objective"] == "output 2"
    assert not {"targets", "loss", "learning_rate"} & set(document["problem"])
    assert "error_o1" not in document["aliases"] and "dw5" not in document["aliases"]
    problem = load(workspace / "fixtures/o.json").problem
    assert (problem.loss, problem.objective, problem.has_targets) == ("output", 2, False)


def test_a_training_objective_keeps_its_rate(workspace: Path) -> None:
    given = {k: v for k, v in NET.items() if k != "targets"}
    document = new_fixture(workspace / "t.json", {**given, "objective": "output 1"})
    assert document["problem"]["learning_rate"] == 0.5
    assert document["aliases"]["dw5"] == "dw[2,1,1]"


def test_new_aliases_name_the_new_quantities(workspace: Path) -> None:
    given = {"bias": "none,per_neuron", "biases": "0.1,0.2", "steps": "2"}
    document, _ = written(workspace, given)
    aliases = document["aliases"]
    expected = {
        "dE_di1": "dE_dout[0,1]",
        "dw5": "dw[2,1,1]",
        "db1": "db[2,1]",
        "net_term_w5": "net_term[2,1,1]",
        "weighted_sum_h1": "weighted_sum[1,1]",
        "error_o2": "error[2]",
        "error_term_o1": "error_term[2,1]",
        "E_sample": "E@1",
    }
    assert {name: aliases.get(name) for name in expected} == expected


def test_frozen_biases_and_no_training_get_no_change_aliases(workspace: Path) -> None:
    given = {"bias": "shared", "biases": "0.1,0.2", "frozen_biases": "1"}
    document, _ = written(workspace, given)
    assert "db2" in document["aliases"] and "db1" not in document["aliases"]
    document, _ = written(workspace, {"steps": "0"}, "still.json")
    assert not [a for a in document["aliases"] if a.startswith(("dw", "db"))]


# --- prompts ----------------------------------------------------------------------------------


def prompts_for(workspace: Path, answers: list[str]) -> tuple[list[str], dict[str, Any]]:
    terminal = Terminal(answers)
    document = new_fixture(workspace / "p.json", {}, ask=terminal.ask, say=terminal.say)
    assert terminal.said == []
    return [p.split(" (")[0].split(" [")[0].rstrip(": ") for p in terminal.prompts], document


def test_prompts_ask_a_slope_a_sample_order_and_nesterov_only_where_they_apply(
    workspace: Path,
) -> None:
    answers = [
        "2,1",
        "leaky_relu",
        "0.2",  # slope: asked after leaky_relu
        "",  # bias
        "",  # objective
        "",  # loss
        "1,2;3,4;5,6",
        "1;0;1",
        "0.5,-0.5",
        "2",  # batch: a mini-batch size
        "3,1,2",  # its sample order
        "",  # update order
        "2",  # epochs (asked: the batch is not full)
        "",  # per-layer rates
        "",  # learning rate
        "0.9",  # momentum
        "yes",  # nesterov: asked after momentum
        "",  # weight decay
        "",  # precision
        "doc",
        "where",
    ]
    asked, document = prompts_for(workspace, answers)
    assert asked[:3] == [
        "Layer sizes, inputs first",
        "Activation, one for all layers or one per layer",
        "Slope for negative net inputs of leaky_relu",
    ]
    assert "Steps" not in asked and "Training steps" not in asked, "epochs given"
    assert asked[asked.index("Momentum") + 1] == "Nesterov momentum"
    problem = document["problem"]
    assert problem["layers"][0]["slope"] == 0.2
    assert (problem["batch"], problem["sample_order"], problem["epochs"]) == (2, [3, 1, 2], 2)
    assert (problem["momentum"], problem["nesterov"]) == (0.9, True)


def test_prompts_skip_what_does_not_apply(workspace: Path) -> None:
    answers = ["2,1", "tanh", "", "output 1", "1,2", "0.5,-0.5", "", "", "0", "", "", "d", "w"]
    asked, document = prompts_for(workspace, answers)
    for absent in ("Slope", "Alpha", "Loss", "Targets", "Epochs", "Momentum", "Learning rate"):
        assert not [a for a in asked if a.startswith(absent)], (absent, asked)
    assert "Samples per update: full" in asked[6]
    assert document["problem"]["objective"] == "output 1"


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "line"),
    [
        ({"slope": "0.2"}, "--slope: expected no answer: does not apply"),
        ({"activations": "leaky_relu", "slope": "0.1,0.2,0.3"}, "--slope: expected 1 or 2 slopes"),
        ({"activations": "elu", "alpha": "-1"}, "--alpha: expected alphas of 0 or more"),
        ({"nesterov": "yes"}, "--nesterov: expected no answer: does not apply"),
        ({"momentum": "0.9", "nesterov": "maybe"}, "--nesterov: expected yes or no"),
        ({"momentum": "-0.5"}, "--momentum: expected a number of 0 or more"),
        ({"weight_decay": "lots"}, "--weight-decay: expected comma-separated decimal numbers"),
        ({"sample_order": "2,1,3"}, "--sample-order: expected no answer: does not apply"),
        ({"batch": "2", "sample_order": "1,1,2"}, "--sample-order: expected each sample from 1"),
        ({"batch": "4"}, "--batch: expected a mini-batch size from 1 to 3 (the samples), found 4"),
        ({"batch": "0"}, "--batch: unknown '0'; expected full, per_sample or a mini-batch size"),
        ({"objective": "output 3"}, "--objective: expected an output from 1 to 2, found 3"),
        ({"objective": "out 1"}, "--objective: expected 'output K'"),
        ({"objective": "output 1"}, "--targets: expected no answer: does not apply"),
        ({"layer_learning_rates": "0.1"}, "--layer-learning-rates: expected 2 rates"),
        ({"layer_learning_rates": "0.1,0"}, "--layer-learning-rates: expected rates above 0"),
        ({"precision": "float16"}, "--precision: unknown 'float16'; expected one of float64"),
        ({"batch": "per_sample", "epochs": "2", "steps": "3"}, "--steps: expected no answer"),
    ],
)
def test_a_wrong_new_option_is_one_line_naming_it(
    workspace: Path, capsys: pytest.CaptureFixture[str], given: dict[str, str], line: str
) -> None:
    args = [f"--{key.replace('_', '-')}={value}" for key, value in {**NET, **given}.items()]
    assert main(["new", "fixtures/w.json", *args, "--no-ask"]) != 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and line in lines[0], lines
    assert not (workspace / "fixtures" / "w.json").exists()


def test_an_objective_with_a_loss_is_refused(workspace: Path) -> None:
    given = {k: v for k, v in NET.items() if k != "targets"}
    with pytest.raises(BadInput) as raised:
        new_fixture(workspace / "x.json", {**given, "objective": "output 1", "loss": "mse"})
    assert raised.value.lines == [
        f"{workspace / 'x.json'}: --loss: expected no answer: does not apply to this network "
        "(Loss (half_sse, sse, mse, bce, softmax_ce))"
    ]
