"""diagnose copes with a learning rate of 1e30: values of 1e28 and beyond, infinities, NaN."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main
from bpcheck.diagnose.results import read_diagnose_result
from tests.support.documents import VALID


@pytest.mark.parametrize("rate", [1e30, 1e200])
def test_diagnose_with_a_huge_learning_rate(
    rate: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``learning_rate`` 1e30 crashed diagnose (typo_of cut 1.5e20 at 10 places in 28 digits)."""
    document: dict[str, Any] = copy.deepcopy(VALID)
    document["problem"]["learning_rate"] = rate
    document["claims"] = [
        {
            "id": "o",
            "quantity": "o",
            "printed": "0.6",
            "where": "-",
            "expect": "mismatch",
            "note": "-",
        },
        {
            "id": "w1-after",
            "quantity": "w1",
            "step": 1,
            "printed": "0.1234567891",
            "where": "-",
            "expect": "mismatch",
            "note": "-",
        },
    ]
    path = tmp_path / "rate.json"
    path.write_text(json.dumps(document))
    results = tmp_path / "diagnose.json"
    assert main(["diagnose", str(path), "--json", str(results)]) == 0
    out = capsys.readouterr().out
    assert "w1-after: w1 at step 1 printed 0.1234567891, computed" in out
    assert [e.claim for e in read_diagnose_result(results).diagnoses[0].errata] == ["o", "w1-after"]
