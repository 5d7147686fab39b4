"""A progress bar for long runs on a terminal, and silence everywhere else.

Logs, CI output and files must not fill with carriage returns, so the bar only
shows when standard error is a terminal and ``CI`` is unset.  It is a plain
``\\r`` line: bpcheck adds no dependency for it.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import TextIO

WIDTH = 24
"""Characters in the bar itself."""


def wanted(stream: TextIO | None = None) -> bool:
    """Whether a bar belongs on ``stream``: a terminal, and not a CI job."""
    stream = sys.stderr if stream is None else stream
    return stream.isatty() and "CI" not in os.environ


class Progress:
    """``with Progress(n, "checking") as bar: ... bar.advance(name)``: one line, redrawn.

    ``enabled`` defaults to :func:`wanted`; the line is cleared on exit so the
    output that follows starts on a clean line.
    """

    def __init__(
        self, total: int, label: str, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.total = total
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.done = 0
        self._width = 0

    def __enter__(self) -> Progress:
        self._draw("")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()

    def advance(self, item: str = "") -> None:
        """One more item done; ``item`` names it on the line."""
        self.done += 1
        self._draw(item)

    def line(self, item: str) -> str:
        """The text of the bar, e.g. ``checking [######------] 3/12 mazur-2015``."""
        filled = WIDTH * self.done // self.total if self.total else WIDTH
        bar = "#" * filled + "-" * (WIDTH - filled)
        return f"{self.label} [{bar}] {self.done}/{self.total} {item}".rstrip()

    def _draw(self, item: str) -> None:
        if not self.enabled:
            return
        text = self.line(item)
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + padding)
        self.stream.flush()
