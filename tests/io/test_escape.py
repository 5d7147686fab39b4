"""Escaping at every output: CSV cells, Markdown and the terminal never carry text's instructions.

The helpers of :mod:`bpcheck.io.escape` first, then each place that writes
text from outside: report CSV and Markdown, ``explain``, ``compare``, the
tables every command prints and the error lines of ``main``.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking.results import text_table
from bpcheck.cli.main import main
from bpcheck.io.escape import csv_cell, markdown_code, markdown_text, terminal_text
from tests.support.documents import VALID

ESC = "\x1b"
CLEAR = f"{ESC}[2J{ESC}[H"
HOSTILE = f'{CLEAR}<img src=x onerror="alert(1)"> [x](javascript:alert(1)) ![i](http://e/i.png) |'
"""Every kind of trouble at once: terminal control, HTML, a link, an image, a table pipe."""


# --- the helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://e")', '\'=HYPERLINK("http://e")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-0.5", "-0.5"),
        ("+1e-05", "+1e-05"),
        ("-", "-"),
        ("w[1,1,1]", "w[1,1,1]"),
        (-0.5, -0.5),
        (None, None),
    ],
)
def test_csv_cell_marks_formulas_as_text_and_keeps_numbers(cell: object, written: object) -> None:
    assert csv_cell(cell) == written


def test_markdown_text_opens_no_tag_link_image_code_or_cell() -> None:
    text = markdown_text(HOSTILE + " `code`\nnext line")
    assert not active_markdown(text)
    assert "\n" not in text
    assert text.startswith("\\x1b\\[2J\\x1b\\[H&lt;img")


def active_markdown(text: str) -> list[str]:
    """What in ``text`` a Markdown renderer (or a terminal) would act on."""
    unescaped = re.compile(r"(?<!\\)(?:\\\\)*([<>|`\[\]]|\x1b)")
    return [match.group(1) for match in unescaped.finditer(text)]


def test_markdown_code_cannot_be_closed_from_inside() -> None:
    assert markdown_code("fixtures/a.json") == "`fixtures/a.json`"
    assert markdown_code("a`b") == "``a`b``"
    assert markdown_code("`a") == "`` `a ``"


def test_terminal_text_shows_control_characters() -> None:
    assert terminal_text(f"a{CLEAR}b\n\u202ec") == "a\\x1b[2J\\x1b[Hb\\x0a\\u202ec"
    assert terminal_text(f"a{ESC}b\n\tc", lines=True) == "a\\x1bb\n\tc"
    assert terminal_text("w[1,1,1] = 0.15 é") == "w[1,1,1] = 0.15 é"


def test_text_tables_escape_every_cell_and_header() -> None:
    table = text_table([f"engine{ESC}"], [[f"{CLEAR}"], ["-0.5"]])
    assert ESC not in table
    assert "\\x1b[2J" in table


# --- where text from outside is written ----------------------------------------------------


def hostile_fixture(tmp_path: Path) -> Path:
    document: dict[str, Any] = copy.deepcopy(VALID)
    document["title"] = HOSTILE
    document["source"]["where"] = '=HYPERLINK("http://evil","click")'
    document["claims"][0].update(
        printed="0.6", expect="mismatch", note=f"@SUM(1+1) {HOSTILE}", where=HOSTILE
    )
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(document))
    return path


def test_explain_prints_fixture_text_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """explain printed titles raw: ANSI escapes cleared the terminal, HTML and links passed."""
    path = hostile_fixture(tmp_path)
    for output_format in ("md", "html"):
        assert main(["explain", str(path), "--format", output_format]) == 0
        out = capsys.readouterr().out
        assert ESC not in out, output_format
        assert "<img" not in out, output_format
        if output_format == "md":
            assert "](javascript" not in out.replace("\\](", ""), out


def test_report_csv_and_markdown_are_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CSV cells starting with = + - @ were written verbatim, and Markdown passed HTML links."""
    path = hostile_fixture(tmp_path)
    out = tmp_path / "report"
    code = main(["report", str(path), "--out", str(out), "--format", "md,csv", "--engine", "loops"])
    assert code == 0, capsys.readouterr().err
    cells = [
        cell
        for table in sorted((out / "csv").glob("*.csv"))
        for row in csv.reader(table.read_text("utf-8").splitlines())
        for cell in row
    ]
    formulas = [c for c in cells if c[:1] in ("=", "+", "-", "@") and c not in ("-",)]
    assert all(_is_number(c) for c in formulas), formulas
    assert "'@SUM(1+1) " + HOSTILE in cells
    markdown = (out / "report.md").read_text("utf-8")
    assert ESC not in markdown and "<img" not in markdown
    assert "](javascript" not in markdown.replace("\\](", "")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_compare_prints_engine_names_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """compare printed engine-supplied names raw."""
    old = {
        "$schema": "run-result-v1.schema.json",
        "bpcheck": "0",
        "engines": {f"evil{CLEAR}": {"version": "1", "available": True, "reason": None}},
        "fixtures": [],
    }
    new = {**old, "engines": {}}
    paths = [tmp_path / "old.json", tmp_path / "new.json"]
    for path, data in zip(paths, (old, new), strict=True):
        path.write_text(json.dumps(data))
    assert main(["compare", *map(str, paths)]) == 1
    out = capsys.readouterr().out
    assert ESC not in out
    assert "evil\\x1b[2J\\x1b[H" in out


def test_error_lines_show_control_characters_in_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"bad{ESC}[2J.json"
    path.write_text("[]")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert ESC not in err and "bad\\x1b[2J.json" in err
