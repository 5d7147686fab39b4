"""The fixture fields of issue 17 become the Problem they say, and each misuse is one line.

Each field is checked twice: a document using it loads into the Problem the
contract describes (1-based sample order to 0-based, an objective to the loss
``output`` with zero targets, epochs to steps), and each way of getting it wrong
is refused by ``bpcheck validate`` with one ``FILE: LOCATION: expected ...`` line.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main
from bpcheck.io.limits import ENVIRONMENT_VARIABLE
from bpcheck.io.loader import load
from bpcheck.model.problem import batch_of_step, epoch_batches
from tests.support.documents import VALID

Change = Callable[[dict[str, Any]], object]


def document(change: Change) -> dict[str, Any]:
    found = copy.deepcopy(VALID)
    change(found)
    return found


def problem(**fields: Any) -> Change:
    """A change that sets problem fields (None deletes one)."""

    def change(d: dict[str, Any]) -> None:
        for key, value in fields.items():
            if value is None:
                d["problem"].pop(key, None)
            else:
                d["problem"][key] = value

    return change


def layer(index: int, **fields: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["problem"]["layers"][index].update(fields)

    return change


def both(*changes: Change) -> Change:
    def change(d: dict[str, Any]) -> None:
        for one in changes:
            one(d)

    return change


FOUR_SAMPLES = problem(
    inputs=[[0.5, 0.25], [1.0, 0.0], [0.0, 1.0], [0.3, 0.7]],
    targets=[[1.0], [0.0], [1.0], [0.0]],
)
TWO_LAYERS = problem(
    layers=[
        {"activation": "leaky_relu", "slope": 0.2, "weights": [[0.1, -0.2], [0.3, 0.4]]},
        {"activation": "elu", "alpha": 0.5, "weights": [[0.5, -0.6]]},
    ]
)


def loaded(tmp_path: Path, change: Change) -> Any:
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(document(change)), encoding="utf-8")
    return load(path).problem


def test_per_layer_slope_alpha_and_rate(tmp_path: Path) -> None:
    found = loaded(tmp_path, both(TWO_LAYERS, layer(1, learning_rate=0.05)))
    first, second = found.layers
    assert (first.activation, first.slope, first.learning_rate) == ("leaky_relu", 0.2, None)
    assert (second.activation, second.alpha, second.learning_rate) == ("elu", 0.5, 0.05)


def test_defaults_of_slope_and_alpha(tmp_path: Path) -> None:
    found = loaded(tmp_path, layer(0, activation="leaky_relu"))
    assert (found.layers[0].slope, found.layers[0].alpha) == (0.01, 1.0)


def test_an_objective_is_the_loss_output_with_zero_targets(tmp_path: Path) -> None:
    change = both(problem(loss=None, targets=None, objective="output 1"), FOUR_SAMPLES)
    found = loaded(tmp_path, both(change, problem(targets=None)))
    assert (found.loss, found.objective, found.has_targets) == ("output", 1, False)
    assert found.targets == ((0.0,),) * 4


def test_a_mini_batch_with_its_order_and_epochs(tmp_path: Path) -> None:
    change = both(FOUR_SAMPLES, problem(batch=3, sample_order=[2, 4, 1, 3], epochs=2, steps=None))
    found = loaded(tmp_path, change)
    assert (found.batch, found.batch_size, found.sample_order) == ("mini", 3, (1, 3, 0, 2))
    assert epoch_batches(found) == ((1, 3, 0), (2,))
    assert found.steps == 4  # two epochs of two updates
    assert batch_of_step(found, 3) == (2,)


@pytest.mark.parametrize(
    ("batch", "updates"), [("full", 1), ("per_sample", 4), (1, 4), (2, 2), (4, 1)]
)
def test_epochs_count_the_updates_of_each_epoch(tmp_path: Path, batch: Any, updates: int) -> None:
    found = loaded(tmp_path, both(FOUR_SAMPLES, problem(batch=batch, epochs=3, steps=None)))
    assert found.steps == 3 * updates
    assert len(epoch_batches(found)) == updates


def test_optimizer_fields_and_precision(tmp_path: Path) -> None:
    change = problem(momentum=0.9, nesterov=True, weight_decay=0.001, precision="float32")
    found = loaded(tmp_path, change)
    assert (found.momentum, found.nesterov, found.weight_decay) == (0.9, True, 0.001)
    assert found.precision == "float32"


def test_no_learning_rate_when_nothing_trains(tmp_path: Path) -> None:
    found = loaded(tmp_path, problem(learning_rate=None, steps=0))
    assert found.steps == 0


def test_no_problem_rate_when_every_layer_has_its_own(tmp_path: Path) -> None:
    found = loaded(tmp_path, both(problem(learning_rate=None), layer(0, learning_rate=0.3)))
    assert found.layers[0].learning_rate == 0.3


def test_any_loss_goes_with_any_output_activation(tmp_path: Path) -> None:
    """bce on an identity output was refused before issue 17; now engines chain the Jacobian."""
    found = loaded(tmp_path, both(problem(loss="bce"), layer(0, activation="identity")))
    assert (found.loss, found.layers[0].activation) == ("bce", "identity")


def test_an_unsupported_claim_has_a_printed_string_and_no_quantity(tmp_path: Path) -> None:
    claim = {"id": "u", "where": "p. 3", "printed": "0.25", "unsupported": "a dropout mask"}
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(document(lambda d: d["claims"].append(claim))), encoding="utf-8")
    fixture = load(path)
    assert [c.id for c in fixture.claims] == ["o"]  # what engines and verdicts meet
    assert [c.id for c in fixture.all_claims()] == ["o", "u"]
    (found,) = fixture.unsupported
    assert (found.printed, found.unsupported, found.quantity, found.expect) == (
        "0.25",
        "a dropout mask",
        "",
        None,
    )


UNSUPPORTED = {"id": "u", "where": "p. 3", "printed": "0.25", "unsupported": "dropout"}


def claim_on(quantity: str) -> dict[str, Any]:
    return {"id": "c", "where": "-", "quantity": quantity, "printed": "0.25", "expect": "match"}


BAD = {
    "loss and objective": (
        problem(objective="output 1", targets=None),
        "$.problem.objective",
        "expected 'loss' or 'objective', not both",
    ),
    "neither loss nor objective": (
        problem(loss=None),
        "$.problem",
        "missing field: 'loss' (or 'objective'",
    ),
    "targets with an objective": (
        problem(loss=None, objective="output 1"),
        "$.problem.targets",
        "expected no targets with an objective",
    ),
    "no targets for a loss": (problem(targets=None), "$.problem", "missing field: 'targets'"),
    "objective beyond the outputs": (
        problem(loss=None, targets=None, objective="output 2"),
        "$.problem.objective",
        "expected an output from 1 to 1",
    ),
    "objective misspelt": (
        problem(loss=None, targets=None, objective="out 1"),
        "$.problem.objective",
        "expected 'output k' for output k (1-based), such as 'output 1', found \"out 1\"",
    ),
    "the model's loss name for an objective": (
        problem(loss="output"),
        "$.problem.loss",
        'write "objective": "output k" instead of "loss"',
    ),
    "batch by the model's name": (
        problem(batch="mini"),
        "$.problem.batch",
        "expected 'full', 'per_sample' or a mini-batch size (an integer from 1), found \"mini\"",
    ),
    "steps and epochs": (problem(epochs=1), "$.problem.epochs", "not both"),
    "neither steps nor epochs": (problem(steps=None), "$.problem", "missing field: 'steps'"),
    "no learning rate for training": (
        problem(learning_rate=None),
        "$.problem",
        "missing field: 'learning_rate' (layers[0] train",
    ),
    "mini-batch larger than the samples": (
        problem(batch=2),
        "$.problem.batch",
        "expected a mini-batch size from 1 to 1",
    ),
    "mini-batch of zero": (
        problem(batch=0),
        "$.problem.batch",
        "size (an integer from 1), found 0",
    ),
    "sample order without a mini-batch": (
        both(FOUR_SAMPLES, problem(sample_order=[1, 2, 3, 4])),
        "$.problem.sample_order",
        "expected a sample order only with a mini-batch size",
    ),
    "sample order too short": (
        both(FOUR_SAMPLES, problem(batch=2, sample_order=[1, 2, 3])),
        "$.problem.sample_order",
        "expected every sample once: 4 entries, found 3",
    ),
    "sample twice": (
        both(FOUR_SAMPLES, problem(batch=2, sample_order=[1, 2, 2, 4])),
        "$.problem.sample_order[2]",
        "found 2 again (missing: 3)",
    ),
    "sample beyond the samples": (
        both(FOUR_SAMPLES, problem(batch=2, sample_order=[1, 2, 5, 4])),
        "$.problem.sample_order[2]",
        "expected a sample from 1 to 4, found 5",
    ),
    "sample 0 (the order is 1-based)": (
        both(FOUR_SAMPLES, problem(batch=2, sample_order=[0, 1, 2, 3])),
        "$.problem.sample_order[0]",
        "less than the minimum of 1",
    ),
    "momentum of 1": (problem(momentum=1), "$.problem.momentum", "greater than or equal"),
    "negative momentum": (problem(momentum=-0.1), "$.problem.momentum", "less than the minimum"),
    "nesterov without momentum": (
        problem(nesterov=True),
        "$.problem.nesterov",
        "expected a momentum above 0 with nesterov",
    ),
    "negative weight decay": (
        problem(weight_decay=-0.01),
        "$.problem.weight_decay",
        "less than the minimum of 0",
    ),
    "unknown precision": (
        problem(precision="float16"),
        "$.problem.precision",
        "unknown value 'float16'",
    ),
    "slope without leaky relu": (
        layer(0, slope=0.1),
        "$.problem.layers[0].slope",
        "expected 'slope' only with activation 'leaky_relu', found 'sigmoid'",
    ),
    "alpha without elu": (
        layer(0, activation="leaky_relu", alpha=0.1),
        "$.problem.layers[0].alpha",
        "expected 'alpha' only with activation 'elu'",
    ),
    "layer rate of zero": (
        layer(0, learning_rate=0),
        "$.problem.layers[0].learning_rate",
        "less than or equal to the minimum of 0",
    ),
    "misspelt weight change": (
        lambda d: d["claims"].append(claim_on("dv[1,1,2]")),
        "$.claims[1].quantity",
        "unknown quantity 'dv[1,1,2]' (did you mean 'dw[1,1,2]'?)",
    ),
    "misspelt sample loss": (
        lambda d: d["claims"].append(claim_on("E@4")),
        "$.claims[1].quantity",
        "unknown quantity 'E@4'",
    ),
    "unsupported claim with a quantity": (
        lambda d: d["claims"].append({**UNSUPPORTED, "quantity": "o"}),
        "$.claims[1]",
        "expected no 'quantity' in a claim with 'unsupported'",
    ),
    "unsupported claim with an expected verdict": (
        lambda d: d["claims"].append({**UNSUPPORTED, "expect": "match"}),
        "$.claims[1]",
        "expected no 'expect' in a claim with 'unsupported'",
    ),
    "unsupported claim with nothing printed": (
        lambda d: d["claims"].append({"id": "u", "where": "-", "unsupported": "dropout"}),
        "$.claims[1]",
        "missing field: 'printed'",
    ),
    "unsupported claim with an empty reason": (
        lambda d: d["claims"].append({**UNSUPPORTED, "unsupported": ""}),
        "$.claims[1].unsupported",
        "",
    ),
    "unsupported printed number with a comma": (
        lambda d: d["claims"].append({**UNSUPPORTED, "printed": "0,25"}),
        "$.claims[1].printed",
        "',' (U+002C COMMA)",
    ),
}


@pytest.mark.parametrize("kind", BAD)
def test_each_misuse_is_one_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change, location, fragment = BAD[kind]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document(change)), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: {location}: "), lines[0]
    assert fragment in lines[0], lines[0]


def test_epochs_count_against_the_steps_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three epochs of four updates are twelve steps: a limit of 10 refuses them."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "steps=10")
    change = both(FOUR_SAMPLES, problem(batch="per_sample", epochs=3, steps=None))
    path = tmp_path / "long.json"
    path.write_text(json.dumps(document(change)), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(
        f"{path}: $.problem.epochs: expected at most 10 training steps, found 12"
    )
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "steps=12")
    assert main(["validate", str(path)]) == 0


def test_a_huge_epoch_count_is_refused_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change = both(FOUR_SAMPLES, problem(batch=1, epochs=10**15, steps=None))
    path = tmp_path / "long.json"
    path.write_text(json.dumps(document(change)), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert "found 4000000000000000" in capsys.readouterr().err


ROUND_TRIPS = {
    "every training feature": both(
        FOUR_SAMPLES,
        TWO_LAYERS,
        layer(1, learning_rate=0.05),
        problem(
            batch=3,
            sample_order=[4, 2, 1, 3],
            momentum=0.5,
            nesterov=True,
            weight_decay=0.01,
            precision="float32",
            update_order="sequential",
        ),
    ),
    "objective without a rate": both(
        FOUR_SAMPLES,
        problem(loss=None, targets=None, objective="output 1", learning_rate=None, steps=0),
    ),
    "epochs per sample": both(FOUR_SAMPLES, problem(batch="per_sample", epochs=2, steps=None)),
}


@pytest.mark.parametrize("kind", ROUND_TRIPS)
def test_a_loaded_problem_written_back_loads_the_same(kind: str, tmp_path: Path) -> None:
    """The loader and bpcheck.testing.documents (which writes generated problems) agree."""
    from bpcheck.testing.documents import problem_document

    first = loaded(tmp_path, ROUND_TRIPS[kind])
    again = loaded(tmp_path, lambda d: d.update(problem=problem_document(first)))
    assert again == first


def test_the_example_problem_of_the_documentation_loads(tmp_path: Path) -> None:
    """docs/fixtures.md's example: 3 samples in mini-batches of 2, two epochs: 4 steps."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "fixtures.md").read_text("utf-8")
    block = page.split("A problem using most of these at once")[1].split("```json")[1]
    example = json.loads("{" + block.split("```")[0] + "}")["problem"]

    def change(d: dict[str, Any]) -> None:
        d.update(problem=example, aliases={}, claims=[])

    found = loaded(tmp_path, change)
    assert (found.steps, found.batch_size, found.sample_order) == (4, 2, (2, 0, 1))
    assert (found.momentum, found.nesterov, found.layers[0].slope) == (0.9, True, 0.1)
