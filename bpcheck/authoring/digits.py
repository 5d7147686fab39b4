"""``bpcheck explain --digits N``: each value of a step certified to N digits, beside the engines'.

Float64 and float32 rounding made visible: for every quantity of the step, the
certified value (the midpoint of its enclosure, N significant digits, and its
radius), then each float engine's value at full precision with its error in ULPs
of the true value, and the float32 nearest the true value, what a float32 engine
could at best give.  The rows come in the order of the trace's names.
"""

from __future__ import annotations

import math
import struct
from decimal import localcontext

from bpcheck.checking.certified import Interval, interval, ulps_off
from bpcheck.checking.check import OK, EngineRun
from bpcheck.io.escape import markdown_text
from bpcheck.model.engine import Enclosures

MAX_DIGITS = 1000
"""The most digits ``--digits`` asks for (the engine's precision grows with them)."""


def float32_nearest(value: float) -> float:
    """The float32 nearest ``value`` (rounded through its float64; inf beyond float32)."""
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def significant(found: Interval, digits: int) -> str:
    """The midpoint to ``digits`` significant digits, and the radius when it is not 0."""
    with localcontext() as context:
        context.prec = digits
        shown = +found.mid
    text = f"{shown:.{digits - 1}e}" if shown else "0"
    return text if found.radius == 0 else f"{text} ± {float(found.radius):.1e}"


def digits_table(runs: list[EngineRun], names: list[str], step: int, digits: int) -> str:
    """The Markdown table of ``names`` at ``step``; a note when no engine certified them."""
    certified = next((r for r in runs if r.outcome == OK and r.enclosures is not None), None)
    if certified is None or certified.enclosures is None:
        reasons = [f"{r.engine}: {r.reason}" for r in runs if r.outcome != OK]
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return f"No engine certified the values of this step{why}."
    enclosures: Enclosures = certified.enclosures
    floats = [r for r in runs if r.outcome == OK and r is not certified]
    shown = min(digits, int(enclosures.digits))
    headers = ["quantity", f"certified ({shown} digits)", *(r.engine for r in floats), "float32"]
    lines = [_row(headers), _row(["---"] * len(headers))]
    for name in names:
        found = interval(enclosures, name, step)
        if found is None:
            continue
        cells = [f"`{name}`", significant(found, shown)]
        for run in floats:
            value = run.trace.get(step, {}).get(name)
            cells.append("-" if value is None else f"{value:.17g} ({ulps_off(value, found):+.3g})")
        cells.append(f"{float32_nearest(found.nearest):.9g}")
        lines.append(_row(cells))
    note = (
        f"Certified at {enclosures.precision} bits; each float engine's value with its error "
        f"in ULPs of the true value; float32: the nearest float32."
    )
    if shown < digits:
        note += (
            f" Asked for {digits} digits, certified {shown}: BPCHECK_CERTIFIED_DIGITS={digits} "
            "certifies more."
        )
    return "\n".join([*lines, "", markdown_text(note)])


def step_names(runs: list[EngineRun], step: int) -> list[str]:
    """The names of the step, in the trace's order (the canonical order of the problem)."""
    for run in runs:
        if run.outcome == OK and step in run.trace:
            return list(run.trace[step])
    return []


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
