"""Reports a person reads: lines that fit a code host, an index, gradient checks, loss curves
that tell two readings apart, and an exit status that says when a fixture fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking import registry
from bpcheck.cli.main import main as bpcheck
from bpcheck.io.loader import load

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "reports"
SMALL = ROOT / "fixtures" / "babin" / "babin-comment-w2.json"
LIMIT = 200


@pytest.fixture(scope="module")
def extra() -> None:
    for name in ("pandas", "matplotlib"):
        pytest.importorskip(name, reason=f"{name} is missing: bpcheck[report] is not installed")


def report(argv: list[str]) -> int:
    return bpcheck(["report", *argv])


def small_copy(folder: Path, change: Any = None) -> Path:
    document = json.loads(SMALL.read_text())
    document["$schema"] = "fixture-v1.schema.json"
    if change is not None:
        change(document)
    path = folder / "small.json"
    path.write_text(json.dumps(document))
    return path


# --- the committed reports --------------------------------------------------------------------


def test_no_line_of_the_committed_markdown_is_over_200_characters() -> None:
    pages = sorted(COMMITTED.glob("*.md"))
    assert {p.name for p in pages} >= {"README.md", "report.md"}
    for page in pages:
        for number, line in enumerate(page.read_text("utf-8").splitlines(), start=1):
            assert len(line) <= LIMIT, f"{page.name}:{number}: {len(line)} characters"


def test_the_committed_reports_have_an_index_and_the_gradient_checks() -> None:
    index = (COMMITTED / "README.md").read_text("utf-8")
    assert "[report.md](report.md)" in index and "[report.html](report.html)" in index
    assert "- Gradient checks: " in index and "not part of this report" not in index
    text = (COMMITTED / "report.md").read_text("utf-8")
    section = text.split("\n## Gradient checks\n")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| mazur-2015 ")]
    assert len(rows) == 8, "four engines (certified among them), at step 0 and at step 10000"
    assert (COMMITTED / "csv" / "gradcheck-rows.csv").is_file()


# --- Markdown that fits -----------------------------------------------------------------------


def wide_table() -> Any:
    import pandas as pd

    from bpcheck.report.tables import INT, VALUE, Table

    rows = [
        {
            "claim": "same",
            "step": i,
            **{f"engine-{k}": 0.1234567890123 * (i + k) for k in range(12)},
            "note": f"note {i % 2}: " + "a long reason - 0.5 * 0.25 " * 12,
        }
        for i in range(3)
    ]
    kinds = {"step": INT} | {f"engine-{k}": VALUE for k in range(12)}
    return Table("wide", "Wide", pd.DataFrame(rows), kinds)


def test_a_wide_table_is_split_and_its_prose_becomes_notes(extra: None) -> None:
    from bpcheck.report.markdown import md_table

    text = md_table(wide_table())
    assert max(len(line) for line in text.splitlines()) <= LIMIT
    parts = text.split("*Continued:*")
    assert len(parts) >= 2, "twelve engine columns do not fit in 200 characters"
    for part in parts:  # each part starts with the row number: "same" tells no row apart
        header = next(line for line in part.splitlines() if line.startswith("|"))
        assert header.startswith("|   row |")
    notes = text.split("Notes, by their number in the table:")[1]
    assert "\n1. note 0: a long reason - 0.5" in notes and "\n2. note 1:" in notes
    assert "\n3. " not in notes, "a note repeated is given once"
    assert all(not line.lstrip().startswith("- ") for line in notes.splitlines())


@pytest.mark.slow  # runs the engines
def test_the_markdown_of_a_report_fits_a_code_host(extra: None, tmp_path: Path) -> None:
    fixtures = [str(ROOT / "fixtures" / name) for name in ("mazur", "babin")]
    assert report([*fixtures, "--out", str(tmp_path), "--format", "md"]) == 0
    for page in (tmp_path / "report.md", tmp_path / "README.md"):
        long = [line for line in page.read_text().splitlines() if len(line) > LIMIT]
        assert not long, f"{page.name}: {long[0][:80]}..."


# --- the index --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_index_names_the_files_written_and_what_failed(extra: None, tmp_path: Path) -> None:
    def wrong(document: dict[str, Any]) -> None:
        document["claims"][0] |= {"expect": "mismatch", "note": "planted: the wrong verdict"}

    out = tmp_path / "out"
    assert report([str(small_copy(tmp_path, wrong)), "--out", str(out), "--format", "md,csv"]) == 1
    index = (out / "README.md").read_text()
    assert "[report.md](report.md)" in index and "[csv/](csv/)" in index
    assert "report.html" not in index and "report.json" not in index
    assert "- Fixtures: 0 ok, 1 not ok (babin-comment-w2)." in index
    assert "[babin-comment-w2](report.md#babin-comment-w2): failed" in index


@pytest.mark.slow
def test_a_readme_no_report_wrote_is_left_alone(
    extra: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("# My project\n")
    assert report([str(SMALL), "--out", str(tmp_path), "--engine", "loops"]) == 0
    assert (tmp_path / "README.md").read_text() == "# My project\n"
    assert (tmp_path / "report.md").is_file()
    out = capsys.readouterr().out
    assert f"{tmp_path / 'README.md'}: kept (no report wrote it)" in out
    assert report([str(SMALL), "--out", str(tmp_path), "--engine", "loops"]) == 0
    assert (tmp_path / "README.md").read_text() == "# My project\n", "nor the next report"


# --- the exit status --------------------------------------------------------------------------


@pytest.mark.slow
def test_report_exits_1_when_a_fixture_fails_and_still_writes_it(
    extra: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def wrong(document: dict[str, Any]) -> None:
        document["claims"][0] |= {"expect": "truncated", "note": "planted: the wrong verdict"}

    out = tmp_path / "out"
    assert report([str(small_copy(tmp_path, wrong)), "--out", str(out), "--engine", "loops"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 fixture(s) not ok: babin-comment-w2"
    assert (out / "report.md").is_file()
    assert report([str(SMALL), "--out", str(out), "--engine", "loops"]) == 0


@pytest.mark.slow
def test_a_failed_gradient_check_fails_the_report(
    extra: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grad = {
        "$schema": "https://bpcheck.invalid/schema/gradcheck-result-v1.schema.json",
        "bpcheck": "0.1.0",
        "gradcheck": [
            {
                "fixture": "babin-comment-w2",
                "path": str(SMALL),
                "engine": "loops",
                "step": 0,
                "method": "central",
                "outcome": "failed",
                "reason": None,
                "worst_relative_error": 0.5,
                "rows": [],
            }
        ],
    }
    path = tmp_path / "grad.json"
    path.write_text(json.dumps(grad))
    argv = [str(SMALL), "--out", str(tmp_path / "out"), "--engine", "loops"]
    assert report([*argv, "--gradcheck", str(path)]) == 1
    out = capsys.readouterr().out
    assert "1 gradient check(s) failed or errored: babin-comment-w2 loops step 0" in out


# --- gradient checks run with the report ------------------------------------------------------


@pytest.mark.slow
def test_check_gradients_runs_them_with_the_report(extra: None, tmp_path: Path) -> None:
    argv = [str(SMALL), "--out", str(tmp_path / "out"), "--engine", "loops", "--format", "md,csv"]
    assert report([*argv, "--check-gradients"]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    section = text.split("\n## Gradient checks\n")[1].split("\n## ")[0]
    assert "| babin-comment-w2 | loops    |      0 | richardson |" in section
    metadata = text.split("\n## Run\n")[1].split("\n## ")[0]
    assert "| gradient checks | run with the report" in metadata
    assert (tmp_path / "out" / "csv" / "gradcheck-rows.csv").is_file()


def test_check_gradients_and_a_gradcheck_file_exclude_each_other(
    extra: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(SMALL), "--out", str(tmp_path / "out"), "--check-gradients"]
    assert report([*argv, "--gradcheck", str(tmp_path / "grad.json")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "--gradcheck: expected a results file or --check-gradients, not both"
    assert not (tmp_path / "out").exists()


# --- loss curves ------------------------------------------------------------------------------


@pytest.mark.slow  # 10,000 steps of the loops engine, twice
def test_the_two_readings_of_mazur_differ_where_their_printed_losses_do(extra: None) -> None:
    from bpcheck.report.curves import VERDICT_COLOURS, curve

    engines = registry.select(["loops"])
    taught = curve(load(ROOT / "fixtures" / "mazur" / "mazur-2015.json"), engines)
    coded = curve(load(ROOT / "fixtures" / "mazur" / "mazur-2015-as-coded.json"), engines)
    at_one = {c.update_order: next(m for m in c.marks if m.step == 1) for c in (taught, coded)}
    assert at_one["simultaneous"].verdict == "mismatch"
    assert -151 < at_one["simultaneous"].units < -150
    assert at_one["sequential"].verdict == "match" and abs(at_one["sequential"].units) < 0.5
    assert taught.png != coded.png
    assert set(VERDICT_COLOURS) == {"match", "truncated", "mismatch"}
    assert {m.verdict for m in taught.marks} == {"match", "mismatch"}


@pytest.mark.slow
def test_each_printed_loss_is_marked_in_its_verdicts_colour(extra: None) -> None:
    """The red of a mismatch appears on the curve of the reading that mismatches, not on the
    other at step 1: read from the PNG's pixels."""
    import io

    from matplotlib.image import imread

    from bpcheck.report.curves import VERDICT_COLOURS, curve

    engines = registry.select(["loops"])
    red = [int(VERDICT_COLOURS["mismatch"][i : i + 2], 16) for i in (1, 3, 5)]
    green = [int(VERDICT_COLOURS["match"][i : i + 2], 16) for i in (1, 3, 5)]
    counts = {}
    for name in ("mazur-2015", "mazur-2015-as-coded"):
        found = curve(load(ROOT / "fixtures" / "mazur" / f"{name}.json"), engines)
        pixels = (imread(io.BytesIO(found.png))[..., :3] * 255).round()
        counts[name] = {
            colour: int((abs(pixels - rgb).max(axis=-1) <= 8).sum())
            for colour, rgb in (("red", red), ("green", green))
        }
    assert counts["mazur-2015"]["red"] > counts["mazur-2015-as-coded"]["red"] > 0
    assert counts["mazur-2015-as-coded"]["green"] > counts["mazur-2015"]["green"] > 0
