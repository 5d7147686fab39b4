"""``bpcheck explain``: names a reader can pass to ``claim``, brackets around negative numbers,
one naming style per line (alias first, canonical name in brackets)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bpcheck.authoring.aliases import tutorial_aliases
from bpcheck.authoring.explain import explain
from bpcheck.authoring.worked_example import tidy
from bpcheck.cli.main import main
from bpcheck.engines.loops import LoopsEngine
from bpcheck.errors import BadInput
from bpcheck.io.loader import load
from tests.support.paths import BUNDLED_FIXTURES, ROOT

SCHEMA = ROOT / "fixtures" / "schema" / "fixture-v1.schema.json"
MAZUR = ROOT / "fixtures" / "mazur" / "mazur-2015.json"

NAME = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9,]+\](?:_d(?:out|net)\[[0-9,]+\])?)?(?:@[0-9]+)?"
)
"""A name as explain prints it: an alias (``out_h1``, ``w5@2``) or a canonical name."""

FORMULA_WORDS = {"e", "tanh", "max", "if", "else", "log", "sum", "step", "velocity"}
"""Words of the formulas that are no quantity; ``t1``, ``t2``... are the targets."""

LINE = re.compile(r"^- (?:\(step (?P<step>[0-9]+)\) )?(?P<parts>.*?) = \*\*[^*]+\*\*(  )?$")


def printed_names(markdown: str, default_step: int) -> set[tuple[str, int]]:
    """Every (name, step) in the formula lines of explain's Markdown."""
    found: set[tuple[str, int]] = set()
    lines = [LINE.match(line) for line in markdown.splitlines() if line.startswith("- ")]
    assert all(lines), "every formula line has the shape '- name = formula = numbers = **value**'"
    for match in lines:
        assert match is not None
        step = int(match["step"]) if match["step"] else default_step
        heading, *formula = match["parts"].split(" = ")
        canonical = re.fullmatch(r"(\S+)(?: \((\S+)\))?", heading)
        assert canonical, f"a heading is a name, or an alias and its canonical name: {heading!r}"
        found.update((n, step) for n in canonical.groups() if n)
        for name in NAME.findall(" = ".join(formula[:1])):  # the formula; then only numbers
            if name not in FORMULA_WORDS and not re.fullmatch(r"t[0-9]+", name):
                found.add((name, default_step))  # an update's formula: the values before it
    return found


def claim_rejects(path: Path, names: set[tuple[str, int]], tmp_path: Path) -> list[str]:
    """The names ``bpcheck claim`` would refuse for the fixture at ``path`` (its loader's lines)."""
    document: dict[str, Any] = json.loads(path.read_text())
    document["$schema"] = str(SCHEMA)
    document["claims"] = [
        {
            "id": f"c{i}",
            "quantity": name,
            "step": step,
            "printed": "1",
            "where": "",
            "expect": "match",
        }
        for i, (name, step) in enumerate(sorted(names))
    ]
    trial = tmp_path / path.name
    trial.write_text(json.dumps(document))
    try:
        load(trial)
    except BadInput as refused:
        return refused.lines
    return []


@pytest.mark.parametrize("path", BUNDLED_FIXTURES, ids=lambda p: p.stem)
def test_every_name_explain_prints_is_one_claim_accepts(path: Path, tmp_path: Path) -> None:
    text = explain(load(path), 0, {"loops": LoopsEngine()})
    names = printed_names(text, 0)
    assert len(names) > 5
    assert not any("/d" in name for name, _ in names)
    assert claim_rejects(path, names, tmp_path) == []


def test_the_check_catches_a_name_claim_refuses(tmp_path: Path) -> None:
    """Mazur's fixture has no alias ``dE_dout_o1`` (``new`` writes one; this fixture predates it),
    so a line naming it would be caught."""
    names = printed_names("- dE_dout_o1 = -(t1 - out_o1) = -(0.01 - 0.75) = **0.74**", 0)
    assert names == {("dE_dout_o1", 0), ("out_o1", 0)}
    [refused] = claim_rejects(MAZUR, names, tmp_path)
    assert "unknown quantity 'dE_dout_o1'" in refused


def test_each_line_starts_with_the_alias_and_the_canonical_name_in_brackets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", str(MAZUR)]) == 0
    out = capsys.readouterr().out
    assert "- delta_o1 (delta[2,1]) = dE_dout[2,1] * dout_dnet[2,1] = " in out
    assert "- dE_dout[2,1] = -(t1 - out_o1) = " in out, "no alias: the canonical name alone"
    assert "- dw[2,1,1] = -0.5 * dE_total_dw5 = " in out
    assert "- (step 1) w5 (w[2,1,1]) = w5 + dw[2,1,1] = " in out
    assert "dE/d" not in out


def test_negative_numbers_in_a_formula_are_in_brackets(tmp_path: Path) -> None:
    """A tanh network whose output, a weight and a bias are negative."""
    document = {
        "$schema": str(SCHEMA),
        "id": "tanh-121",
        "title": "tanh 1-2-1",
        "source": {"document": "notes"},
        "problem": {
            "inputs": [[0.5]],
            "targets": [[0.2]],
            "layers": [
                {"activation": "tanh", "weights": [[0.3], [-0.4]]},
                {
                    "activation": "tanh",
                    "weights": [[0.6, 0.8]],
                    "bias": {"kind": "shared", "values": [-0.1]},
                },
            ],
            "loss": "half_sse",
            "learning_rate": 0.5,
            "steps": 1,
        },
        "aliases": {"out_o1": "out[2,1]", "w2": "w[1,2,1]", "i1": "out[0,1]", "b2": "b[2]"},
        "claims": [],
    }
    path = tmp_path / "tanh-121.json"
    path.write_text(json.dumps(document))
    text = explain(load(path), 0, {"loops": LoopsEngine()})
    assert "= 1 - (-0.1669905131)^2 = " in text
    assert "= -0.4 * 0.5 = " in text, "a leading negative factor needs no brackets"
    assert "= 0.6 * 0.1488850336 + 0.8 * (-0.1973753202) + (-0.1) = " in text
    assert "= -(0.2 - (-0.1669905131)) = " in text
    for line in text.splitlines():
        for numbers in line.split(" = ")[2:3]:
            bare = re.findall(r"(?<![(^\w.])-[0-9]", numbers[1:])
            assert not bare, f"a bare negative number inside a formula: {line}"


@pytest.mark.parametrize(
    ("numbers", "tidied"),
    [
        ("(-0.4) * 0.5 + (-0.1)", "-0.4 * 0.5 + (-0.1)"),
        ("(-0.036)^2", "(-0.036)^2"),
        ("1 - (-0.036)^2", "1 - (-0.036)^2"),
        ("tanh((-0.5))", "tanh(-0.5)"),
        ("(-1e-05) * 2", "-1e-05 * 2"),
    ],
)
def test_tidy_keeps_only_the_brackets_a_reader_needs(numbers: str, tidied: str) -> None:
    assert tidy(numbers) == tidied


def test_the_aliases_new_writes_name_every_line_of_explain(tmp_path: Path) -> None:
    """Mazur's network with the aliases ``new`` writes: derivatives get tutorial names too."""
    document: dict[str, Any] = json.loads(MAZUR.read_text())
    frozen = [False, False]  # Mazur trains no bias
    document["aliases"] = tutorial_aliases([2, 2, 2], "shared", trainable=frozen, updating=True)
    document["claims"] = []
    document["$schema"] = str(SCHEMA)
    path = tmp_path / "mazur.json"
    path.write_text(json.dumps(document))
    text = explain(load(path), 0, {"loops": LoopsEngine()})
    for line in (
        "- dE_dout_o1 (dE_dout[2,1]) = -(t1 - out_o1) = ",
        "- dout_dnet_o1 (dout_dnet[2,1]) = out_o1 (1 - out_o1) = ",
        "- delta_o1 (delta[2,1]) = dE_dout_o1 * dout_dnet_o1 = ",
        "- dE_db2 (dE_db[2]) = delta_o1 + delta_o2 = ",
        "- dE_dw5 (dE_dw[2,1,1]) = delta_o1 * out_h1 = ",
        "- net_term_w5 (net_term[2,1,1]) = w5 * out_h1 = ",
        "- weighted_sum_o1 (weighted_sum[2,1]) = net_term_w5 + net_term_w6 = ",
        "- error_o1 (error[1]) = t1 - out_o1 = ",
        "- E_sample (E@1) = E_o1 + E_o2 = ",
        "- error_term_o1 (error_term[2,1]) = -delta_o1 = ",
        "- dw5 (dw[2,1,1]) = -0.5 * dE_dw5 = ",
        "- (step 1) w5 (w[2,1,1]) = w5 + dw5 = ",
        "- dE_di1 (dE_dout[0,1]) = delta_h1 * w1 + delta_h2 * w3 = ",
        "- E_change = E_total (step 1) - E_total = ",
    ):
        assert line in text
    names = printed_names(text, 0)
    assert claim_rejects(path, names, tmp_path) == []
    alone = re.findall(r"^- (?:\(step [0-9]+\) )?(\S+\[\S*) = ", text, flags=re.MULTILINE)
    assert [n for n in alone if not n.startswith("dE[")] == [], "only per-term partials lack one"
