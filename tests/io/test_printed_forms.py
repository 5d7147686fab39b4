"""``bpcheck validate`` takes printed numbers as authors print them, and keeps them exactly.

Issue 17's acceptance: ``"−0.0361"`` (U+2212) and ``"2.406 × 10^-3"`` are valid
printed values, judged like ``"-0.0361"`` and ``"0.002406"``; ``"0,5"`` is refused
with a line naming the comma.  The fixture's own sigmoid output is the value
judged, computed here by the formula, not by an engine.
"""  # noqa: RUF002 (the forms as documents print them)

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main
from bpcheck.io.loader import load
from bpcheck.model.verdicts import verdict
from tests.support.documents import VALID

MINUS = "\u2212"
TIMES = "\u00d7"

OUTPUT = 1 / (1 + math.exp(-(0.1 * 0.5 + 0.2 * 0.25)))
"""out[1,1]@1 of tests.support.documents.VALID: sigmoid(0.1 * 0.5 + 0.2 * 0.25)."""


def with_claims(claims: list[dict[str, Any]]) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    document["claims"] = claims
    return document


def claim(identifier: str, quantity: str, printed: str, expect: str) -> dict[str, Any]:
    note = {} if expect == "match" else {"note": "printed so on purpose"}
    return {
        "id": identifier,
        "quantity": quantity,
        "printed": printed,
        "where": "-",
        "expect": expect,
        **note,
    }


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "typographic.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


PAIRS = [
    (f"{MINUS}0.0361", "-0.0361"),
    (f"2.406 {TIMES} 10^-3", "0.002406"),
    ("2.406 * 10^-3", "0.002406"),
    (f"2.406e{MINUS}3", "0.002406"),
    ("+0.5250", "0.5250"),
    (f"5.250 {TIMES} 10^-1", "0.5250"),
    (f"0.524{chr(0x2009)}979", "0.524979"),
]


def test_validate_accepts_the_typographic_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = [
        claim(f"c{n}", "o", typographic, verdict(OUTPUT, plain))
        for n, (typographic, plain) in enumerate(PAIRS)
    ]
    path = write(tmp_path, with_claims(claims))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    loaded = load(path)
    assert [c.printed for c in loaded.claims] == [typographic for typographic, _ in PAIRS]


@pytest.mark.parametrize(("typographic", "plain"), PAIRS)
def test_a_typographic_claim_is_judged_as_the_plain_one(typographic: str, plain: str) -> None:
    """The verdict on the computed output is the plain decimal's, whatever the output is."""
    for value in (OUTPUT, -0.03612, 0.0024064, 0.0024076, 0.52498, -0.0362):
        assert verdict(value, typographic) == verdict(value, plain), value


def test_the_acceptance_verdicts() -> None:
    assert verdict(-0.0361, f"{MINUS}0.0361") == verdict(-0.0361, "-0.0361") == "match"
    assert verdict(0.002406, f"2.406 {TIMES} 10^-3") == "match"
    assert verdict(0.0024076, f"2.406 {TIMES} 10^-3") == "mismatch"  # 6 places, like 0.002406


def test_validate_refuses_a_comma_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, with_claims([claim("c", "o", "0,5", "match")]))
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"{path}: $.claims[0].printed: expected a decimal number such as 0.5932, "
        f"{MINUS}0.0361, 3.5e-05 or 2.406 {TIMES} 10^-3; found ',' (U+002C COMMA), "
        "as printed; found '0,5'"
    ]


def test_validate_names_a_dash_that_looks_like_a_minus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, with_claims([claim("c", "o", "\u20130.5", "match")]))
    assert main(["validate", str(path)]) == 2
    assert "found '\u2013' (U+2013 EN DASH)" in capsys.readouterr().err


def test_a_pinned_value_stays_plain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pinned values are bpcheck's own %.17g, read with float(): no typographic form."""
    pinned = {"id": "p", "quantity": "o", "pinned": f"5.2497918747894e{MINUS}1", "where": "-"}
    path = write(tmp_path, with_claims([pinned]))
    assert main(["validate", str(path)]) == 2
    assert "$.claims[0].pinned: expected a plain decimal" in capsys.readouterr().err


def test_run_judges_typographic_claims_and_skips_unsupported_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: the loops engine's values judged against typographic strings; the
    unsupported claim is counted nowhere in the run (it has no quantity to compute)."""
    gradient = -(1 - OUTPUT) * OUTPUT * (1 - OUTPUT) * 0.5  # dE/dw[1,1,1] of half_sse
    claims = [
        claim("o", "o", f"5.250 {TIMES} 10^-1", verdict(OUTPUT, "0.5250")),
        claim("g", "dE_dw[1,1,1]", f"{MINUS}0.0592", verdict(gradient, "-0.0592")),
        {"id": "u", "printed": "0.3", "where": "-", "unsupported": "another network's number"},
    ]
    path = write(tmp_path, with_claims(claims))
    assert main(["run", str(path), "--engine", "loops"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "2 claims in 1 fixture: 2 printed numbers match" in out, out
