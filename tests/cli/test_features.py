"""``run``, ``gradcheck`` and ``diagnose`` on a fixture with issue 17's features, from the
command line; and an engine written before them (the broken example's ``correct`` mode,
which declares its pre-17 capabilities) skipped where it must be, judged where it can."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main
from tests.support.paths import ROOT

BROKEN = ROOT / "examples" / "engines" / "broken" / "broken.py"

WRONG = "0.12345678"
"""Printed for every claim: eight decimals no value here has, so every verdict is mismatch."""


def claim(identifier: str, quantity: str, step: int) -> dict[str, Any]:
    return {
        "id": identifier,
        "quantity": quantity,
        "step": step,
        "printed": WRONG,
        "expect": "mismatch",
        "note": "made up: no document printed it",
        "where": "p. 1",
    }


def write(folder: Path, name: str, problem: dict[str, Any], claims: list[dict[str, Any]]) -> Path:
    document = {
        "$schema": "fixture-v1.schema.json",
        "id": name,
        "title": name,
        "source": {"document": "made up for a test"},
        "problem": problem,
        "claims": claims,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(document, indent=1), "utf-8")
    return path


FEATURES: dict[str, Any] = {
    "inputs": [[0.5, -1.0], [1.5, 0.25], [-0.75, 0.5]],
    "targets": [[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]],
    "layers": [
        {
            "activation": "leaky_relu",
            "slope": 0.2,
            "weights": [[0.3, -0.4], [0.5, 0.2]],
            "bias": {"kind": "per_neuron", "values": [0.1, -0.2]},
        },
        {
            "activation": "elu",
            "alpha": 0.7,
            "learning_rate": 0.25,
            "weights": [[0.4, -0.3], [-0.1, 0.6]],
            "bias": {"kind": "shared", "values": [0.1]},
        },
    ],
    "loss": "mse",
    "learning_rate": 0.5,
    "batch": 2,
    "sample_order": [3, 1, 2],
    "epochs": 2,
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 0.01,
}

PLAIN: dict[str, Any] = {
    "inputs": [[0.5, -1.0]],
    "targets": [[0.2, 0.8]],
    "layers": [
        {"activation": "sigmoid", "weights": [[0.3, -0.4], [0.5, 0.2]]},
        {"activation": "sigmoid", "weights": [[0.4, -0.3], [-0.1, 0.6]]},
    ],
    "loss": "half_sse",
    "learning_rate": 0.5,
    "steps": 2,
}


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_run_gradcheck_and_diagnose_a_feature_fixture(tmp_path: Path, precision: str) -> None:
    claims = [
        claim("loss", "E", 0),
        claim("weight", "w[1,1,1]", 1),
        claim("change", "E_change", 0),
        claim("sample-loss", "E@2", 1),
        claim("step-change", "dw[2,1,1]", 3),
    ]
    path = write(tmp_path, "features", {**FEATURES, "precision": precision}, claims)
    engines = ["--engine", "loops", "--engine", "matrices"]
    assert main(["run", str(path), *engines, "--json", str(tmp_path / "run.json")]) == 0
    found = json.loads((tmp_path / "run.json").read_text("utf-8"))["fixtures"][0]
    assert {c["id"]: c["outcome"] for c in found["claims"]} == dict.fromkeys(
        ["loss", "weight", "change", "sample-loss", "step-change"], "ok"
    )
    assert main(["gradcheck", str(path), *engines, "--quiet"]) == 0
    assert main(["diagnose", str(path)]) in (0, 1)


def test_an_engine_without_the_extended_names_is_skipped_for_those_claims_alone(
    tmp_path: Path,
) -> None:
    claims = [claim("loss", "E", 0), claim("sample-loss", "E@1", 1), claim("change", "E_change", 0)]
    path = write(tmp_path, "plain", PLAIN, claims)
    command = f"old={sys.executable} {BROKEN} correct"
    out = tmp_path / "run.json"
    arguments = ["run", str(path), "--engine", "loops", "--engine-cmd", command, "--json", str(out)]
    assert main(arguments) == 0
    found = json.loads(out.read_text("utf-8"))["fixtures"][0]
    outcomes = {c["id"]: c["outcomes"] for c in found["claims"]}
    assert outcomes["loss"] == {"loops": "ok", "old": "ok"}
    assert outcomes["change"] == {"loops": "ok", "old": "ok"}
    assert outcomes["sample-loss"] == {"loops": "ok", "old": "skipped"}
    assert found["outcome"] == "ok" and found["disagreements"] == []


def test_an_engine_without_a_feature_is_skipped_for_the_fixture(tmp_path: Path) -> None:
    path = write(tmp_path, "features", FEATURES, [claim("loss", "E", 0)])
    command = f"old={sys.executable} {BROKEN} correct"
    out = tmp_path / "run.json"
    arguments = ["run", str(path), "--engine", "loops", "--engine-cmd", command, "--json", str(out)]
    assert main(arguments) == 0
    run = json.loads(out.read_text("utf-8"))["fixtures"][0]["runs"]["old"]
    assert run["outcome"] == "skipped"
    assert "activation:elu" in run["reason"] and "optimizer:nesterov" in run["reason"]
