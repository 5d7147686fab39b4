"""``python -m tests.support.slow_disk ARGS...``: ``bpcheck ARGS...`` on a slow disk, to interrupt.

The fault-injection tests (``tests/io/test_interrupted_writes.py``) send SIGINT or
SIGTERM to a command at a random moment and check that each file it writes is
then either the old or the new complete file.  Writing a small file takes
microseconds, so a signal would almost never land in the middle of one; here
every write to a regular file, every rename and every hard link first waits
``BPCHECK_TEST_SLOW`` seconds (default 0.05), which opens the window a write
that truncates and then writes leaves an empty file in.  ``Path.write_text`` and
``Path.write_bytes`` are slowed the same way, after they truncate the file.

The first slow call writes one byte to the file descriptor given in
``BPCHECK_TEST_WRITES_FD`` (if any), so the test knows writing has begun.  JAX is
hidden: the autodiff engine then reports itself unavailable, and a trial costs
Python's start-up, not JAX's.  For ``sync``, the bug zoo's table is a fixed text: the
zoo's checks take half a minute and write nothing, so a trial would mostly wait for them.
"""

from __future__ import annotations

import os
import pathlib
import stat
import sys
import time
from collections.abc import Callable
from typing import Any

SLOW = float(os.environ.get("BPCHECK_TEST_SLOW", "0.05"))
_announced = False


def pause() -> None:
    """Tell the test (once) that writing has begun, then wait like a slow disk."""
    global _announced
    if not _announced:
        _announced = True
        descriptor = os.environ.get("BPCHECK_TEST_WRITES_FD")
        if descriptor:
            os.write(int(descriptor), b"w")
    time.sleep(SLOW)


def slowed(function: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        pause()
        return function(*args, **kwargs)

    return slow


_write = os.write


def slow_write(descriptor: int, data: Any) -> int:
    """``os.write``, slowed for regular files only (not for pipes or the terminal)."""
    if stat.S_ISREG(os.fstat(descriptor).st_mode):
        pause()
    return _write(descriptor, data)


def slow_write_text(
    self: pathlib.Path,
    data: str,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
) -> int:
    with self.open("w", encoding=encoding, errors=errors, newline=newline) as handle:
        pause()  # truncated, not yet written
        return handle.write(data)


def slow_write_bytes(self: pathlib.Path, data: bytes) -> int:
    with self.open("wb") as handle:
        pause()
        return handle.write(data)


def main() -> int:
    sys.modules["jax"] = None  # type: ignore[assignment]
    os.write = slow_write
    os.replace = slowed(os.replace)
    os.link = slowed(os.link)
    pathlib.Path.write_text = slow_write_text  # type: ignore[method-assign]
    pathlib.Path.write_bytes = slow_write_bytes  # type: ignore[method-assign]
    if sys.argv[1:2] == ["sync"]:
        from bpcheck.diagnose import zoo

        zoo.zoo_table = lambda fixtures: "the zoo table"
    from bpcheck.cli.main import main as bpcheck

    return bpcheck(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
