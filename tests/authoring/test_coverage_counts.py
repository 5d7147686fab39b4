"""The coverage table counts printed numbers, those encoded and those bpcheck cannot compute.

(Added by the io helper of issue 17 with :func:`bpcheck.authoring.docs.coverage_table`'s
new columns.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bpcheck.authoring.docs import coverage_table
from bpcheck.io.loader import load
from tests.support.documents import VALID


def fixture_with(tmp_path: Path, claims: list[dict[str, Any]], name: str = "f") -> Any:
    document = copy.deepcopy(VALID)
    document["id"] = name
    document["claims"] = claims
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return load(path)


def cells(table: str, row: int) -> dict[str, str]:
    lines = table.splitlines()
    headers = [h.strip() for h in lines[0].strip("|").split("|")]
    values = [v.strip() for v in lines[row].strip("|").split("|")]
    return dict(zip(headers, values, strict=True))


CLAIMS = [
    {"id": "a", "quantity": "o", "printed": "0.525", "where": "-", "expect": "match"},
    {
        "id": "b",
        "quantity": "o",
        "printed": "0.52",
        "where": "-",
        "expect": "truncated",
        "note": "n",
    },
    {"id": "u1", "printed": "0.25", "where": "-", "unsupported": "a dropout mask"},
    {"id": "p", "quantity": "w1", "pinned": "0.10000000000000001", "where": "-"},
    {"id": "u2", "printed": "\u22121.5", "where": "-", "unsupported": "Adam's second moment"},
]


def test_printed_encoded_and_unsupported_per_document(tmp_path: Path) -> None:
    row = cells(coverage_table([fixture_with(tmp_path, CLAIMS)]), 2)
    assert row["printed numbers"] == "4"  # a, b, u1, u2: every printed string
    assert row["encoded"] == "2"  # printed minus unsupported
    assert row["unsupported"] == "2"
    assert (row["match"], row["truncated"], row["mismatch"]) == ("1", "1", "0")
    assert row["pinned values"] == "1"


def test_the_totals_add_the_documents(tmp_path: Path) -> None:
    first = fixture_with(tmp_path, CLAIMS, "first")
    second = fixture_with(tmp_path, CLAIMS[2:3], "second")
    second.source["document"] = "other.txt"
    table = coverage_table([first, second])
    total = cells(table, 4)
    assert total["document"] == "**all**"
    assert (total["printed numbers"], total["encoded"], total["unsupported"]) == ("5", "2", "3")
