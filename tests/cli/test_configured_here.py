"""Whether a project configures engines: its table, not the words ``bpcheck.engines`` anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck.cli.inputs import configured_here

ENTRY_POINTS = '[project.entry-points."bpcheck.engines"]\nmine = "mine:Engine"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENTRY_POINTS, False),  # a package registering an engine configures nothing
        ('[tool.setuptools]\npackages = ["bpcheck.engines"]\n', False),
        ('[tool.bpcheck.engines]\nmine = "node engine.js"\n', True),
        ('tool.bpcheck.engines.mine = "node engine.js"\n', True),
        ('[tool]\nbpcheck = { engines = { mine = "node engine.js" } }\n', True),
    ],
)
def test_only_a_table_of_bpcheck_under_tool_counts(
    text: str, expected: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert configured_here() is expected
