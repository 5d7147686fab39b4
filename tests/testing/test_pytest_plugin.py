"""The pytest plugin: fixture files are collected directly, one item per fixture and engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.documents import VALID

ROOT = Path(__file__).resolve().parents[2]
QUIET = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
"""The inner run cannot re-import our already-imported plugin for assertion rewriting."""


def write_fixture(pytester: pytest.Pytester, document: dict[str, object], name: str) -> Path:
    folder = pytester.path / "fixtures"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(document))
    return path


def test_collects_one_item_per_fixture_and_engine(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "fixtures", pytester.path / "fixtures")
    result = pytester.runpytest(*QUIET, "--co", "-q", "fixtures")
    result.stdout.fnmatch_lines(
        [
            "fixtures/hmkcode/hmkcode-2018.json::hmkcode-2018[[]loops[]]",
            "fixtures/hmkcode/hmkcode-2018.json::hmkcode-2018[[]matrices[]]",
            "fixtures/hmkcode/hmkcode-2018.json::hmkcode-2018[[]autodiff[]]",
        ]
    )


def test_k_selects_by_fixture_id(pytester: pytest.Pytester) -> None:
    write_fixture(pytester, VALID, "tiny.json")
    other = dict(VALID, id="other")
    write_fixture(pytester, other, "other.json")
    result = pytester.runpytest(*QUIET, "-k", "tiny and loops", "fixtures")
    result.assert_outcomes(passed=1)


def test_a_wrong_expectation_fails_with_a_claim_table(pytester: pytest.Pytester) -> None:
    document = json.loads(json.dumps(VALID))
    document["claims"][0]["printed"] = "0.55"
    write_fixture(pytester, document, "tiny.json")
    result = pytester.runpytest(*QUIET, "-k", "loops", "fixtures")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 claim(s) differ from their expected verdict*",
            "claim*quantity*step*printed*loops*verdict*expected*outcome*",
            "o *o *0 *0.55 *0.5249791875*mismatch*match*failed*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "bpcheck/checking.py" not in result.stdout.str()


def test_a_broken_fixture_is_an_error_item_not_a_silent_skip(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "fixtures"
    folder.mkdir()
    (folder / "broken.json").write_text("{")
    result = pytester.runpytest(*QUIET, "fixtures")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*broken.json: line 1 column 2: expected JSON: *"])


def test_header_names_the_engines(pytester: pytest.Pytester) -> None:
    write_fixture(pytester, VALID, "tiny.json")
    result = pytester.runpytest(*QUIET, "fixtures", "-k", "loops")
    result.stdout.fnmatch_lines(["bpcheck engine loops: *LoopsEngine from bpcheck *"])
