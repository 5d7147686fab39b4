"""What a trace must be before bpcheck reads a number from it.

An engine's ``run`` returns ``step -> canonical name -> value``.  A plug-in may
return anything (a list, None, strings, a step nobody asked for, a name no
problem has), and a wrong shape read loosely can make a claim look judged when
it was not.  So every trace is checked whole, once, before any claim looks at
it: a wrong one makes the engine's run ``errored`` with the first thing wrong,
never a traceback and never a silent "missing value".

NaN and infinities are values (an engine that diverges reports them, and the
agreement check and the verdicts judge them); what is refused is a value that
is not a number at all.
"""

from __future__ import annotations

import functools
from collections.abc import Collection

from bpcheck.model.problem import Problem, batch_of_step
from bpcheck.model.quantities import Trace, names_at_step, updates_at


class BadTrace(Exception):
    """A trace of the wrong shape; the message says what is wrong, and where."""


def checked_trace(
    trace: object, problem: Problem, record: Collection[int], *, extended: bool = True
) -> Trace:
    """A plain copy of ``trace`` (``int -> str -> float``), or :class:`BadTrace`.

    It must hold exactly the steps of ``record``, each with exactly the names
    :func:`~bpcheck.model.quantities.names_at_step` gives (``extended``: with the
    names of :data:`~bpcheck.model.quantities.EXTENDED`, which an engine records
    when it declares that capability, and only then), each a float (an int
    is taken as the float it equals; a bool, a string or None is refused).  The
    copy has plain Python types only, so it pickles without any engine's classes.
    """
    if not isinstance(trace, dict):
        raise BadTrace(f"run() returned {_kind(trace)}; expected a dict of step -> values")
    wanted = set(record)
    for step in trace:
        if not _is_int(step):
            raise BadTrace(f"step key {_show(step)} is {_kind(step)}; expected an int")
        if step not in wanted:
            raise BadTrace(f"step {step} was not asked for (asked: {_steps(wanted)})")
    missing = sorted(wanted - set(trace))
    if missing:
        raise BadTrace(f"step {missing[0]} is missing (asked: {_steps(wanted)})")
    names = _expected_names(problem, extended)
    return {int(step): _checked_step(trace[step], int(step), names(step)) for step in sorted(trace)}


def _checked_step(values: object, step: int, expected: frozenset[str]) -> dict[str, float]:
    if not isinstance(values, dict):
        raise BadTrace(f"step {step} holds {_kind(values)}; expected a dict of name -> float")
    plain: dict[str, float] = {}
    for name, value in values.items():
        if not isinstance(name, str):
            raise BadTrace(f"step {step}: name {_show(name)} is {_kind(name)}; expected a string")
        if name not in expected:
            raise BadTrace(f"step {step}: {name!r} is not a quantity of this problem")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadTrace(f"step {step}: {name} is {_kind(value)}; expected a float")
        plain[str(name)] = float(value)
    if len(plain) != len(expected):
        absent = sorted(expected - set(plain))
        raise BadTrace(f"step {step}: {absent[0]} is missing ({len(absent)} name(s) missing)")
    return plain


def _expected_names(problem: Problem, extended: bool) -> functools.partial[frozenset[str]]:
    """The names at a step of ``problem``, through :func:`_names_of`'s memo."""
    return functools.partial(_names, problem, extended, _names_key(problem))


def _names_key(problem: Problem) -> tuple[object, ...]:
    """All that :func:`~bpcheck.model.quantities.names_at_step` reads of a problem but
    the step: a corpus of one shape, and every engine's run of one fixture, share it."""
    layers = tuple((n.size, n.fan_in, n.bias_kind, n.bias_trainable) for n in problem.layers)
    return layers, problem.n_inputs, problem.has_targets


_NAMES: dict[tuple[object, ...], frozenset[str]] = {}
"""Names at a step by :func:`_names_key`, batch, update and ``extended`` (at most 256)."""


def _names(problem: Problem, extended: bool, key: tuple[object, ...], step: int) -> frozenset[str]:
    full = (key, batch_of_step(problem, step), updates_at(problem, step), extended)
    found = _NAMES.get(full)
    if found is None:
        if len(_NAMES) >= 256:
            _NAMES.clear()
        found = _NAMES[full] = frozenset(names_at_step(problem, step, extended=extended))
    return found


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    """``a list``, ``None``, ``a str ('0.5')``: what a wrong value is, briefly."""
    if value is None:
        return "None"
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    if isinstance(value, str | bytes | int | float):
        return f"{article} {kind} ({_show(value)})"
    return f"{article} {kind}"


def _show(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # a plug-in's __repr__ may raise; the message must not
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def _steps(steps: set[int]) -> str:
    shown = sorted(steps)
    text = ", ".join(str(s) for s in shown[:5]) if shown else "none"
    return text + (f", ... ({len(shown)} steps)" if len(shown) > 5 else "")
