"""Loss curves of multi-step fixtures: E along training, as PNG, byte-for-byte reproducible.

The curve comes from the reference engine (the first available one, in the
registry's order) run again with about fifty log-spaced steps recorded; the
printed losses of the document are marked on it.  The figure is drawn with
matplotlib's Agg canvas directly (no pyplot, no global backend switch) and
saved without the ``Software`` tag, so the same data and matplotlib give the
same bytes and committed reports do not churn.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

from bpcheck.model.engine import Engine, required_capabilities
from bpcheck.model.fixture import Fixture

POINTS = 50
"""About this many recorded steps per curve, log-spaced from 1 to ``steps`` (and step 0)."""

LOSS = "E"
"""The canonical name of the step's loss."""


@dataclass
class Curve:
    """E at chosen steps of one fixture, the printed losses, and the figure (PNG bytes)."""

    fixture: str
    title: str
    engine: str = ""
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    printed: list[tuple[int, str]] = field(default_factory=list)
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
    return curve


def draw(curve: Curve) -> bytes:
    """The curve as a PNG: symlog steps (so step 0 shows), log loss when it stays positive."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(curve.steps, curve.losses, marker=".", markersize=4, label=f"E ({curve.engine})")
    if curve.printed:
        steps = [step for step, _ in curve.printed]
        values = [float(text) for _, text in curve.printed]
        axes.scatter(steps, values, marker="x", color="C3", zorder=3, label="printed")
    axes.set_xscale("symlog", linthresh=1)
    if all(v > 0 for v in curve.losses):
        axes.set_yscale("log")
    axes.set_xlabel("step (updates made)")
    axes.set_ylabel("loss E")
    axes.set_title(curve.fixture)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def curve(fixture: Fixture, engines: dict[str, Engine]) -> Curve:
    """The fixture's loss curve, drawn if an engine could run it (see ``Curve.note`` if not)."""
    found = compute_curve(fixture, engines)
    if found.steps:
        found.png = draw(found)
    return found
