"""``bpcheck explain --digits N``: the certified value beside each engine's, with its ULPs."""

from __future__ import annotations

import re

import pytest

from bpcheck.authoring.digits import float32_nearest
from bpcheck.authoring.explain import explain
from bpcheck.cli.main import main
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from tests.support.paths import ROOT

SATURATED = ROOT / "tests" / "certified" / "saturated-sigmoid.json"


def test_the_table_shows_the_certified_digits_beside_each_engine() -> None:
    engines = {"loops": LoopsEngine(), "certified": CertifiedEngine()}
    text = explain(load(SATURATED), 0, engines, digits=30)
    table = text.split("## Certified values to 30 digits")[1]
    [slope] = [line for line in table.splitlines() if line.startswith("| `dout_dnet[1,1]@1`")]
    # mpmath at 60 digits: 1.1253514939093229181703043135766083773535808594511746...e-7
    assert "| 1.12535149390932291817030431358e-7 ± " in slope
    assert "| 1.1253514941371313e-07 (+1.72e+06) |" in slope  # loops, wrong in its 10th digit
    assert slope.endswith("| 1.12535147e-07 |")  # the nearest float32
    assert "| quantity | certified (30 digits) | loops | float32 |" in table


def test_without_a_certifying_engine_the_table_says_why() -> None:
    text = explain(load(SATURATED), 0, {"loops": LoopsEngine()}, digits=30)
    assert text.rstrip().endswith("No engine certified the values of this step.")


def test_more_digits_than_certified_are_not_invented() -> None:
    engines = {"loops": LoopsEngine(), "certified": CertifiedEngine(digits=20)}
    text = explain(load(SATURATED), 0, engines, digits=40)
    found = re.search(r"Asked for 40 digits, certified (\d+):", text)
    assert found and 20 <= int(found.group(1)) < 40, found  # 20 asked, a little more given
    assert f"certified ({found.group(1)} digits)" in text


def test_html_with_digits_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", str(SATURATED), "--digits", "30", "--format", "html"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == "--digits: $: expected --format md: the table is Markdown"


def test_float32_nearest() -> None:
    assert float32_nearest(0.1) == 0.10000000149011612
    assert float32_nearest(1e39) == float("inf")
