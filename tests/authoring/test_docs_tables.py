"""The generated tables name each document by title, author and URL, and read on a code host."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from bpcheck.authoring.docs import coverage_table, errata_table, generated_sections
from bpcheck.checking import registry
from bpcheck.model.fixture import Fixture
from tests.support.groups import ZOO_GROUP

ROOT = Path(__file__).resolve().parents[2]


def test_the_coverage_table_names_each_document(bundled: dict[Path, Fixture]) -> None:
    table = coverage_table(list(bundled.values()))
    mazur = next(line for line in table.splitlines() if "001_5cf43d7771cdc907.txt" in line)
    assert mazur.startswith("| [A Step by Step Backpropagation Example][document-2] | Matt Mazur |")
    url = "https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/"
    assert f"[document-2]: <{url}>" in table.splitlines()
    babin = next(line for line in table.splitlines() if "002_1f182d02aac43161.txt" in line)
    assert babin.startswith("| Back Propagation (no URL known) | Babin |")


def test_a_document_without_title_is_named_by_its_file(bundled: dict[Path, Fixture]) -> None:
    fixture = copy.deepcopy(next(iter(bundled.values())))
    fixture.source.clear()
    fixture.source["document"] = "notes.txt"
    line = coverage_table([fixture]).splitlines()[2]
    assert line.startswith("| notes.txt (no URL known) | - | `notes.txt` |")


def test_a_url_cannot_break_out_of_its_link(bundled: dict[Path, Fixture]) -> None:
    fixture = copy.deepcopy(next(iter(bundled.values())))
    fixture.source["url"] = "https://example.org/a>b<c"
    fixture.source["title"] = "[x](javascript:alert(1))"
    table = coverage_table([fixture])
    assert "[document-1]: <https://example.org/a%3Eb%3Cc>" in table
    assert "\\[x\\](javascript:alert(1))" in table


def test_the_errata_are_grouped_by_document_with_numbered_notes(
    bundled: dict[Path, Fixture],
) -> None:
    text = errata_table(list(bundled.values()), registry.reference_engine())
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == [
        "### [A Step by Step Backpropagation Example]"
        "(<https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/>)",
        "### Back Propagation (no URL known)",
    ]
    mazur = text.split(headings[1])[0]
    rows = [line for line in mazur.splitlines() if line.startswith("| `mazur")]
    assert len(rows) == 5 and all(re.search(r"\| \d \|$", row) for row in rows)
    assert "\n2. True value with simultaneous updates, as the text teaches" in mazur


@pytest.mark.parametrize(
    "name",
    ["errata", "coverage", pytest.param("zoo", marks=[pytest.mark.slow, ZOO_GROUP])],
)
def test_no_generated_line_scrolls_sideways(bundled: dict[Path, Fixture], name: str) -> None:
    sections = generated_sections(ROOT, list(bundled.values()), registry.reference_engine())
    text = next(s for s in sections if s.marker == name).content()
    long = [line for line in text.splitlines() if len(line) > 200]
    assert not long, long[0]
