"""Progress on standard error, only at a terminal: one helper for every command that waits.

A person at a terminal should see that ``bpcheck diagnose`` (tens of seconds) or
``gradcheck`` is working and how far it is; a log, a CI job or a redirected file
should see nothing of it.  So the bar (rich) is drawn on standard error, only when
standard error is a terminal, and cleared when done: what the command prints
afterwards starts on a clean line, and standard output never holds any of it.

While a bar is shown, what the command prints on standard output goes above the
bar when standard output is the same kind of thing (a terminal); a standard output
redirected to a file is left alone, so the file gets exactly the command's output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from bpcheck.io.escape import terminal_text

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

__all__ = ["at_terminal", "tracked", "working"]

Item = TypeVar("Item")


def at_terminal() -> bool:
    """Whether standard error is a terminal (where progress is drawn)."""
    return sys.stderr.isatty()


def _label(text: str) -> str:
    """``text`` (a fixture id, say) as rich shows it: no markup, no control character."""
    from rich.markup import escape

    return escape(terminal_text(text))


def _progress(*columns: ProgressColumn) -> Progress:
    # rich loads only at a terminal: it costs 50 ms, a tenth of `bpcheck validate`.
    from rich.console import Console
    from rich.progress import Progress

    return Progress(
        *columns,
        console=Console(stderr=True, highlight=False),
        transient=True,
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=False,
    )


def tracked(
    items: Sequence[Item], label: str, name: Callable[[Item], str] | None = None
) -> Iterator[Item]:
    """``items`` one by one, with a bar (``label``, ``3/12``, and ``name(item)`` while it runs).

    Nothing at all is drawn unless standard error is a terminal.
    """
    if not at_terminal():
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    columns: tuple[ProgressColumn, ...] = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[item]}"),
    )
    with _progress(*columns) as progress:
        task = progress.add_task(_label(label), total=len(items), item="")
        for item in items:
            progress.update(task, item=_label(name(item)) if name else "", refresh=True)
            yield item
            progress.advance(task)


@contextmanager
def working(label: str) -> Iterator[None]:
    """A spinner with ``label`` while the block runs (for work that has no steps to count)."""
    if not at_terminal():
        yield
        return
    from rich.progress import SpinnerColumn, TextColumn

    with _progress(SpinnerColumn(), TextColumn("{task.description}")) as progress:
        progress.add_task(_label(label), total=None)
        yield
