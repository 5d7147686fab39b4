"""bpcheck's handle on one worker process: start it, ask it, wait a bounded time, kill it.

The process is ``python -u -m bpcheck.checking.worker`` (see that module for the
protocol), started with :mod:`subprocess` rather than :mod:`multiprocessing`:

* its stdout and stderr are one pipe that a thread here drains, so nothing the
  engine prints (even from C, even as it dies: ``std::bad_alloc``) reaches
  bpcheck's output, the engine never blocks on a full pipe, and the last lines
  are at hand when the engine fails;
* it runs in its own session, so Ctrl-C in the terminal reaches bpcheck only
  (which then stops, killing its workers), and killing the session also kills
  whatever the engine started;
* it does not re-run the parent's ``__main__`` (pytest's, under the plugin), as
  multiprocessing's "spawn" does.

Replies are unpickled with no class allowed (:func:`plain_loads`): a worker can
only send plain data, so reading a reply never imports or runs an engine's code.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import IO, Any

from bpcheck.checking.worker import END_MARK

OUTPUT_KEPT = 16_384
"""Bytes of an engine's output kept per request: enough for its last lines."""

LINES_SHOWN = 3
"""How many of the engine's last output lines a failure's reason quotes."""

LINE_WIDTH = 160

SETTLE = 2.0
"""Seconds to wait for a dead or finished worker's last output and exit status."""


class WorkerFailed(Exception):
    """The worker did not answer: timed out, died or garbled its reply (the message says)."""


class _NoClasses(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} refused: a worker replies with plain data")


def plain_loads(data: bytes) -> Any:
    """Unpickle builtins only (dict, list, tuple, str, int, float, bool, None)."""
    return _NoClasses(io.BytesIO(data)).load()


class OutputTail:
    """What an engine printed, per request, kept short; read by a thread so it never blocks."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._fd = stream.fileno()
        self._buffer = bytearray()
        self._ended: dict[int, bytes] = {}
        self._eof = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(
            target=self._drain, name="bpcheck-engine-output", daemon=True
        )
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 65_536)
            except OSError:
                chunk = b""
            with self._condition:
                if not chunk:
                    self._eof = True
                    self._condition.notify_all()
                    return
                self._buffer += chunk
                self._split()
                self._condition.notify_all()

    def _split(self) -> None:
        """Cut the buffer at each end mark, keeping the tail of the request it ends."""
        prefix, suffix = END_MARK.split(b"%d")
        while (start := self._buffer.find(prefix)) >= 0:
            end = self._buffer.find(suffix, start + len(prefix))
            if end < 0:
                break
            serial = self._buffer[start + len(prefix) : end]
            if serial.isdigit():
                self._ended = {
                    int(serial): bytes(self._buffer[max(0, start - OUTPUT_KEPT) : start])
                }
            del self._buffer[: end + len(suffix)]
        if len(self._buffer) > 2 * OUTPUT_KEPT:
            del self._buffer[:-OUTPUT_KEPT]

    def of_request(self, serial: int) -> str:
        """The last lines request ``serial`` printed (waiting briefly for its end mark)."""
        with self._condition:
            self._condition.wait_for(lambda: serial in self._ended or self._eof, SETTLE)
            return last_lines(self._ended.get(serial, bytes(self._buffer)))

    def at_end(self) -> str:
        """The last lines printed since the last end mark, once the process has gone."""
        self._thread.join(SETTLE)
        with self._condition:
            return last_lines(bytes(self._buffer))

    def finished(self, wait: float) -> bool:
        self._thread.join(wait)
        return not self._thread.is_alive()


def last_lines(data: bytes) -> str:
    """``'line' | 'line'``: the last few non-blank lines, printable and cut short."""
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    shown = [_printable(line) for line in lines if line][-LINES_SHOWN:]
    return " | ".join(shown)


def _printable(line: str) -> str:
    line = "".join(c if c.isprintable() else "?" for c in line)
    return line if len(line) <= LINE_WIDTH else line[: LINE_WIDTH - 3] + "..."


def with_output(reason: str, output: str) -> str:
    return f"{reason}; its last output: {output}" if output else reason


class WorkerProcess:
    """One running ``bpcheck.checking.worker``; :meth:`kill` it and start another to go on."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-u", "-m", "bpcheck.checking.worker", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._connection = Connection(ours.detach())
        assert self._process.stdout is not None
        self._output = OutputTail(self._process.stdout)
        self._serial = 0
        self.alive = True

    def send(self, kind: str, *arguments: object) -> int:
        """Send a request; its serial, to :meth:`receive` the reply with."""
        self._serial += 1
        with contextlib.suppress(OSError):  # the worker has gone; receive() says how
            self._connection.send((kind, self._serial, *arguments))
        return self._serial

    def receive(self, serial: int, timeout: float) -> tuple[str, Any, str]:
        """``(kind, value, output)``: the reply and the request's last output lines.

        :class:`WorkerFailed` if no reply comes within ``timeout`` seconds, the
        process ends, or the reply is not plain data; the worker is then killed.
        Anything else (Ctrl-C) kills the worker too, and goes on up.
        """
        try:
            if not self._connection.poll(timeout):
                output = self._kill()
                raise WorkerFailed(with_output(f"timed out after {timeout:g} s", output))
            data = self._connection.recv_bytes()
        except (EOFError, OSError):
            raise WorkerFailed(self._ended()) from None
        except BaseException:
            self._kill()
            raise
        try:
            kind, value = plain_loads(data)
        except Exception as error:
            self._kill()
            reason = f"the engine's process sent a reply bpcheck cannot read: {error}"
            raise WorkerFailed(reason) from None
        return str(kind), value, self._output.of_request(serial) if kind != "ok" else ""

    def _ended(self) -> str:
        """Why the process went away: its exit status and its last output."""
        with contextlib.suppress(subprocess.TimeoutExpired):  # it closed our socket, lives on
            self._process.wait(SETTLE)
        self._terminate()
        code = self._process.returncode
        output = self._output.at_end()
        self._close()
        return with_output(f"the engine's process ended ({exit_status(code)})", output)

    def _kill(self) -> str:
        """Kill the process and all it started; the output it printed last."""
        self._terminate()
        output = self._output.at_end()
        self._close()
        return output

    def _terminate(self) -> None:
        """SIGKILL to the worker's session: the engine and anything it started."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def kill(self) -> None:
        self._kill()

    def _close(self) -> None:
        self.alive = False
        self._connection.close()
        if self._output.finished(SETTLE) and self._process.stdout is not None:
            self._process.stdout.close()


def exit_status(code: int | None) -> str:
    """``exit code 3``; ``exit code -6, SIGABRT`` for a signal."""
    if code is not None and code < 0:
        try:
            return f"exit code {code}, {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"
