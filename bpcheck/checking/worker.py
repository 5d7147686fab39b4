"""The inside of an engine's worker process: load one engine, then run it on request.

:mod:`bpcheck.checking.isolation` starts ``python -u -m bpcheck.checking.worker FD``
for each engine taken from the registry; ``FD`` is its end of a socket pair.  Each
request is a pickled tuple; each reply is ``(kind, value)`` pickled with plain
Python types only (bpcheck reads replies without importing any engine's classes):

* ``("load", serial, target, sys_path)``: import ``module:Class`` and instantiate
  it; reply ``("ok", description)``, ``("unloadable", reason)`` for an ordinary
  exception (a missing dependency: the engine is ``skipped``), or ``("error",
  reason)`` for anything else (``sys.exit`` at import, or a broken ``available``,
  ``capabilities`` or ``version``);
* ``("run", serial, problem, record)``: reply ``("ok", trace)`` with the trace
  checked and copied (:func:`~bpcheck.checking.traces.checked_trace`),
  ``("cannot", reason)`` for :class:`~bpcheck.model.engine.CannotRun`, or
  ``("error", reason)``;
* ``("run_many", serial, problems, record)``: for an engine with the optional
  ``run_many(problems, record)`` (problems of one shape and step count, in one call),
  ``("ok", traces)``, each checked like ``run``'s;
* ``("enclose", serial, problem, record)``: the same for an engine that certifies its
  values (:class:`~bpcheck.model.engine.Enclosures`); the reply's value is the
  enclosures as a plain dict, checked like a trace
  (:func:`~bpcheck.checking.enclosures.plain_enclosures`).

Everything the engine raises, ``SystemExit`` and ``KeyboardInterrupt`` included,
becomes an ``error`` reply: it is the engine's failure, not bpcheck's.  What the
engine prints goes to this process's stdout and stderr, a pipe bpcheck drains;
after each request an end mark with its serial goes there too, so that bpcheck
can tell which lines a failing request printed.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import sys
from collections.abc import Collection
from multiprocessing.connection import Connection
from typing import Any

from bpcheck.checking.enclosures import plain_enclosures
from bpcheck.checking.traces import BadTrace, checked_trace
from bpcheck.model.engine import CannotRun, encloses
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import EXTENDED

END_MARK = b"\n\x00bpcheck-request-end %d\x00\n"
"""Written to stdout after each request; the serial tells bpcheck whose output ends there."""

Reply = tuple[str, Any]


def main() -> None:
    connection = Connection(int(sys.argv[1]))
    engine: object = None
    while True:
        try:
            message = connection.recv()
        except EOFError:  # bpcheck has ended: so does its worker
            return
        kind, serial = message[0], message[1]
        if kind == "load":
            reply, engine = load(message[2], message[3])
        elif kind == "enclose":
            reply = enclose(engine, message[2], message[3])
        elif kind == "run_many":
            reply = run_many(engine, message[2], message[3])
        else:
            reply = run(engine, message[2], message[3])
        end_output(serial)
        connection.send_bytes(pickle.dumps(reply))


def load(target: str, path: list[str]) -> tuple[Reply, object]:
    """The engine ``module:Class`` names, instantiated, and its description, or why not."""
    sys.path[:] = path
    module_name, _, class_name = target.partition(":")
    try:
        engine = getattr(importlib.import_module(module_name), class_name)()
    except Exception as error:
        return ("unloadable", f"cannot load {target}: {describe(error)}"), None
    except BaseException as error:  # sys.exit at import is the engine's failure
        return ("error", f"{describe(error)} while loading {target}"), None
    try:
        return ("ok", description(engine)), engine
    except Broken as error:
        return ("error", str(error)), None
    except BaseException as error:  # reading version or capabilities raised
        return ("error", describe(error)), None


class Broken(Exception):
    """The engine breaks its contract; the message says how."""


def description(engine: Any) -> dict[str, Any]:
    """Version, capabilities and availability as plain data; a wrong type is an error."""
    version = engine.version
    if not isinstance(version, str):
        raise Broken(f"version is {type(version).__name__}; expected a string")
    capabilities = engine.capabilities
    if not isinstance(capabilities, set | frozenset) or not all(
        isinstance(c, str) for c in capabilities
    ):
        raise Broken("capabilities: expected a frozenset of strings")
    try:
        status = engine.available()
    except BaseException as error:
        raise Broken(f"available() raised {describe(error)}") from None
    available, reason = getattr(status, "available", None), getattr(status, "reason", None)
    if not isinstance(available, bool) or not isinstance(reason, str | None):
        raise Broken(f"available() returned {type(status).__name__}; expected an Availability")
    return {
        "version": str(version),
        "capabilities": sorted(str(c) for c in capabilities),
        "available": bool(available),
        "reason": None if reason is None else str(reason),
        "certifies": encloses(engine),
        "batches": callable(getattr(engine, "run_many", None)),
    }


def run(engine: Any, problem: Problem, record: Collection[int]) -> Reply:
    if engine is None:
        return ("error", "the engine is not loaded")
    try:
        trace = engine.run(problem, set(record))
    except CannotRun as error:
        return ("cannot", text(error))
    except BaseException as error:
        return ("error", describe(error))
    try:
        return ("ok", checked_trace(trace, problem, record, extended=extends(engine)))
    except BadTrace as error:
        return ("error", f"bad trace: {error}")
    except BaseException as error:  # a trace whose own methods raise
        return ("error", f"bad trace: {describe(error)}")


def run_many(engine: Any, problems: list[Problem], record: Collection[int]) -> Reply:
    """``run`` of several problems in one call (an engine's optional ``run_many``)."""
    if engine is None:
        return ("error", "the engine is not loaded")
    try:
        traces = engine.run_many(problems, set(record))
        if not isinstance(traces, list) or len(traces) != len(problems):
            return ("error", "bad traces: run_many() must return one trace per problem")
        extended = extends(engine)
        return (
            "ok",
            [checked_trace(t, p, record, extended=extended) for t, p in zip(traces, problems)],
        )
    except CannotRun as error:
        return ("cannot", text(error))
    except BadTrace as error:
        return ("error", f"bad trace: {error}")
    except BaseException as error:
        return ("error", describe(error))


def extends(engine: Any) -> bool:
    """Whether the engine records the extended names (it declares ``quantity:extended``)."""
    return EXTENDED in engine.capabilities


def enclose(engine: Any, problem: Problem, record: Collection[int]) -> Reply:
    if engine is None:
        return ("error", "the engine is not loaded")
    try:
        enclosed = engine.enclose(problem, set(record))
    except CannotRun as error:
        return ("cannot", text(error))
    except BaseException as error:
        return ("error", describe(error))
    try:
        return ("ok", plain_enclosures(enclosed, problem, record))
    except BadTrace as error:
        return ("error", f"bad enclosures: {error}")
    except BaseException as error:
        return ("error", f"bad enclosures: {describe(error)}")


def describe(error: BaseException) -> str:
    """``ValueError: boom``; ``SystemExit: sys.exit(0) was called``."""
    if isinstance(error, SystemExit):
        return f"SystemExit: sys.exit({error.code!r}) was called"
    message = text(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # an exception whose __str__ raises still gets reported
        return f"<{type(error).__name__} that cannot be shown>"


def end_output(serial: int) -> None:
    """Mark the end of this request's output (the engine may have closed stdout: then no mark)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(OSError):
        os.write(1, END_MARK % serial)


if __name__ == "__main__":
    main()
