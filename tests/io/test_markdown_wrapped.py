"""Prose wrapped for Markdown: short lines that stay literal text and open no block."""

from __future__ import annotations

import pytest

from bpcheck.io.escape import markdown_wrapped

TEXT = (
    "From the printed factors 0.45 - 0.5 * 0.7413 = 0.08, as # the formula and > the quote "
    "say; step 2. of <b>it</b> [x](javascript:y) + more"
)


@pytest.mark.parametrize("width", [12, 20, 40, 100])
def test_no_line_is_longer_or_starts_a_block(width: int) -> None:
    lines = markdown_wrapped(TEXT, width, "1. ", "   ").splitlines()
    assert lines[0].startswith("1. ")
    for line in lines:  # longer only for one word, or one word and the sign kept with it
        words = line.strip().split(" ")
        assert len(line) <= width or words[1:] in ([], ["-"], ["+"], ["*"], [">"]), line
    for line in lines[1:]:
        word = line.strip().split(" ")[0]
        assert line.startswith("   ") and word not in {"-", "+", "*", ">", "#", "2."}, line
    joined = " ".join(line.strip() for line in lines)
    assert "&lt;b&gt;" in joined and "\\[x\\](javascript:y)" in joined


def test_a_text_starting_like_a_list_is_escaped() -> None:
    assert markdown_wrapped("- not a list", 80) == "\\- not a list"
    assert markdown_wrapped("3. not an item", 80) == "3\\. not an item"
    assert markdown_wrapped("", 80, "1. ") == "1."
