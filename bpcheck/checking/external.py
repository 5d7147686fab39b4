"""External engines: a program in any language, asked over the engine protocol.

``bpcheck run fixtures/ --engine-cmd mine="node engine.js"`` starts ``node engine.js``
as a child process and speaks :mod:`bpcheck.checking.protocol` with it: JSON
lines on its standard input and output, one request answered at a time.  An
:class:`ExternalEngine` answers the engine contract like any other engine, so a
run, the agreement check and the conformance suite treat it like ours.  What
the child does never becomes bpcheck's problem:

* each request may take ``timeout`` seconds; then the child (and whatever it
  started: it runs in its own session) is killed: ``errored: timed out after N s``;
* a child that exits, crashes or writes a line that is not a valid reply is
  killed and its request ``errored``, with the reason and the last lines of its
  standard error; the next request starts a fresh child;
* a reply ``cannot run`` is ``skipped`` with the engine's reason, ``error`` is
  ``errored`` with its message;
* a child that cannot even start (no such program, a crash, garbage or a hang
  before answering ``start``, another protocol version) is ``errored`` for the
  rest of the process, with the reason, and is not started again for every
  fixture; one that answers ``start`` with ``cannot run`` is unavailable
  (``skipped``), with its reason.

Each engine has its own child, so one engine's failure touches no other
engine's results.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import shlex
import signal
import subprocess
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from bpcheck.checking import protocol
from bpcheck.checking.isolation import DescribedEngine, EngineFailed
from bpcheck.checking.worker_process import SETTLE, exit_status, last_lines, with_output
from bpcheck.defaults import DEFAULT_TIMEOUT
from bpcheck.model.engine import Availability, CannotRun
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace

MAX_LINE = 256 * 1024 * 1024
"""Bytes one reply line may hold: a trace of a big network, not an endless stream."""

STDERR_KEPT = 16_384
"""Bytes of the child's standard error kept, for its last lines."""


@dataclass(frozen=True)
class EngineCommand:
    """An external engine as a user names it: ``NAME="COMMAND ARGS"``, run in ``directory``."""

    name: str
    argv: tuple[str, ...]
    directory: Path | None = None
    """Where the command runs (a project's folder, for one configured in its pyproject.toml)."""

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


def parse_engine_command(text: str) -> EngineCommand:
    """``NAME=COMMAND ARGS`` (the command split as a POSIX shell would); ValueError if malformed."""
    name, equals, command = text.partition("=")
    name = name.strip()
    if not equals or not name:
        raise ValueError(f'expected NAME="COMMAND ARGS", found {text!r}')
    if not _is_name(name):
        raise ValueError(
            f"expected an engine name of letters, digits, '-', '_' or '.', found {name!r}"
        )
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise ValueError(f"cannot split the command {command!r}: {error}") from None
    if not argv:
        raise ValueError(f"expected a command after {name}=, found nothing")
    return EngineCommand(name, tuple(argv))


def _is_name(name: str) -> bool:
    return name.replace("-", "").replace("_", "").replace(".", "").isalnum() and name.isascii()


class _StderrTail:
    """The child's standard error, drained by a thread so that the child never blocks."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._drain, name="bpcheck-engine-stderr", daemon=True
        )
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 65_536)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            with self._lock:
                self._buffer += chunk
                if len(self._buffer) > 2 * STDERR_KEPT:
                    del self._buffer[:-STDERR_KEPT]

    def last_lines(self, wait: float = 0.0) -> str:
        self._thread.join(wait)
        with self._lock:
            return last_lines(bytes(self._buffer))


class _Child:
    """One running engine program: send a request, read one reply line within a timeout."""

    def __init__(self, spec: EngineCommand) -> None:
        self.process = subprocess.Popen(
            list(spec.argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=spec.directory,
            start_new_session=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._stderr = _StderrTail(self.process.stderr.fileno())
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read,
            args=(self.process.stdout,),
            name="bpcheck-engine-stdout",
            daemon=True,
        )
        self._reader.start()
        self._writer: threading.Thread = threading.Thread()
        self.alive = True

    def _read(self, stream: object) -> None:
        readline = stream.readline  # type: ignore[attr-defined]
        while True:
            try:
                line: bytes = readline(MAX_LINE + 1)
            except (OSError, ValueError):
                line = b""
            if not line:
                self._lines.put(None)
                return
            self._lines.put(line)
            if len(line) > MAX_LINE:
                self._lines.put(None)
                return

    def send(self, message: dict[str, object]) -> None:
        """Write a request from a thread; a child that has gone is noticed by :meth:`reply`.

        A child that reads nothing fills the pipe after 64 KiB, and a write would then
        block bpcheck past any timeout; the thread blocks instead, until the child is
        killed (its write then fails, silently).
        """
        data = protocol.encode(message)
        self._writer = threading.Thread(
            target=self._write, args=(data,), name="bpcheck-engine-stdin", daemon=True
        )
        self._writer.start()

    def _write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def reply(self, timeout: float) -> dict[str, object]:
        """The next reply; :class:`EngineFailed` (the child killed) when there is no valid one."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise EngineFailed(
                with_output(f"timed out after {timeout:g} s", self.stderr())
            ) from None
        if line is None:
            raise EngineFailed(self._ended())
        if len(line) > MAX_LINE:
            self.kill()
            raise EngineFailed(f"the engine wrote a reply line over {MAX_LINE} bytes")
        try:
            return protocol.parse_reply(line)
        except protocol.Garbage as error:
            self.kill()
            reason = f"the engine wrote {error}; expected one reply per line (docs/protocol.md)"
            raise EngineFailed(with_output(reason, self.stderr())) from None

    def stderr(self, wait: float = 0.0) -> str:
        return self._stderr.last_lines(wait)

    def _ended(self) -> str:
        """Why standard output closed: the exit status and the last lines of standard error."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(SETTLE)
        status = self.process.returncode
        self.kill()
        what = (
            f"the engine's process ended ({exit_status(status)})"
            if status is not None
            else "the engine closed its standard output"
        )
        return with_output(what, self.stderr(SETTLE))

    def kill(self) -> None:
        """SIGKILL to the child's session: the engine and anything it started."""
        if not self.alive:
            return
        self.alive = False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._stderr.last_lines(SETTLE)  # let the drain reach the end before its pipe closes
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()

    def stop(self) -> None:
        """Ask the child to stop, close its input, and kill it if it lingers."""
        if not self.alive:
            return
        self.send(protocol.stop_request())
        self._writer.join(SETTLE)
        assert self.process.stdin is not None
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(SETTLE)
        self.kill()


class _Shared:
    """One external engine's child and what it said at ``start``, shared by its timeouts."""

    def __init__(self, spec: EngineCommand) -> None:
        self.spec = spec
        self.lock = threading.RLock()
        self.child: _Child | None = None
        self.description: protocol.Started | None = None
        self.failure: str | None = None
        """Why the engine is ``errored`` for good: it could not be started."""
        self.unavailable: str | None = None
        """Why the engine is ``skipped`` for good: it answered ``start`` with ``cannot run``."""
        self.requests = 0

    def started(self, timeout: float) -> _Child:
        """A child that has answered ``start``: the running one, or a fresh one."""
        with self.lock:
            if self.failure is not None:
                raise EngineFailed(self.failure)
            if self.unavailable is not None:
                raise CannotRun(self.unavailable)
            if self.child is not None and self.child.alive:
                if self.child.process.poll() is None:
                    return self.child
                self.child.kill()  # it ended after its last reply: start another
            try:
                self.child = self._start(timeout)
            except EngineFailed as error:
                self.failure = f"cannot start {self.spec.command}: {error}"
                raise EngineFailed(self.failure) from None
            except CannotRun as error:
                self.unavailable = str(error)
                raise
            return self.child

    def _start(self, timeout: float) -> _Child:
        try:
            child = _Child(self.spec)
        except OSError as error:
            raise EngineFailed(f"{type(error).__name__}: {error.strerror or error}") from None
        child.send(protocol.start_request())
        try:
            answer = protocol.started(child.reply(timeout))
        except protocol.Garbage as error:
            child.kill()
            raise EngineFailed(f"the engine wrote {error}") from None
        if isinstance(answer, protocol.Refused):
            child.stop()
            if answer.error:
                raise EngineFailed(with_output(answer.text, child.stderr()))
            raise CannotRun(answer.text)
        if answer.protocol != protocol.PROTOCOL:
            child.stop()
            raise EngineFailed(
                f"the engine speaks protocol {answer.protocol}; "
                f"this bpcheck speaks protocol {protocol.PROTOCOL}"
            )
        if self.description is None:
            self.description = answer
        return child

    def describe(self, timeout: float) -> protocol.Started | None:
        with self.lock:
            if self.description is None:
                with contextlib.suppress(EngineFailed, CannotRun):
                    self.started(timeout)
            return self.description

    def run(self, problem: Problem, record: Collection[int], timeout: float) -> Trace:
        with self.lock:
            child = self.started(timeout)
            self.requests += 1
            identifier = self.requests
            child.send(protocol.run_request(identifier, problem, record))
            reply = child.reply(timeout)
            try:
                answer = protocol.ran(reply, identifier)
            except protocol.Garbage as error:
                child.kill()
                raise EngineFailed(
                    with_output(f"the engine wrote {error}", child.stderr())
                ) from None
            if isinstance(answer, protocol.Refused):
                if answer.error:
                    raise EngineFailed(with_output(answer.text, child.stderr()))
                raise CannotRun(answer.text)
            return answer

    def stop(self) -> None:
        with self.lock:
            if self.child is not None:
                self.child.stop()
                self.child = None


class ExternalEngine(DescribedEngine):
    """The engine contract, answered by an external program (see the module).

    ``name`` is the name the user gave it, whatever the program calls itself.
    Asking ``version``, ``capabilities`` or ``available()`` starts the program
    (once) and never raises; :meth:`failure` tells a program that could not be
    started (``errored``) from one that is merely unavailable (``skipped``).
    """

    OWNER = "what its program says"
    cacheable = False
    """Never answered from a cache of traces: bpcheck cannot fingerprint a program's code."""

    def __init__(self, shared: _Shared, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._shared = shared
        self.name = shared.spec.name
        self.command = shared.spec.command
        self.timeout = timeout

    def _described(self) -> protocol.Started | None:
        return self._shared.describe(self.timeout)

    def with_timeout(self, seconds: float) -> ExternalEngine:
        """The same engine (the same child) with another timeout per request."""
        return ExternalEngine(self._shared, seconds)

    def warm(self) -> None:
        """Nothing to overlap: the program is started by the first question."""

    def available(self) -> Availability:
        description = self._shared.describe(self.timeout)
        if description is not None:
            return Availability(True)
        return Availability(False, self._shared.failure or self._shared.unavailable)

    def failure(self) -> str | None:
        """Why the program cannot be asked at all (it could not be started), or None."""
        self._shared.describe(self.timeout)
        return self._shared.failure

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        """The program's trace; :class:`EngineFailed` or ``CannotRun`` when there is none."""
        return self._shared.run(problem, record, self.timeout)

    def stop(self) -> None:
        """Stop the program; the next question starts it again."""
        self._shared.stop()


_CHILDREN: dict[EngineCommand, _Shared] = {}
_CHILDREN_LOCK = threading.Lock()


def external(spec: EngineCommand, *, timeout: float = DEFAULT_TIMEOUT) -> ExternalEngine:
    """The engine ``spec`` names, sharing one child with every other use of the same spec."""
    with _CHILDREN_LOCK:
        if spec not in _CHILDREN:
            _CHILDREN[spec] = _Shared(spec)
        return ExternalEngine(_CHILDREN[spec], timeout)


def external_engines(
    specs: Sequence[EngineCommand], *, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, ExternalEngine]:
    return {spec.name: external(spec, timeout=timeout) for spec in specs}


def stop_children() -> None:
    """Stop every external engine's program; the next request starts fresh ones."""
    with _CHILDREN_LOCK:
        shared = list(_CHILDREN.values())
    for one in shared:
        one.stop()


atexit.register(stop_children)
