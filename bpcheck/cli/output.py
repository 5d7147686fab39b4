"""Standard output with colour at a terminal and plain text everywhere else (rich).

Colour helps a person scan a table for what is wrong; a pipe, a file or a CI log
must get exactly the text, byte for byte, that tests compare.  rich decides
(a terminal, ``NO_COLOR``, ``FORCE_COLOR``), and nothing here wraps or crops a
line: the tables are as wide as their contents, as in plain text.

Everything printed is plain text first (``text_table``, with control characters
already escaped): colour is laid over it, cell by cell, never built into it, and
rich never reads markup or emoji codes in it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from bpcheck.io.escape import terminal_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

GOOD = "green"
NOTE = "yellow"
BAD = "bold red"

VERDICT_STYLES = {"match": GOOD, "truncated": NOTE, "mismatch": BAD}
"""The colours of the HTML report's verdict cells, on the terminal."""


def console() -> Console:
    """Standard output as it is now (tests replace it): colour only if it is a terminal."""
    # --help imports every command module, and this one with them: rich loads when one prints
    from rich.console import Console

    return Console(
        file=sys.stdout,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=True,
    )


def say(text: str, style: str = "") -> None:
    """Print ``text`` (control characters escaped) in ``style``, when colour is on."""
    from rich.text import Text

    console().print(Text(terminal_text(text, lines=True), style=style))


def columns(table: str) -> list[tuple[int, int]]:
    """Where each column of a :func:`~bpcheck.checking.results.text_table` is: its rule's dashes."""
    rule = table.splitlines()[1]
    spans, start = [], None
    for i, char in enumerate(rule + " "):
        if char == "-" and start is None:
            start = i
        elif char != "-" and start is not None:
            spans.append((start, i))
            start = None
    return spans


def styled_table(table: str, styles: list[list[str]], header: str = "bold") -> Text:
    """``table`` (a ``text_table``) with ``styles[row][column]`` laid over its body cells."""
    from rich.text import Text

    text = Text(table)
    spans = columns(table)
    lines = table.splitlines()
    offset = 0
    for number, line in enumerate(lines):
        row = number - 2
        for column, (start, end) in enumerate(spans):
            style = header if number == 0 else (styles[row][column] if row >= 0 else "")
            end = min(end, len(line))
            if style and start < end:
                text.stylize(style, offset + start, offset + end)
        offset += len(line) + 1
    return text


def show(text: Text) -> None:
    console().print(text)
