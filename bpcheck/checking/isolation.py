"""Engines from the registry run in worker processes, so that no plug-in can take bpcheck down.

An engine is code a user installed; bpcheck must report what it does, never be
what it does.  Each engine the registry hands out is an :class:`IsolatedEngine`:
the engine contract answered by a worker process (:mod:`bpcheck.checking.worker`)
that imports and instantiates the real engine and runs it on request.  So:

* ``sys.exit``, ``os._exit``, ``os.abort`` or a crash in C end the worker, not
  bpcheck: that engine's run is ``errored: the engine's process ended (exit code
  X)``, and the next request starts a fresh worker;
* a request that takes longer than the timeout (:data:`DEFAULT_TIMEOUT`, or
  ``bpcheck run --timeout``) kills the worker: ``errored: timed out after N s``;
* what the engine prints is captured, never mixed into bpcheck's output; its
  last lines are quoted in the reason when the engine fails;
* nothing an engine returns is trusted: replies are plain data, and traces are
  checked again by :func:`bpcheck.checking.check.run_problem`.

There is one long-lived worker per engine per bpcheck process (the JAX engine
compiles a shape once per run), shared by every :class:`IsolatedEngine` of that
engine; they differ only in their timeout.  Loading happens once: an engine that
cannot be imported (an ordinary exception) is unavailable (``skipped``) for the
rest of the process, and one whose loading failed otherwise (``sys.exit`` at
import, a hang in its constructor, a broken ``available()``) is ``errored`` for
the rest of the process, without being tried again for every fixture.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from bpcheck.checking.enclosures import from_plain
from bpcheck.checking.worker_process import WorkerFailed, WorkerProcess, with_output
from bpcheck.defaults import DEFAULT_TIMEOUT
from bpcheck.model.engine import Availability, CannotRun, Enclosures
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace


class EngineFailed(Exception):
    """An isolated engine failed (raised, exited, died, hung); the message is the whole reason."""


@dataclass(frozen=True)
class Description:
    """What a loaded engine says about itself, asked once."""

    version: str
    capabilities: frozenset[str]
    availability: Availability
    certifies: bool = False
    batches: bool = False
    """Whether the engine has the optional ``run_many`` (problems of one shape in one call)."""


class _Shared:
    """One engine's worker and what is known about the engine, shared within this process."""

    def __init__(self, name: str, target: str, failure: str | None) -> None:
        self.name = name
        self.target = target
        self.lock = threading.RLock()
        self.worker: WorkerProcess | None = None
        self.loading: int | None = None
        """Serial of the load request sent to the current worker and not yet answered."""
        self.description: Description | None = None
        self.failure = failure
        """Why the engine is ``errored`` for good (its first loading failed, or a name clash)."""
        self.unloadable: str | None = None
        """Why the engine is unavailable for good (importing it raised)."""

    def warm(self) -> None:
        """Start the worker and send it the load request, without waiting for the answer."""
        with self.lock:
            if self.failure is None and self.unloadable is None and self.worker is None:
                try:
                    self.worker = WorkerProcess()
                except OSError as error:
                    self.failure = f"cannot start a worker process: {error}"
                    return
                self.loading = self.worker.send("load", self.target, list(sys.path))

    def loaded(self, timeout: float) -> WorkerProcess:
        """A worker with the engine loaded: the running one, or a fresh one."""
        with self.lock:
            if self.worker is not None and not self.worker.alive:
                self.worker, self.loading = None, None
            self.warm()
            if self.failure is not None:
                raise EngineFailed(self.failure)
            assert self.worker is not None
            if self.loading is None:
                return self.worker
            serial, self.loading = self.loading, None
            try:
                kind, value, output = self.worker.receive(serial, timeout)
            except WorkerFailed as error:
                raise EngineFailed(f"while loading {self.target}: {error}") from None
            if kind == "ok":
                self._describe(value)
                return self.worker
            self.worker.kill()
            if kind == "unloadable":
                raise CannotRun(with_output(str(value), output))
            raise EngineFailed(with_output(str(value), output))

    def _describe(self, value: Any) -> None:
        if self.description is not None:
            return
        self.description = Description(
            version=value["version"],
            capabilities=frozenset(value["capabilities"]),
            availability=Availability(value["available"], value["reason"]),
            certifies=value.get("certifies") is True,
            batches=value.get("batches") is True,
        )

    def describe(self, timeout: float) -> Description | None:
        """The engine's description, loading it first if need be; None when it cannot load."""
        with self.lock:
            if self.description is None and self.failure is None and self.unloadable is None:
                try:
                    self.loaded(timeout)
                except CannotRun as error:
                    self.unloadable = str(error)
                except EngineFailed as error:
                    self.failure = str(error)
            return self.description

    def run(self, problem: Problem, record: Collection[int], timeout: float) -> Trace:
        trace: Trace = self.ask("run", problem, record, timeout)
        return trace

    def ask(
        self,
        request: str,
        problem: Problem | list[Problem],
        record: Collection[int],
        timeout: float,
    ) -> Any:
        """The engine's answer to ``run``, ``enclose`` or ``run_many`` (a list of problems): a
        trace, plain enclosures, or a list of traces."""
        with self.lock:
            worker = self.loaded(timeout)
            serial = worker.send(request, problem, set(record))
            try:
                kind, value, output = worker.receive(serial, timeout)
            except WorkerFailed as error:
                raise EngineFailed(str(error)) from None
            if kind == "ok":
                return value
            if kind == "cannot":
                raise CannotRun(str(value))
            raise EngineFailed(with_output(str(value), output))

    def stop(self) -> None:
        with self.lock:
            if self.worker is not None:
                self.worker.kill()
                self.worker, self.loading = None, None


class SelfDescription(Protocol):
    """The part of an engine's description :class:`DescribedEngine` reads."""

    @property
    def version(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[str]: ...


class DescribedEngine:
    """What an engine in another process says of itself, asked once and never raising.

    Shared by :class:`IsolatedEngine` (a worker process) and the external engines of
    :mod:`bpcheck.checking.external` (a program): ``version`` and ``capabilities`` are
    what the other process described (``"?"`` and none when it could not be asked), and
    nobody may set them here.  A subclass says how to ask (:meth:`_described`).
    """

    OWNER = "the engine's"
    """Whose word ``version`` and ``capabilities`` are, for the message refusing to set them."""

    def _described(self) -> SelfDescription | None:
        """What the other process said of its engine, or None when it could not be asked."""
        raise NotImplementedError

    @property
    def version(self) -> str:
        description = self._described()
        return "?" if description is None else description.version

    @version.setter
    def version(self, value: str) -> None:
        """The contract declares a plain attribute; the other process's is the only right value."""
        raise AttributeError(f"this engine's version is {self.OWNER}")

    @property
    def capabilities(self) -> frozenset[str]:
        description = self._described()
        return frozenset() if description is None else description.capabilities

    @capabilities.setter
    def capabilities(self, value: frozenset[str]) -> None:
        raise AttributeError(f"this engine's capabilities are {self.OWNER}")


class IsolatedEngine(DescribedEngine):
    """The engine contract, answered by the engine's worker process (see the module).

    ``name`` is the name the engine is registered under, whatever the engine's
    own ``name`` says.  Asking ``version``, ``capabilities`` or ``available()``
    loads the engine (once) and never raises: an engine that cannot load is
    unavailable, with the reason.  :meth:`failure` tells an engine that failed
    to load (``errored``) from one that is merely unavailable (``skipped``).
    """

    OWNER = "its engine's"

    def _described(self) -> Description | None:
        return self._shared.describe(self.timeout)

    def __init__(self, shared: _Shared, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._shared = shared
        self.name = shared.name
        self.target = shared.target
        self.timeout = timeout

    def with_timeout(self, seconds: float) -> IsolatedEngine:
        """The same engine (the same worker) with another timeout."""
        return IsolatedEngine(self._shared, seconds)

    def warm(self) -> None:
        """Start loading the engine now, so that its import overlaps other work."""
        self._shared.warm()

    def available(self) -> Availability:
        description = self._shared.describe(self.timeout)
        if description is not None:
            return description.availability
        return Availability(False, self._shared.failure or self._shared.unloadable)

    def failure(self) -> str | None:
        """Why the engine cannot even be asked (it failed to load), or None."""
        self._shared.describe(self.timeout)
        return self._shared.failure

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        """The engine's trace; :class:`EngineFailed` or ``CannotRun`` when there is none."""
        if self.failure() is not None:
            raise EngineFailed(self._shared.failure)
        if self._shared.unloadable is not None:
            raise CannotRun(self._shared.unloadable)
        return self._shared.run(problem, record, self.timeout)

    @property
    def batches(self) -> bool:
        """Whether the engine runs several problems of one shape in one call (``run_many``)."""
        description = self._shared.describe(self.timeout)
        return description is not None and description.batches

    def run_many(self, problems: list[Problem], record: Collection[int]) -> list[Trace]:
        """The engine's traces of ``problems``, from one ``run_many`` request."""
        if self.failure() is not None:
            raise EngineFailed(self._shared.failure)
        if self._shared.unloadable is not None:
            raise CannotRun(self._shared.unloadable)
        traces: list[Trace] = self._shared.ask("run_many", problems, record, self.timeout)
        return traces

    @property
    def certifies(self) -> bool:
        """Whether the engine answers ``enclose`` (:func:`bpcheck.model.engine.encloses`)."""
        description = self._shared.describe(self.timeout)
        return description is not None and description.certifies

    def enclose(self, problem: Problem, record: Collection[int]) -> Enclosures:
        """The engine's enclosures, as :meth:`run` gives its trace."""
        if self.failure() is not None:
            raise EngineFailed(self._shared.failure)
        if self._shared.unloadable is not None:
            raise CannotRun(self._shared.unloadable)
        return from_plain(self._shared.ask("enclose", problem, record, self.timeout))


_POOL: dict[tuple[str, str], _Shared] = {}
_POOL_LOCK = threading.Lock()


def isolated(
    name: str, target: str, *, timeout: float = DEFAULT_TIMEOUT, failure: str | None = None
) -> IsolatedEngine:
    """The engine registered as ``name`` (``module:Class``), in this process's worker for it.

    ``failure`` makes a stand-in that is ``errored`` with that reason and never starts.
    """
    key = (name, target if failure is None else f"{target} (broken: {failure})")
    with _POOL_LOCK:
        if key not in _POOL:
            _POOL[key] = _Shared(name, target, failure)
        return IsolatedEngine(_POOL[key], timeout)


def stop_workers() -> None:
    """Kill every worker process; the next request starts fresh ones."""
    with _POOL_LOCK:
        shared = list(_POOL.values())
    for one in shared:
        one.stop()


atexit.register(stop_workers)
