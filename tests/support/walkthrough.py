"""The README's walkthrough, read from wherever its markers stand (README.md or docs/*.md)."""

from __future__ import annotations

import shlex
from pathlib import Path

START, END = "<!-- walkthrough:start -->", "<!-- walkthrough:end -->"


def walkthrough_file(root: Path) -> Path:
    """The page holding the walkthrough: README.md first, then the pages of docs/."""
    for page in (root / "README.md", *sorted((root / "docs").glob("*.md"))):
        if page.is_file() and START in page.read_text("utf-8"):
            return page
    raise AssertionError(f"no page of {root} holds {START}")


def walkthrough_commands(root: Path) -> list[list[str]]:
    """The shell commands between the walkthrough markers, continuations joined."""
    text = walkthrough_file(root).read_text("utf-8")
    block = text.split(START)[1].split(END)[0]
    body = block.split("```sh")[1].split("```")[0].replace("\\\n", " ")
    return [shlex.split(line) for line in body.strip().splitlines()]
