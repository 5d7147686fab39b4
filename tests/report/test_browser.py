"""The HTML report in a real browser: headless Chromium loads it, sorts a table, shows colours.

Without Chromium these tests skip and say why, unless ``BPCHECK_REQUIRE_BROWSER=1`` (set
by ``.ci/run``, which installs Debian's ``chromium``): then a missing browser fails them,
so CI cannot pass without the page having been seen.  The screenshot is kept as an
artefact in ``$BPCHECK_ARTIFACTS`` (else the test's temporary folder), and its path
printed.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bpcheck.cli.main import main

pytestmark = pytest.mark.slow  # a report is made, and Chromium started, for each test

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = [ROOT / "fixtures" / "mazur", ROOT / "fixtures" / "babin" / "babin.json"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
REQUIRE = "BPCHECK_REQUIRE_BROWSER"
ARTIFACTS = "BPCHECK_ARTIFACTS"

BACKGROUNDS = {
    "s-match": (218, 251, 225),
    "s-ok": (218, 251, 225),
    "s-truncated": (255, 248, 197),
    "s-mismatch": (255, 235, 233),
}
"""The background of each verdict's cells (``report.css``), as the browser computes it."""


def browser() -> str | None:
    """``$BPCHECK_BROWSER``, or the first Chromium on the PATH."""
    if os.environ.get("BPCHECK_BROWSER"):
        return os.environ["BPCHECK_BROWSER"]
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = browser()
    if found is None:
        reason = f"no headless Chromium here ({', '.join(BROWSERS)}; apt-get install chromium)"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {reason}")
        pytest.skip(f"{reason}: cannot render the HTML report")
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of Mazur's and Babin's fixtures (matches, truncations, mismatches)."""
    pytest.importorskip("pandas", reason="bpcheck[report] is not installed")
    out = tmp_path_factory.mktemp("report")
    argv = ["report", *map(str, FIXTURES), "--out", str(out), "--format", "html"]
    assert main([*argv, "--engine", "loops", "--engine", "matrices"]) == 0
    return out / "report.html"


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(ARTIFACTS) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_chromium(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


PROBE = """<script>
(function () {
  var table = document.querySelector("#t-errata");
  var headers = Array.prototype.map.call(table.tHead.rows[0].cells, function (h) {
    return h.textContent;
  });
  var index = headers.indexOf("units off");
  var th = table.tHead.rows[0].cells[index];
  function column() {
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return row.cells[index].textContent;
    });
  }
  var found = {before: column()};
  th.click();
  found.ascending = column();
  found.first = th.getAttribute("aria-sort");
  th.click();
  found.descending = column();
  found.second = th.getAttribute("aria-sort");
  found.colours = {};
  ["s-match", "s-ok", "s-truncated", "s-mismatch"].forEach(function (name) {
    var cell = document.querySelector("td." + name);
    found.colours[name] = cell ? getComputedStyle(cell).backgroundColor : null;
  });
  document.body.setAttribute("data-probe", JSON.stringify(found));
})();
</script></body>"""


def probed(chromium: str, page: Path, tmp_path: Path) -> dict[str, Any]:
    """What :data:`PROBE` found in the page, run after the page's own script."""
    text = page.read_text()
    assert text.count("</body>") == 1
    clicked = tmp_path / "clicked.html"
    clicked.write_text(text.replace("</body>", PROBE))
    done = run_chromium(chromium, tmp_path / "profile", "--dump-dom", clicked.as_uri())
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, f"the page's script did not run: {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def test_a_click_on_a_header_sorts_the_column(chromium: str, page: Path, tmp_path: Path) -> None:
    found = probed(chromium, page, tmp_path)
    numbers = [float(text) for text in found["ascending"]]
    assert len(numbers) >= 10 and numbers == sorted(numbers) and numbers[0] < 0 < numbers[-1]
    assert [float(text) for text in found["descending"]] == sorted(numbers, reverse=True)
    assert found["ascending"] != found["before"], "the table was sorted already"
    assert (found["first"], found["second"]) == ("ascending", "descending")


def test_verdict_cells_carry_their_colours(chromium: str, page: Path, tmp_path: Path) -> None:
    colours = probed(chromium, page, tmp_path)["colours"]
    for name, (r, g, b) in BACKGROUNDS.items():
        assert colours[name] == f"rgb({r}, {g}, {b})", (name, colours)


def test_the_screenshot_shows_the_colours(chromium: str, page: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    shot = artifacts(tmp_path) / "report-screenshot.png"
    shot.unlink(missing_ok=True)
    done = run_chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1600,2400",
        "--hide-scrollbars",
        page.as_uri(),
    )
    assert shot.exists(), f"Chromium wrote no screenshot: {done.stderr[-2000:]}"
    print(f"screenshot of the HTML report: {shot}")
    pixels = (imread(shot)[..., :3] * 255).round()
    assert pixels.shape[:2] == (2400, 1600)
    assert pixels.std() > 20, "the page is blank"
    for name in ("s-ok", "s-mismatch"):  # the summary's ok cells, the first errata's verdicts
        near = (abs(pixels - BACKGROUNDS[name]).max(axis=-1) <= 3).sum()
        assert near > 2000, f"too few pixels of {name} cells ({near}): no colours rendered"


def test_the_page_loads_nothing_from_the_network(page: Path) -> None:
    text = page.read_text()
    tag = r"<(?:img|script|link|iframe|source|video|audio|object|embed)\b[^>]*"
    schemes = re.findall(tag + r"\b(?:src|href|data)=\"([a-z]+):", text)
    assert set(schemes) <= {"data"}, f"the page loads from {schemes}: it must need no network"
    assert "url(" not in text and "@import" not in text
