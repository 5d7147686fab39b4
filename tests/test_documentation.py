"""The documentation a person reads: every relative link leads somewhere, no line scrolls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXED = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "fixtures" / "README.md"]
FIXED += [ROOT / "reports" / "README.md"]
PAGES = sorted([*FIXED, *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(<?([^)>\s]+)>?\)|^\[[^\]]+\]: <?([^>\s]+)>?$", re.MULTILINE)


def headings(page: Path) -> set[str]:
    """The anchors a code host gives the page's headings (GitHub's rule, ASCII headings)."""
    found = set()
    for line in page.read_text("utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^a-z0-9 _-]", "", text).replace(" ", "-"))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    text = page.read_text("utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists() or (
            anchor and where.suffix == ".md" and anchor not in headings(where)
        ):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_line_is_over_200_characters(page: Path) -> None:
    for number, line in enumerate(page.read_text("utf-8").splitlines(), start=1):
        assert len(line) <= 200, f"{page.relative_to(ROOT)}:{number}: {len(line)} characters"


def test_the_readme_is_a_front_page() -> None:
    """Short, with the set-up commands, and a link to every page of docs/."""
    text = (ROOT / "README.md").read_text("utf-8")
    assert len(text.split()) < 1200
    assert "python3.11 -m venv .venv" in text and 'pip install -e ".[all]"' in text
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "README.md":
            assert f"(docs/{page.name})" in text, f"the README does not lead to {page.name}"


@pytest.mark.slow  # every engine on every bundled fixture
def test_the_readme_shows_what_bpcheck_run_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bpcheck.cli.main import main

    text = (ROOT / "README.md").read_text("utf-8")
    shown = text.split("$ bpcheck run fixtures/\n")[1].split("\n```")[0]
    monkeypatch.chdir(ROOT)
    assert main(["run", "fixtures/"]) == 0
    printed = capsys.readouterr().out.rstrip("\n")
    assert shown == printed, "the README's screenful of `bpcheck run fixtures/` is out of date"
