"""``bpcheck explain`` for issue 17's settings and quantities: the settings table, a line for
every new quantity the engine computed, and numbers that compute each line's value.

The last check is independent of the engines' code: each line's numbers (``0.9 * (0.9 *
0.0105 - 0.2 * 0.0014) - 0.2 * 0.0014``) are evaluated here as an arithmetic expression and
must give the value the engine computed, so a wrong formula (a missing weight decay term, the
wrong rate, a velocity of the wrong step, softmax's delta without its Jacobian) fails.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from pathlib import Path
from typing import Any

import pytest

from bpcheck.authoring.explain import explain
from bpcheck.authoring.new import new_fixture
from bpcheck.engines.loops import LoopsEngine
from bpcheck.engines.matrices import MatricesEngine
from bpcheck.io.loader import load
from bpcheck.model.fixture import Fixture

BASE = {
    "sizes": "2,2,2",
    "inputs": "0.05,0.10;0.2,0.3;0.4,0.5",
    "targets": "0.01,0.99;1,0;0,1",
    "weights": "0.15,-0.20,0.25,0.30,-0.40,0.45,0.50,0.55",
    "document": "notes.md",
    "where": "section 2",
}

CASES: dict[str, tuple[dict[str, str], int]] = {
    "nesterov-mini-float32": (
        {
            "activations": "leaky_relu,elu",
            "slope": "0.2",
            "alpha": "0.5",
            "batch": "2",
            "sample_order": "2,3,1",
            "epochs": "2",
            "momentum": "0.9",
            "nesterov": "yes",
            "weight_decay": "0.001",
            "layer_learning_rates": "0.1,0.2",
            "precision": "float32",
        },
        1,
    ),
    "momentum-per-sample": (
        {
            "activations": "softplus,sigmoid",
            "bias": "shared",
            "biases": "0.35,0.6",
            "batch": "per_sample",
            "steps": "3",
            "momentum": "0.5",
            "weight_decay": "0.01",
        },
        2,
    ),
    "softmax-mse": ({"activations": "tanh,softmax", "loss": "mse", "steps": "1"}, 0),
    "bce-identity": (
        {"activations": "sigmoid,identity", "loss": "bce", "targets": "0,1;1,0;0,1"},
        0,
    ),
    "objective": ({"activations": "elu", "objective": "output 2", "steps": "0"}, 0),
}


def fixture_for(tmp_path: Path, name: str) -> Fixture:
    given, _ = CASES[name]
    answers = {**BASE, **given}
    if "objective" in given:
        del answers["targets"]
    path = tmp_path / f"{name}.json"
    document = new_fixture(path, answers)
    path.write_text(json.dumps(document))
    return load(path)


def evaluate(numbers: str) -> float:
    """A line's numbers as arithmetic: ``^`` is a power, a space before a bracket a product."""
    expression = numbers.replace("^", "**")
    expression = re.sub(r"([0-9)])\s+(\(|log)", r"\1 * \2", expression)
    return float(arithmetic(ast.parse(expression, mode="eval").body))


NAMES = {"e": math.e, "nan": math.nan}
CALLS: dict[str, Any] = {"log": math.log, "tanh": math.tanh, "max": max}
OPERATORS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def arithmetic(node: ast.expr) -> float:
    """The value of numbers, + - * / **, unary minus, e, nan, log, tanh, max and ``a if b > c
    else d``; nothing else
    (explain's line is read as arithmetic, never run as code)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in NAMES:
        return NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = arithmetic(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        return float(OPERATORS[type(node.op)](arithmetic(node.left), arithmetic(node.right)))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALLS:
        return float(CALLS[node.func.id](*(arithmetic(arg) for arg in node.args)))
    if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Compare):
        return arithmetic(node.body if comparison(node.test) else node.orelse)
    raise ValueError(f"not arithmetic: {ast.dump(node)}")


COMPARISONS: dict[type, Any] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
}


def comparison(node: ast.Compare) -> bool:
    """``a > b``: the one comparison the branches of leaky relu and ELU print."""
    (op,), (right,) = node.ops, node.comparators
    return bool(COMPARISONS[type(op)](arithmetic(node.left), arithmetic(right)))


LINE = re.compile(r"^- (?:\(step [0-9]+\) )?(?P<parts>.*) = \*\*(?P<value>[^*]+)\*\*")


def checked_lines(text: str, tolerance: float) -> int:
    """Every line with numbers: they compute its value.  Returns how many were checked."""
    count = 0
    for raw in text.splitlines():
        match = LINE.match(raw)
        if match is None:
            continue
        parts = match["parts"].split(" = ")
        if len(parts) < 3 or "sum" in parts[1]:  # no numbers, or softmax's e^net / sum e^net
            continue
        numbers, value = parts[2], float(match["value"])
        scale = max(
            [
                1.0,
                abs(value),
                *(abs(float(x)) for x in re.findall(r"[0-9.]+(?:e-?[0-9]+)?", numbers)),
            ]
        )
        computed = evaluate(numbers)
        if math.isnan(value):
            assert math.isnan(computed), f"{raw}: the numbers give {computed}"
            continue
        assert abs(computed - value) <= tolerance * scale, f"{raw}: the numbers give {computed}"
        count += 1
    return count


@pytest.mark.parametrize("name", list(CASES))
def test_every_line_s_numbers_give_its_value(tmp_path: Path, name: str) -> None:
    fixture = fixture_for(tmp_path, name)
    step = CASES[name][1]
    text = explain(fixture, step, {"loops": LoopsEngine()})
    tolerance = 1e-6 if fixture.problem.precision == "float32" else 1e-9
    assert checked_lines(text, tolerance) > 20


def test_a_wrong_formula_is_caught() -> None:
    line = "- dw5 (dw[2,1,1]) = -0.5 * dE_dw5 = -0.5 * 0.08 = **-0.041**"
    with pytest.raises(AssertionError, match=r"the numbers give -0\.04"):
        checked_lines(line, 1e-9)


def test_the_settings_and_the_new_quantities_are_shown(tmp_path: Path) -> None:
    text = explain(fixture_for(tmp_path, "nesterov-mini-float32"), 1, {"loops": LoopsEngine()})
    for row in (
        "| loss | half_sse: 1/2 (t - o)^2, summed over outputs and samples |",
        "| activations | layer 1: leaky_relu (slope 0.2); layer 2: elu (alpha 0.5) |",
        "| batch | mini-batches of 2, samples taken in the order 2, 3, 1 |",
        "| training | 4 updates (2 epochs) |",
        "| step 1 | sample 1: epoch 1, update 2 of 2 per epoch |",
        "| learning rate | layer 1: 0.1, layer 2: 0.2 |",
        "| momentum | 0.9 (Nesterov; the velocity starts at 0) |",
        "| weight decay | 0.001, coupled L2: E gains 0.001/2 * the sum of squared weights",
        "| precision | float32: every engine computes in float32 |",
    ):
        assert row in text
    for start in (
        "- net_term_w5 (net_term[2,1,1]@1) = w5 * out_h1 = ",
        "- weighted_sum_o1 (weighted_sum[2,1]@1) = net_term_w5 + net_term_w6 = ",
        "- error_o1 (error[1]@1) = t1 - out_o1 = ",
        "- E_sample (E@1) = E_o1 + E_o2 = ",
        "- E_total (E) = E_o1 + E_o2 + 0.001/2 * (w1^2 + ",
        "- error_term_o1 (error_term[2,1]@1) = -delta_o1 = ",
        "- dE_dw5@1 (dE_dw[2,1,1]@1) = delta_o1 * out_h1 = ",
        "- dE_dw5 (dE_dw[2,1,1]) = delta_o1 * out_h1 + 0.001 * w5 = ",
        "- dw5 (dw[2,1,1]) = 0.9 * (0.9 * velocity - 0.2 * dE_dw5) - 0.2 * dE_dw5 = 0.9 * (0.9 * ",
        "- dw1 (dw[1,1,1]) = 0.9 * (0.9 * velocity - 0.1 * dE_dw1) - 0.1 * dE_dw1 = ",
        "- (step 2) w5 (w[2,1,1]) = w5 + dw5 = ",
        "- dE_di1 (dE_dout[0,1]@1) = delta_h1 * w1 + delta_h2 * w3 = ",
        "- E_change = E_total (step 2) - E_total = ",
        "- out_h1 (out[1,1]@1) = net_h1 if net_h1 > 0 else 0.2 * net_h1 = ",
        "- dout_dnet_o1 (dout_dnet[2,1]@1) = 1 if net_o1 > 0 else out_o1 + 0.5 = ",
    ):
        assert f"\n{start}" in text, start


def test_an_objective_shows_the_output_and_no_targets(tmp_path: Path) -> None:
    text = explain(fixture_for(tmp_path, "objective"), 0, {"loops": LoopsEngine()})
    assert "| objective | output 2: no loss, the gradient of output 2 alone" in text
    assert "## Objective (output 2)" in text
    assert "- E_o1 (E[1]@1) = 0 = 0 = **0**" in text
    assert "- dE_dout_o2@3 (dE_dout[2,2]@3) = 1 = 1 = **1**" in text
    assert "- dE_dout_o1@3 (dE_dout[2,1]@3) = 0 = 0 = **0**" in text
    assert "error[" not in text and "error_o" not in text and "t1" not in text


def test_softmax_s_delta_goes_through_its_jacobian(tmp_path: Path) -> None:
    text = explain(fixture_for(tmp_path, "softmax-mse"), 0, {"loops": LoopsEngine()})
    assert "- delta_o1 (delta[2,1]@1) = out_o1 * (dE_dout_o1 - (dE_dout_o1 * out_o1 + " in text


def test_momentum_s_velocity_is_the_change_of_the_step_before(tmp_path: Path) -> None:
    """Classical momentum at step 2: the velocity put in is dw at step 1 (explain runs step 1
    too), and the same page from another engine says the same."""
    fixture = fixture_for(tmp_path, "momentum-per-sample")
    text = explain(fixture, 2, {"loops": LoopsEngine()})
    line = next(x for x in text.splitlines() if x.startswith("- dw5 (dw[2,1,1]) = "))
    assert line.startswith("- dw5 (dw[2,1,1]) = 0.5 * velocity - 0.5 * dE_dw5 = 0.5 * ")
    step_1 = explain(fixture, 1, {"loops": LoopsEngine()})
    before = next(x for x in step_1.splitlines() if x.startswith("- dw5 (dw[2,1,1]) = "))
    velocity = before.split("**")[1]
    assert f"= 0.5 * {velocity} - 0.5 * " in line.replace("(", "").replace(")", "")
    assert explain(fixture, 2, {"matrices": MatricesEngine()}).count("velocity") == text.count(
        "velocity"
    )


def test_the_html_page_has_the_settings(tmp_path: Path) -> None:
    page = explain(fixture_for(tmp_path, "objective"), 0, {"loops": LoopsEngine()}, "html")
    assert "<h2>Settings</h2>" in page and "<th>objective</th>" in page


def test_numbers_bpcheck_cannot_compute_are_listed_with_why(tmp_path: Path) -> None:
    path = fixture_for(tmp_path, "objective").path
    document = json.loads(path.read_text())
    why = "no name for | a velocity"
    document["claims"] = [{"id": "v", "printed": "0.9", "where": "p. 4", "unsupported": why}]
    path.write_text(json.dumps(document))
    text = explain(load(path), 0, {"loops": LoopsEngine()})
    assert text.endswith(
        "| printed | where | why |\n| --- | --- | --- |\n"
        "| 0.9 | p. 4 | no name for \\| a velocity |\n"
    )
    page = explain(load(path), 0, {"loops": LoopsEngine()}, "html")
    assert "<td>0.9</td><td>p. 4</td><td>no name for | a velocity</td>" in page
