"""Authoring: the README walk-through runs as written; new, claim and explain behave."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from bpcheck.authoring.new import new_fixture
from bpcheck.cli.main import main
from bpcheck.errors import BadInput
from tests.support.walkthrough import walkthrough_commands

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fixtures" / "schema").mkdir(parents=True)
    shutil.copy(
        ROOT / "bpcheck" / "io" / "schema" / "fixture-v1.schema.json",
        tmp_path / "fixtures" / "schema",
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_walkthrough_runs_as_written(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command but the last, ``bpcheck sync``, which needs the repository around it
    (``test_walkthrough_in_a_copy.py`` runs the whole walkthrough in a copy of it)."""
    commands = walkthrough_commands(ROOT)
    assert [c[:2] for c in commands] == [
        ["bpcheck", "new"],
        ["bpcheck", "claim"],
        ["bpcheck", "claim"],
        ["bpcheck", "claim"],
        ["bpcheck", "validate"],
        ["bpcheck", "run"],
        ["bpcheck", "explain"],
        ["bpcheck", "sync"],
    ]
    for command in commands[:-1]:
        assert main(command[1:]) == 0, f"{shlex.join(command)} failed:\n{capsys.readouterr()}"
    captured = capsys.readouterr()
    out = captured.out
    # the certified values (the float engines compute ...986 and ...141, a few ULPs off):
    # mpmath at 60 digits gives 0.0278676434231879891679... and -0.0360832201711421470499...
    assert "E_total = 0.027867643423187989, printed 0.0278: truncated" in out
    assert "out_o1 = -0.036083220171142148, printed -0.0361: match" in out
    assert "E_total=0.0278: TRUNCATED: the engines compute 0.027867643423187989" in captured.err
    document = json.loads((workspace / "fixtures/my-notes/tanh-121.json").read_text())
    expects = {c["id"]: c["expect"] for c in document["claims"]}
    assert expects == {"out_o1": "match", "E_total": "truncated", "w4-after-1": "match"}
    assert document["$schema"] == "../schema/fixture-v1.schema.json"
    assert "printed -0.0361 (forward pass): match" in out


def test_new_refuses_to_overwrite(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workspace / "fixtures" / "x.json"
    path.write_text("{}")
    assert main(["new", str(path), "--sizes", "1,1", "--no-ask"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert path.read_text() == "{}"


def test_new_names_a_missing_answer(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["new", "fixtures/y.json", "--sizes", "1,1", "--inputs", "1", "--no-ask"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("fixtures/y.json: --targets: missing"), err
    assert "\n" not in err


def test_new_checks_the_weight_count(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--sizes", "2,1", "--inputs", "1,2", "--targets", "1", "--weights", "0.1", "--no-ask"]
    assert main(["new", "fixtures/z.json", *args]) == 2
    assert "--weights: expected 2 values (w1..w2), found 1" in capsys.readouterr().err


def test_new_prompts_for_what_is_missing(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # sizes, activations, bias, objective, loss, inputs, targets, weights, batch, update
    # order, steps, per-layer rates, learning rate, momentum, weight decay, precision,
    # document, where
    answers = iter(["1,1", "", "", "", "", "0.5", "1", "0.2", *[""] * 8, "notes.md", ""])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert main(["new", "fixtures/asked.json", "--ask"]) == 0
    assert next(answers, None) is None, "fewer questions than expected"
    document = json.loads((workspace / "fixtures/asked.json").read_text())
    assert document["problem"]["layers"] == [{"activation": "sigmoid", "weights": [[0.2]]}]
    assert document["aliases"]["w1"] == "w[1,1,1]"


def test_claim_rejects_an_unknown_quantity(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--sizes", "1,1", "--inputs", "1", "--targets", "1", "--weights", "0.5", "--no-ask"]
    assert main(["new", "fixtures/c.json", *args]) == 0
    before = (workspace / "fixtures/c.json").read_text()
    assert main(["claim", "fixtures/c.json", "w9=0.1"]) == 2
    err = capsys.readouterr().err
    assert "unknown quantity 'w9'" in err
    assert (workspace / "fixtures/c.json").read_text() == before


def test_claim_names_a_malformed_assignment(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--sizes", "1,1", "--inputs", "1", "--targets", "1", "--weights", "0.5", "--no-ask"]
    assert main(["new", "fixtures/m.json", *args]) == 0
    capsys.readouterr()
    assert main(["claim", "fixtures/m.json", "w1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fixtures/m.json: NAME=PRINTED: expected a name, '='"), err
    assert err.endswith("found 'w1'") and "\n" not in err


def test_new_rejects_steps_that_are_not_a_whole_number(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--sizes", "1,1", "--inputs", "1", "--targets", "1", "--weights", "0.5", "--no-ask"]
    assert main(["new", "fixtures/s.json", *args, "--steps", "two"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "fixtures/s.json: --steps: expected a whole number, found 'two'"
    assert not (workspace / "fixtures/s.json").exists()


def test_a_fixture_document_is_built_without_the_command_line(workspace: Path) -> None:
    answers = {"sizes": "2,1", "inputs": "0.05,0.1", "targets": "0.01", "weights": "0.15,0.2"}
    document = new_fixture(workspace / "fixtures" / "d.json", {**answers, "steps": "2"})
    assert document["problem"]["layers"] == [{"activation": "sigmoid", "weights": [[0.15, 0.2]]}]
    assert document["problem"]["steps"] == 2
    assert document["$schema"] == "schema/fixture-v1.schema.json"
    with pytest.raises(BadInput) as raised:
        new_fixture(workspace / "fixtures" / "d.json", {**answers, "loss": "hinge"})
    assert raised.value.lines == [
        f"{workspace / 'fixtures' / 'd.json'}: --loss: unknown 'hinge'; "
        "expected one of half_sse, sse, mse, bce, softmax_ce"
    ]


def test_explain_mazur_follows_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(ROOT / "fixtures/mazur/mazur-2015.json")]) == 0
    out = capsys.readouterr().out
    headings = re.findall(r"^## (.*)$", out, flags=re.MULTILINE)
    assert headings[:7] == [
        "Settings",
        "Forward pass",
        "Loss (half_sse)",
        "Backward pass: output layer",
        "Backward pass: hidden layer 1",
        "Backward pass: inputs",
        "After the update (step 1)",
    ]
    order = [
        out.index(text)
        for text in (
            "net_h1 (net[1,1]) =",
            "out_o1 (out[2,1]) =",
            "E_total (E) =",
            "dE_dout[2,1] =",
            "dE_total_dw5 (dE_dw[2,1,1]) =",
            "(step 1) w5 (w[2,1,1]) =",
            "dE_total_dw1 (dE_dw[1,1,1]) =",
        )
    ]
    assert order == sorted(order), "steps out of the document's order"
    assert "printed 0.75136507" in out and ": match" in out
    assert "printed 0.291027924" in out and ": mismatch" in out


def test_explain_html_escapes_fixture_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads((ROOT / "fixtures/hmkcode/hmkcode-2018.json").read_text())
    document["title"] = "<script>alert(1)</script>"
    document["claims"][0]["where"] = "<img src=x onerror=alert(2)>"
    document["$schema"] = str(ROOT / "fixtures/schema/fixture-v1.schema.json")
    path = tmp_path / "x.json"
    path.write_text(json.dumps(document))
    assert main(["explain", str(path), "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<img" not in out and "&lt;img src=x onerror=alert(2)&gt;" in out
    assert out.count("<li>") == out.count("</li>") > 0, "the template's own markup is kept"


def test_explain_rejects_a_step_beyond_training(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(ROOT / "fixtures/hmkcode/hmkcode-2018.json"), "--step", "7"]) == 2
    assert "expected a step from 0 to 1, found 7" in capsys.readouterr().err
