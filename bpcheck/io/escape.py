"""Text from outside made inert in each format bpcheck writes: CSV, Markdown, the terminal.

Titles, notes, ``where``, paths and an engine's names and messages are data:
a fixture or an engine can hold anything.  Written raw, a CSV cell ``=HYPERLINK(...)``
becomes a formula in a spreadsheet, ``<img onerror=...>`` or ``[x](javascript:...)``
becomes markup in a rendered Markdown file, and ``ESC [2J`` clears the reader's
terminal.  One helper per format, used wherever that format is written:

* :func:`csv_cell`: a text cell starting with ``= + - @`` (or a tab or carriage
  return) gets a leading ``'``, as spreadsheets themselves mark text, unless it
  is a plain number (``-0.5`` stays a number);
* :func:`markdown_text`: HTML special characters as entities, backslashes,
  brackets, table pipes and backticks escaped, one line: no tag, link, image or
  code span can open, and no table cell can end early;
* :func:`terminal_text`: control characters (ESC, the C0 and C1 sets, DEL) and
  the bidirectional overrides shown as ``\\x1b``-style escapes.

:func:`markdown_code` puts a path in a code span that nothing in it can close.

HTML is not here: Jinja2 templates autoescape every value.  This module imports
nothing of bpcheck, so every layer that writes output can use it.
"""

from __future__ import annotations

import html
import re
import textwrap

__all__ = ["csv_cell", "markdown_code", "markdown_text", "markdown_wrapped", "terminal_text"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's list)."""

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters, DEL, and the marks and overrides that reorder text."""

_CONTROLS_BUT_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)

_MARKDOWN_SPECIAL = re.compile(r"([\\`\[\]|])")


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs: text starting like a formula gets a ``'``.

    Numbers (and text that is a plain number, such as ``"-0.5"``) and ``"-"``, the
    placeholder for "none", are kept as they are.
    """
    if not isinstance(value, str) or value == "-" or _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def terminal_text(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), never sent raw.

    ``lines`` keeps line breaks (``\\n``) and tabs, for a whole page of output.
    """
    return (_CONTROLS_BUT_LINES if lines else _CONTROLS).sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown on one line: no HTML, link, image, code or table break.

    Control characters are escaped as for the terminal (Markdown is often read there).
    """
    text = html.escape(" ".join(text.split()), quote=False)
    return terminal_text(_MARKDOWN_SPECIAL.sub(r"\\\1", text))


def markdown_code(text: str) -> str:
    """``text`` as a Markdown code span on one line, shown literally whatever it holds.

    The fence is one backtick longer than the longest run of backticks inside.
    """
    text = terminal_text(" ".join(text.split()))
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_BLOCK_START = re.compile(r"[-+*>=]+|#.*|[0-9]+[.)]")
"""A word that, first on a line, would start a list, a quote or a heading in Markdown."""

_GLUE = "\x00"


def markdown_wrapped(text: str, width: int, first: str = "", rest: str = "") -> str:
    """``text`` as literal Markdown (:func:`markdown_text`) in lines of at most ``width``.

    ``first`` and ``rest`` indent the first and the following lines (a list item's
    ``"1. "`` and ``"   "``).  No line starts with a word that would open a list, a
    quote or a heading (``- 0.5``): such a word stays on the line before.  Only a
    single word longer than ``width`` makes a longer line.
    """
    words = markdown_text(text).split(" ")
    if _BLOCK_START.fullmatch(words[0]):
        at = len(words[0]) - 1 if words[0][0].isdigit() else 0
        words[0] = words[0][:at] + "\\" + words[0][at:]
    glued = words[:1]
    for word in words[1:]:
        if _BLOCK_START.fullmatch(word):
            glued[-1] += _GLUE + word
        else:
            glued.append(word)
    lines = textwrap.wrap(
        " ".join(glued),
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(line.replace(_GLUE, " ") for line in lines) or first.rstrip()
