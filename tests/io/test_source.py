"""A fixture names its document by title, author and URL (``source``); the loader keeps them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main
from bpcheck.io.loader import load, load_all
from tests.support.documents import VALID

ROOT = Path(__file__).resolve().parents[2]

SOURCE = {
    "document": "001_5cf43d7771cdc907.txt",
    "title": "A Step by Step Backpropagation Example",
    "author": "Matt Mazur",
    "url": "https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/",
    "where": "section The Forward Pass",
}


def written(tmp_path: Path, source: dict[str, Any]) -> Path:
    document = copy.deepcopy(VALID)
    document["$schema"] = "fixture-v1.schema.json"
    document["source"] = source
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(document))
    return path


def test_title_author_and_url_are_kept(tmp_path: Path) -> None:
    assert load(written(tmp_path, SOURCE)).source == SOURCE


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("url", "mattmazur.com/2015", "does not match '^https?://"),
        ("url", "https://example.org/a b", "does not match '^https?://"),
        ("title", "", "should be non-empty"),
        ("author", 7, "expected string, found 7"),
        ("publisher", "WordPress", "unknown field 'publisher'; expected only author, document"),
    ],
)
def test_a_bad_source_field_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: Any, expected: str
) -> None:
    path = written(tmp_path, SOURCE | {field: value})
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}: $.source"), lines
    assert expected in lines[0], lines


def test_every_bundled_fixture_names_its_document() -> None:
    """Title and author always; a URL wherever the document's address is known."""
    fixtures, errors = load_all([ROOT / "fixtures"])
    assert not errors and fixtures
    for fixture in fixtures:
        assert fixture.source.get("title") and fixture.source.get("author"), fixture.id
    without_url = {f.source["document"] for f in fixtures if "url" not in f.source}
    assert without_url == {"002_1f182d02aac43161.txt"}, "only Babin's post has no known address"
