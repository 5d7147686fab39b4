"""`bpcheck report`: contents, escaping, formats, the committed reports, progress, rendering."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import check_fixture
from bpcheck.checking.results import run_result
from bpcheck.cli.main import main as bpcheck
from bpcheck.io.loader import load, load_all
from bpcheck.report.committed import same
from bpcheck.report.write import tracked

pytestmark = pytest.mark.slow  # building the report runs every engine on every fixture first

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "reports"
SMALL = ROOT / "fixtures" / "babin" / "babin-comment-w2.json"
HOSTILE = "<script>alert(1)</script>"
REGENERATE = "run `bpcheck sync` (or `tox -e sync`) to regenerate them"


@pytest.fixture(scope="module")
def extra() -> None:
    """The ``report`` extra; without it these tests have nothing to test."""
    for name in ("pandas", "matplotlib"):
        pytest.importorskip(name, reason=f"{name} is missing: bpcheck[report] is not installed")


def main(argv: list[str]) -> int:
    """``bpcheck report ...`` as a user runs it (bad input is exit 2, one line per problem)."""
    return bpcheck(["report", *argv])


def saved_run(path: Path, fixtures: list[Path], engine: str = "loops") -> Path:
    """``bpcheck run --json`` results of ``fixtures`` written to ``path``."""
    engines = registry.select([engine])
    results = run_result(engines, [check_fixture(load(f), engines) for f in fixtures])
    path.write_text(json.dumps(results.to_json()))
    return path


def small_copy(folder: Path, edit: dict[str, Any] | None = None) -> Path:
    """The small babin-comment-w2 fixture, copied (and edited) into ``folder``."""
    document = json.loads(SMALL.read_text())
    document["$schema"] = "fixture-v1.schema.json"
    for key, value in (edit or {}).items():
        document[key] = value
    path = folder / "small.json"
    path.write_text(json.dumps(document))
    return path


# --- the full report of the bundled fixtures (made once) ------------------------------------


def committed_volatile() -> dict[str, Any] | None:
    from bpcheck.report.write import volatile_values

    path = COMMITTED / "report.json"
    return volatile_values(json.loads(path.read_text())) if path.exists() else None


@pytest.fixture(scope="module")
def full(extra: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of fixtures/ as `bpcheck sync` makes it, with the committed volatile metadata."""
    from bpcheck.report.committed import request
    from bpcheck.report.write import generate

    out = tmp_path_factory.mktemp("full")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        generate(request(out, committed_volatile()))
    return out


def test_the_report_has_every_part(full: Path) -> None:
    text = (full / "report.md").read_text()
    for heading in (
        "## Run",
        "## Summary: fixture by engine",
        "## Verdicts per document",
        "## Errata found in the documents",
        "## Gradient checks",
        "## Loss curves",
        "### mazur-2015",
    ):
        assert heading in text
    assert "![loss curve of mazur-2015](img/loss-mazur-2015.png)" in text
    assert (full / "img" / "loss-mazur-2015.png").read_bytes().startswith(b"\x89PNG")
    tables = json.loads((full / "report.json").read_text())["tables"]
    claims = tables["fixture-mazur-2015"]["rows"]
    first = next(c for c in claims if c["claim"] == "E_total-after-1")
    assert first["printed"] == "0.291027924" and first["verdict"] == "mismatch"
    assert first["quantity"] == "E_total" and first["canonical"] == "E"
    assert math.isclose(first["units off"], -150.3, abs_tol=0.1)
    assert {"loops", "matrices", "autodiff", "reference", "note"} <= set(first)


def test_the_markdown_lists_every_erratum_of_the_documents(full: Path) -> None:
    fixtures, errors = load_all([ROOT / "fixtures"])
    assert not errors
    wanted_rows = {
        (f.id, c.id) for f in fixtures for c in f.claims if c.expect in ("truncated", "mismatch")
    }
    assert wanted_rows, "the bundled fixtures record no errata"
    text = (full / "report.md").read_text()
    section = text.split("## Errata found in the documents")[1].split("\n## ")[0]
    first = section.split("*Continued:*")[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in first.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    header, rows = rows[0], rows[1:]
    fixture, claim = header.index("fixture"), header.index("claim")
    listed = {(row[fixture], row[claim]) for row in rows}
    assert listed == wanted_rows


def test_csv_keeps_full_precision(full: Path) -> None:
    with (full / "csv" / "fixture-babin.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    row = next(r for r in rows if r["claim"] == "out_h1")
    assert row["loops"] == f"{float(row['loops']):.17g}"
    assert len(row["loops"].lstrip("0.")) >= 15
    assert row["printed"] == "0.5932"


# --- the committed reports ------------------------------------------------------------------


def test_the_committed_reports_are_up_to_date(full: Path) -> None:
    """reports/ matches a fresh report, ignoring what changes between days and machines.

    Ignored: the metadata in ``bpcheck.report.write.VOLATILE`` (date; Python, NumPy, JAX, pandas,
    matplotlib, tabulate versions; the fixtures' git commit) and the engines' versions (they
    name NumPy's and JAX's), which the fresh report takes over from the committed one; the
    PNG bytes of the loss curves (they depend on matplotlib and FreeType; their data are
    compared in csv/loss-*.csv and report.json); numbers in CSV and JSON within 1e-9
    relative (engines on another machine may differ in the last bits); the errors of
    passing gradient checks (below 1e-6, shown as 1.23e-12 in Markdown and HTML), which
    are rounding noise.
    """
    if not COMMITTED.exists():
        pytest.fail(f"reports/ is missing: {REGENERATE}")
    committed = json.loads((COMMITTED / "report.json").read_text())
    here = registry.all_engines()
    used = [r["engine"] for r in committed["tables"]["engines"]["rows"] if r["available"] == "yes"]
    missing = [name for name in used if name not in here or not here[name].available().available]
    if missing:
        pytest.skip(f"the committed reports were made with {', '.join(missing)}, unavailable here")
    old = {p.relative_to(COMMITTED) for p in COMMITTED.rglob("*") if p.is_file()}
    new = {p.relative_to(full) for p in full.rglob("*") if p.is_file()}
    assert old == new, f"files differ ({sorted(map(str, old ^ new))}): {REGENERATE}"
    stale = [str(name) for name in sorted(old) if not same(COMMITTED / name, full / name)]
    assert not stale, f"out of date: {', '.join(stale)}: {REGENERATE}"


def test_the_committed_html_stays_small() -> None:
    if not COMMITTED.exists():
        pytest.skip("reports/ not generated yet")
    assert (COMMITTED / "report.html").stat().st_size < 400_000


# --- escaping -------------------------------------------------------------------------------


def test_fixture_text_is_escaped_in_html_and_markdown(extra: None, tmp_path: Path) -> None:
    document = json.loads(SMALL.read_text())
    claims = document["claims"]
    wrong = next(c for c in claims if c.get("expect") == "mismatch")
    wrong["note"] = f"{HOSTILE} & a | pipe"
    wrong["where"] = f"where {HOSTILE}"
    source = dict(document["source"], where=HOSTILE, document=f"doc{HOSTILE}.txt")
    path = small_copy(tmp_path, {"title": f"Title {HOSTILE}", "claims": claims, "source": source})
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--engine", "loops", "--format", "md,html"]) == 0
    page = (out / "report.html").read_text()
    assert HOSTILE not in page
    assert page.count("<script") == 1, "only the report's own sorter may be a script"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Title &lt;script&gt;" in page
    text = (out / "report.md").read_text()
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; a \\| pipe" in text


# --- formats, options, input ----------------------------------------------------------------


def test_default_formats_are_markdown_html_and_csv(extra: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main([str(SMALL), "--out", str(out), "--engine", "loops"]) == 0
    assert (out / "report.md").exists() and (out / "report.html").exists()
    assert (out / "csv" / "fixture-babin-comment-w2.csv").exists()
    assert not (out / "report.json").exists()


def test_a_report_from_saved_results_equals_a_direct_one(extra: None, tmp_path: Path) -> None:
    saved = saved_run(tmp_path / "run.json", [SMALL])
    assert main([str(SMALL), "--out", str(tmp_path / "a"), "--engine", "loops"]) == 0
    assert main(["--from", str(saved), "--out", str(tmp_path / "b")]) == 0
    for name in ("fixture-babin-comment-w2.csv", "errata.csv", "summary.csv", "documents.csv"):
        a = (tmp_path / "a" / "csv" / name).read_text()
        assert a == (tmp_path / "b" / "csv" / name).read_text(), name


def test_saved_shards_are_merged(extra: None, tmp_path: Path) -> None:
    other = ROOT / "fixtures" / "babin" / "babin-comment-w4.json"
    shards = []
    for fixture in (SMALL, other):
        shards += ["--from", str(saved_run(tmp_path / fixture.name, [fixture]))]
    assert main([*shards, "--out", str(tmp_path / "out"), "--format", "csv"]) == 0
    with (tmp_path / "out" / "csv" / "summary.csv").open() as handle:
        fixtures = [row["fixture"] for row in csv.DictReader(handle)]
    assert fixtures == ["babin-comment-w2", "babin-comment-w4"]
    assert main([*shards, *shards[:2], "--out", str(tmp_path / "again")]) == 2


def test_failures_only_shows_only_the_claims_not_as_expected(extra: None, tmp_path: Path) -> None:
    document = json.loads(SMALL.read_text())
    claims = document["claims"]
    claims[0]["expect"], claims[0]["note"] = "mismatch", "planted: expects the wrong verdict"
    path = small_copy(tmp_path, {"claims": claims})
    out = tmp_path / "out"
    code = main([str(path), "--out", str(out), "--engine", "loops", "--failures-only"])
    assert code == 1, "a fixture not ok fails the report, as it fails `bpcheck run`"
    with (out / "csv" / "fixture-babin-comment-w2.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["claim"] for r in rows] == [claims[0]["id"]]
    assert rows[0]["outcome"] == "failed"
    with (out / "csv" / "summary.csv").open() as handle:
        summary = next(csv.DictReader(handle))
    assert (summary["ok"], summary["failed"]) == (str(len(claims) - 1), "1")


GRADCHECK = {
    "$schema": "https://bpcheck.invalid/schema/gradcheck-result-v1.schema.json",
    "bpcheck": "0.1.0",
    "gradcheck": [
        {
            "fixture": "babin-comment-w2",
            "path": "fixtures/babin/babin-comment-w2.json",
            "engine": "loops",
            "step": 0,
            "method": "mpmath",
            "outcome": "ok",
            "reason": None,
            "worst_relative_error": 3.25e-11,
            "rows": [
                {
                    "parameter": "w[1,1,1]",
                    "engine": 0.5,
                    "reference": 0.50000000001,
                    "abs_error": 1e-11,
                    "rel_error": 2e-11,
                    "tolerance": 1e-7,
                    "status": "pass",
                    "one_sided": None,
                },
                {
                    "parameter": "b[1]",
                    "engine": -1.5,
                    "reference": -1.5,
                    "abs_error": 0.0,
                    "rel_error": 3.25e-11,
                    "tolerance": 1e-7,
                    "status": "pass",
                    "one_sided": None,
                },
            ],
        },
        {
            "fixture": "babin-comment-w2",
            "path": "fixtures/babin/babin-comment-w2.json",
            "engine": "autodiff",
            "step": 0,
            "method": "mpmath",
            "outcome": "skipped",
            "reason": "jax is not installed",
            "worst_relative_error": None,
            "rows": [],
        },
    ],
}


def test_gradient_check_results_are_reported(extra: None, tmp_path: Path) -> None:
    grad = tmp_path / "grad.json"
    grad.write_text(json.dumps(GRADCHECK))
    out = tmp_path / "out"
    argv = [str(SMALL), "--out", str(out), "--engine", "loops", "--gradcheck", str(grad)]
    assert main([*argv, "--format", "md,csv"]) == 0
    text = (out / "report.md").read_text()
    section = text.split("## Gradient checks")[1].split("\n## ")[0]
    assert "3.25e-11" in section and "jax is not installed" in section
    with (out / "csv" / "gradcheck-rows.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["parameter"] for r in rows] == ["w[1,1,1]", "b[1]"]
    assert float(rows[0]["reference"]) == 0.50000000001


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--format", "md,pdf"], "--format: expected some of md, html, csv, json"),
        (["--engine", "nope"], "--engine: unknown engine 'nope'"),
        (["--from", "x.json"], "expected fixture PATHs or --from FILE"),
        (["--gradcheck", "GRAD"], "grad.json: $: missing field: '$schema'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    extra: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    grad = tmp_path / "grad.json"
    grad.write_text(json.dumps({"gradcheck": [{"fixture": "f", "engine": "loops"}]}))
    argv = [str(grad) if a == "GRAD" else a for a in argv]
    assert main([str(SMALL), "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists(), "nothing is written for bad input"


def test_a_missing_extra_is_named_with_its_install_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    assert main([str(SMALL), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bpcheck report needs pandas") and len(err.splitlines()) == 1
    assert err.endswith(": pip install 'bpcheck[report]'")


# --- loss curves ----------------------------------------------------------------------------


def test_loss_curve_png_is_reproducible(extra: None) -> None:
    from bpcheck.report.curves import compute_curve, curve_steps, draw

    fixture = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    curve = compute_curve(fixture, registry.select(["loops"]))
    assert curve.engine == "loops" and curve.steps[0] == 0 and curve.steps[-1] == 10000
    assert 45 <= len(curve.steps) <= 55 and curve.losses[-1] < curve.losses[0]
    assert (1, "0.291027924") in curve.printed
    png = draw(curve)
    assert png == draw(curve)
    assert b"Software" not in png and b"matplotlib" not in png
    assert curve_steps(0) == [0] and curve_steps(1) == [0, 1]


# --- progress -------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    assert list(tracked(["a", "b"], "checking")) == ["a", "b"]
    assert "checking" in stream.getvalue()


def test_progress_is_quiet_off_a_terminal(
    extra: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert list(tracked(["a", "b"], "checking")) == ["a", "b"]
    assert main([str(SMALL), "--out", str(tmp_path / "out"), "--engine", "loops"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert re.fullmatch(
        rf"\d+ file\(s\) written to {re.escape(str(tmp_path / 'out'))}\n", captured.out
    )
