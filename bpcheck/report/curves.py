"""Loss curves of multi-step fixtures: E along training, as PNG, byte-for-byte reproducible.

The curve comes from the reference engine (the first available one, in the
registry's order) run again with about fifty log-spaced steps recorded; the
printed losses of the document are marked on it, each coloured by its verdict.
Two readings of one document (Mazur's simultaneous and sequential updates)
differ by 1e-7 where the loss is 0.29: the same curve at any readable scale.  So
a second panel shows what tells them apart, each printed loss's distance from the
computed one in units of its last printed place, with the band of a match.

The figure is drawn with matplotlib's Agg canvas directly (no pyplot, no global
backend switch) and saved without the ``Software`` tag, so the same data and
matplotlib give the same bytes and committed reports do not churn.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

from bpcheck.model.engine import Engine, required_capabilities
from bpcheck.model.fixture import Fixture
from bpcheck.model.verdicts import printed_value, units_off, verdict

POINTS = 50
"""About this many recorded steps per curve, log-spaced from 1 to ``steps`` (and step 0)."""

LOSS = "E"
"""The canonical name of the step's loss."""


VERDICT_COLOURS = {"match": "#1a7f37", "truncated": "#bf8700", "mismatch": "#cf222e"}
"""The HTML report's verdict colours, darker for lines on white."""


@dataclass(frozen=True)
class Mark:
    """A printed loss against the computed one: its verdict and distance in last-place units."""

    step: int
    printed: str
    value: float
    verdict: str
    units: float
    """Computed minus printed, in units of the printed last place (as the report's tables)."""


@dataclass
class Curve:
    """E at chosen steps of one fixture, the printed losses, and the figure (PNG bytes)."""

    fixture: str
    title: str
    engine: str = ""
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    printed: list[tuple[int, str]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    update_order: str = ""
    png: bytes = b""
    note: str = ""
    """Why there is no curve (no engine could run it), or empty."""


def curve_steps(total: int, points: int = POINTS) -> list[int]:
    """Step 0 and about ``points`` - 1 steps spaced evenly in log from 1 to ``total``."""
    steps = {0, total}
    if total >= 1:
        for k in range(points - 1):
            steps.add(round(math.exp(math.log(total) * k / (points - 2))))
    return sorted(s for s in steps if 0 <= s <= total)


def printed_losses(fixture: Fixture) -> list[tuple[int, str]]:
    """(step, printed) of every claim on the loss E, as the document printed it."""
    return [
        (claim.step, claim.printed)
        for claim in fixture.claims
        if claim.canonical == LOSS and claim.printed is not None and claim.relation is None
    ]


def reference_engine(fixture: Fixture, engines: dict[str, Engine]) -> Engine | None:
    """The first engine, in the given order, that is available and can run this problem."""
    needed = required_capabilities(fixture.problem)
    for engine in engines.values():
        if engine.available().available and needed <= engine.capabilities:
            return engine
    return None


def compute_curve(fixture: Fixture, engines: dict[str, Engine]) -> Curve:
    """Run the reference engine with the curve's steps recorded; never raise."""
    curve = Curve(fixture.id, fixture.title, printed=printed_losses(fixture))
    curve.update_order = fixture.problem.update_order
    engine = reference_engine(fixture, engines)
    if engine is None:
        curve.note = "no engine available for this problem"
        return curve
    steps = sorted(set(curve_steps(fixture.problem.steps)) | {s for s, _ in curve.printed})
    try:
        trace = engine.run(fixture.problem, steps)
    except Exception as error:  # a broken engine (or CannotRun) must not stop the report
        curve.note = f"{engine.name}: {type(error).__name__}: {error}"
        return curve
    curve.engine = engine.name
    curve.steps = [s for s in steps if LOSS in trace.get(s, {})]
    curve.losses = [float(trace[s][LOSS]) for s in curve.steps]
    computed = dict(zip(curve.steps, curve.losses, strict=True))
    curve.marks = [
        Mark(
            step,
            text,
            computed[step],
            str(verdict(computed[step], text)),
            units_off(computed[step], text),
        )
        for step, text in curve.printed
        if step in computed
    ]
    return curve


def draw(curve: Curve) -> bytes:
    """The curve as a PNG: the loss above, the printed losses' distance in units below."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 5.4), dpi=100)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    draw_loss(top, curve)
    draw_units(bottom, curve)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def draw_loss(axes: Any, curve: Curve) -> None:
    """E by step (symlog steps, so step 0 shows; log loss while it stays positive)."""
    label = f"E ({curve.engine})"
    axes.plot(curve.steps, curve.losses, marker=".", markersize=4, color="C0", label=label)
    for name, colour in VERDICT_COLOURS.items():
        marks = [m for m in curve.marks if m.verdict == name]
        if marks:
            printed = [float(printed_value(m.printed)) for m in marks]
            label = f"printed: {name}"
            axes.scatter([m.step for m in marks], printed, marker="x", s=60, color=colour,
                         zorder=3, label=label)  # fmt: skip
    axes.set_xscale("symlog", linthresh=1)
    if all(v > 0 for v in curve.losses):
        axes.set_yscale("log")
    axes.set_ylabel("loss E")
    order = f", {curve.update_order} updates" if curve.update_order else ""
    axes.set_title(f"{curve.fixture}{order}")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="upper right")


def draw_units(axes: Any, curve: Curve) -> None:
    """Each printed loss's distance from the computed one, labelled, with the band of a match."""
    axes.axhspan(-0.5, 0.5, color="0.85", zorder=0, label="match: within half a unit")
    axes.axhline(0, color="0.5", linewidth=0.8)
    last = max(curve.steps, default=1)
    for mark in curve.marks:
        colour = VERDICT_COLOURS.get(mark.verdict, "black")
        axes.scatter([mark.step], [mark.units], marker="o", s=36, color=colour, zorder=3)
        right = mark.step > math.sqrt(max(last, 1))
        axes.annotate(
            f"{mark.printed} ({mark.units:+.3g})",
            (mark.step, mark.units),
            textcoords="offset points",
            xytext=(-6 if right else 6, 5),
            ha="right" if right else "left",
            fontsize=7,
            color=colour,
        )
    axes.set_yscale("symlog", linthresh=1)
    finite = [abs(m.units) for m in curve.marks if math.isfinite(m.units)]
    reach = 4 * max([1.0, *finite])
    axes.set_ylim(-reach, reach)
    axes.set_xlabel("step (updates made)")
    axes.set_ylabel("computed - printed\n(last-place units)", fontsize=8)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")


def curve(fixture: Fixture, engines: dict[str, Engine]) -> Curve:
    """The fixture's loss curve, drawn if an engine could run it (see ``Curve.note`` if not)."""
    found = compute_curve(fixture, engines)
    if found.steps:
        found.png = draw(found)
    return found
