"""The feature fixtures: one small fixture per feature of issue 17, pinned from the engines.

Each covers one new loss pairing, optimizer feature, activation, precision or batch mode
(:data:`SPECS`, one line of ``covers`` each), and one claims every extended name, E_change
included.  They claim no document's numbers: every value is pinned (``%.17g``) from the
reference engine (loops), and :func:`document` refuses a pin that some other engine able
to run the problem (matrices, autodiff, the certified engine where it can) does not reach
within the engines' agreement tolerance for the problem's precision.

Pins at step 0 hold the loss, the outputs, every gradient and every delta; pins at the
last step hold every parameter and the loss.  The extended fixture pins every name of
``quantity:extended`` at steps 0 and 1 and ``E_change`` at both.

Regenerate with ``python -m tests.features.feature_fixtures`` after a change here;
``tests/features/test_feature_fixtures.py`` fails while the files and this module disagree.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpcheck.checking.check import agreement_tolerance
from bpcheck.io.files import write_atomically
from bpcheck.model import quantities as q
from bpcheck.model.engine import CannotRun, Engine
from bpcheck.model.problem import Layer, Problem
from bpcheck.testing.conformance_fixtures import claim_id
from bpcheck.testing.documents import problem_document

FOLDER = Path(__file__).resolve().parent
SCHEMA = "../../bpcheck/io/schema/fixture-v1.schema.json"
SOURCE = "bpcheck feature fixtures (issue 17)"
REFERENCE = "loops"
FLOAT_ENGINES = ("loops", "matrices", "autodiff")
"""The float engines every feature fixture must be agreed on by."""


@dataclass(frozen=True)
class Spec:
    """One feature fixture: its id, what it covers, its problem, and what it pins."""

    id: str
    covers: str
    feature: str
    """The feature of issue 17 it stands for (the tests map features to fixtures)."""
    problem: Problem
    extended: bool = False
    """Pin every extended name (and E_change) at steps 0 and 1, not the usual names."""
    epochs: int = 0
    """Write ``epochs`` instead of ``steps`` (a mini-batch fixture): steps = epochs x batches."""


def _layer(
    weights: tuple[tuple[float, ...], ...],
    activation: str,
    bias: tuple[float, ...] = (),
    kind: str = "per_neuron",
    **more: Any,
) -> Layer:
    return Layer(weights, activation, kind if bias else "none", bias, True, **more)


HIDDEN = ((0.35, -0.6, 0.2), (-0.45, 0.25, 0.55), (0.15, 0.4, -0.3))
HIDDEN_BIAS = (0.1, -0.15, 0.05)
OUT_2 = ((0.5, -0.35, 0.6), (-0.25, 0.45, 0.3))
OUT_3 = ((0.5, -0.35, 0.6), (-0.25, 0.45, 0.3), (0.2, 0.1, -0.55))
INPUTS = ((0.6, -0.9, 0.3), (-0.4, 0.7, 1.1))
"""Hidden net inputs of both signs (the leaky relu, ELU and softplus layers use both
branches), none near 0."""
TARGETS_2 = ((0.15, 0.85), (0.7, 0.25))
ONE_HOT_3 = ((0.0, 1.0, 0.0), (1.0, 0.0, 0.0))


def _problem(hidden: Layer, output: Layer, targets: Any, **settings: Any) -> Problem:
    defaults: dict[str, Any] = {"loss": "half_sse", "learning_rate": 0.4, "steps": 4}
    defaults.update(settings)
    return Problem(layers=(hidden, output), inputs=INPUTS, targets=targets, **defaults)


def _plain(hidden: str = "tanh", output: str = "sigmoid", **settings: Any) -> Problem:
    return _problem(
        _layer(HIDDEN, hidden, HIDDEN_BIAS),
        _layer(OUT_2, output, (0.2, -0.1)),
        settings.pop("targets", TARGETS_2),
        **settings,
    )


MINI_INPUTS = (
    (0.6, -0.9, 0.3),
    (-0.4, 0.7, 1.1),
    (0.9, 0.2, -0.5),
    (-0.7, -0.3, 0.8),
    (0.1, 1.0, -0.2),
)
MINI_TARGETS = ((0.15, 0.85), (0.7, 0.25), (0.4, 0.6), (0.9, 0.1), (0.3, 0.35))

SPECS: tuple[Spec, ...] = (
    Spec(
        "feature-bce-on-softmax",
        "bce on softmax outputs (3 outputs, one-hot targets), tanh hidden layer",
        "bce on softmax",
        _problem(
            _layer(HIDDEN, "tanh", HIDDEN_BIAS),
            _layer(OUT_3, "softmax", (0.1, -0.2, 0.05)),
            ONE_HOT_3,
            loss="bce",
        ),
    ),
    Spec(
        "feature-bce-on-identity",
        "bce on identity outputs (kept inside (0, 1) by a small rate), sigmoid hidden layer",
        "bce on identity",
        _problem(
            _layer(HIDDEN, "sigmoid", HIDDEN_BIAS),
            _layer(OUT_2, "identity", (0.1, 0.35)),
            TARGETS_2,
            loss="bce",
            learning_rate=0.05,
            steps=3,
        ),
    ),
    Spec(
        "feature-mse-on-softmax",
        "mse on softmax outputs (3 outputs), relu hidden layer",
        "mse on softmax",
        _problem(
            _layer(HIDDEN, "relu", HIDDEN_BIAS),
            _layer(OUT_3, "softmax", (0.1, -0.2, 0.05)),
            ((0.2, 0.5, 0.3), (0.6, 0.1, 0.3)),
            loss="mse",
        ),
    ),
    Spec(
        "feature-softmax-ce-on-sigmoid",
        "softmax_ce on sigmoid outputs, tanh hidden layer",
        "softmax_ce on sigmoid",
        _plain("tanh", "sigmoid", loss="softmax_ce", targets=((0.0, 1.0), (0.3, 0.7))),
    ),
    Spec(
        "feature-objective-output",
        "objective output 2: the gradient of one output, no loss and no targets",
        "objective output k",
        _plain("tanh", "sigmoid", loss="output", objective=2, targets=((0.0, 0.0),) * 2, steps=2),
    ),
    Spec(
        "feature-momentum",
        "classical momentum 0.9 over 6 steps",
        "momentum",
        _plain(momentum=0.9, steps=6, learning_rate=0.2),
    ),
    Spec(
        "feature-nesterov",
        "Nesterov momentum 0.9 over 6 steps",
        "nesterov",
        _plain(momentum=0.9, nesterov=True, steps=6, learning_rate=0.2),
    ),
    Spec(
        "feature-weight-decay",
        "coupled L2 weight decay 0.05 (weights only), mse",
        "weight decay",
        _plain(loss="mse", weight_decay=0.05),
    ),
    Spec(
        "feature-layer-rates",
        "per-layer learning rates (0.1 hidden, 0.7 output)",
        "per-layer rates",
        _problem(
            _layer(HIDDEN, "tanh", HIDDEN_BIAS, learning_rate=0.1),
            _layer(OUT_2, "sigmoid", (0.2, -0.1), learning_rate=0.7),
            TARGETS_2,
        ),
    ),
    Spec(
        "feature-mini-batch-epochs",
        "mini-batches of 2 over 5 samples in the order 3, 1, 5, 2, 4, for 3 epochs",
        "mini-batch with order and epochs",
        Problem(
            layers=(_layer(HIDDEN, "tanh", HIDDEN_BIAS), _layer(OUT_2, "sigmoid", (0.2, -0.1))),
            inputs=MINI_INPUTS,
            targets=MINI_TARGETS,
            loss="half_sse",
            learning_rate=0.4,
            steps=9,
            batch="mini",
            batch_size=2,
            sample_order=(2, 0, 4, 1, 3),
        ),
        epochs=3,
    ),
    Spec(
        "feature-leaky-relu",
        "leaky relu (slope 0.1) hidden units with negative net inputs, identity output, sse",
        "leaky_relu",
        _problem(
            _layer(HIDDEN, "leaky_relu", HIDDEN_BIAS, slope=0.1),
            _layer(OUT_2, "identity", (0.2, -0.1)),
            TARGETS_2,
            loss="sse",
            learning_rate=0.1,
        ),
    ),
    Spec(
        "feature-softplus",
        "softplus hidden and output units",
        "softplus",
        _plain("softplus", "softplus", learning_rate=0.2),
    ),
    Spec(
        "feature-elu",
        "ELU (alpha 0.8) hidden units with negative net inputs, sigmoid output, mse",
        "elu",
        _problem(
            _layer(HIDDEN, "elu", HIDDEN_BIAS, alpha=0.8),
            _layer(OUT_2, "sigmoid", (0.2, -0.1)),
            TARGETS_2,
            loss="mse",
        ),
    ),
    Spec(
        "feature-float32",
        "precision float32: every engine computes in float32",
        "float32",
        _plain(precision="float32", steps=3),
    ),
    Spec(
        "feature-extended-names",
        "every extended name (input gradients, E@s, per-sample gradients, net terms, weighted "
        "sums, errors, error terms, dw and db) and E_change, at steps 0 and 1",
        "extended names",
        _problem(
            _layer(HIDDEN, "tanh", (0.05,), kind="shared"),
            Layer(OUT_2, "sigmoid", "per_neuron", (0.2, -0.1), False),
            TARGETS_2,
            steps=2,
        ),
        extended=True,
    ),
)
"""Every feature fixture; ``covers`` is its title."""


def pinned_names(spec: Spec, step: int) -> list[str]:
    """What a fixture pins at ``step`` (see the module docstring)."""
    problem = spec.problem
    if spec.extended:
        names = [n for n in q.names_at_step(problem, step) if q.is_extended(n)]
        return [*names, q.E_CHANGE]
    if step:
        return [n for n in q.names_at_step(problem, step) if n == q.LOSS or n[:2] in ("w[", "b[")]
    top = f"out[{len(problem.layers)},"
    prefixes = ("dE_dw[", "dE_db[", "delta[", top)
    return [n for n in q.names_at_step(problem, 0) if n == q.LOSS or n.startswith(prefixes)]


def pinned_steps(spec: Spec) -> list[int]:
    return [0, 1] if spec.extended else sorted({0, spec.problem.steps})


def tolerance(spec: Spec, step: int) -> float:
    """The engines' agreement tolerance at ``step`` for the problem's precision."""
    return agreement_tolerance(max(step, 1), spec.problem.precision)


def value_of(trace: q.Trace, name: str, step: int) -> float:
    if name == q.E_CHANGE:
        return trace[step + 1][q.LOSS] - trace[step][q.LOSS]
    return trace[step][name]


def _holds(value: float, pinned: float, tol: float) -> bool:
    """The rule ``bpcheck run`` judges a pin by (``checking.check.pin_holds``)."""
    return math.isclose(value, pinned, rel_tol=tol, abs_tol=tol * 1e-3)


def traces(spec: Spec, engines: Mapping[str, Engine]) -> dict[str, q.Trace]:
    """Each engine's trace at the pinned steps (and the step after, for E_change); an
    engine that cannot run the problem (``CannotRun``) is left out."""
    steps = set(pinned_steps(spec))
    if spec.extended:
        steps |= {s + 1 for s in steps}
    found = {}
    for name, engine in engines.items():
        try:
            found[name] = engine.run(spec.problem, steps)
        except CannotRun:
            continue
    return found


def document(spec: Spec, engines: Mapping[str, Engine]) -> dict[str, Any]:
    """The fixture of ``spec``, pinned to the reference engine and checked against the others.

    Raises ``ValueError`` naming the quantity when an engine does not reach a pin.
    """
    found = traces(spec, engines)
    missing = [name for name in FLOAT_ENGINES if name not in found]
    if missing:
        raise ValueError(f"{spec.id}: {', '.join(missing)} did not run it")
    claims: list[dict[str, Any]] = []
    for step in pinned_steps(spec):
        tol = tolerance(spec, step)
        for name in pinned_names(spec, step):
            pinned = format(value_of(found[REFERENCE], name, step), ".17g")
            for other, trace in found.items():
                value = value_of(trace, name, step)
                if not _holds(value, float(pinned), tol):
                    raise ValueError(
                        f"{spec.id}: {name} at step {step}: {other} gives {value:.17g}, "
                        f"{REFERENCE} {pinned} (beyond {tol:g})"
                    )
            claim: dict[str, Any] = {
                "id": claim_id(name, step),
                "quantity": name,
                "step": step,
                "where": "after the last step" if step and not spec.extended else f"step {step}",
                "pinned": pinned,
            }
            if tol != 1e-12:
                claim["pin_tolerance"] = tol
            claims.append(claim)
    return {
        "$schema": SCHEMA,
        "id": spec.id,
        "title": spec.covers,
        "source": {
            "document": SOURCE,
            "notes": (
                f"No document's numbers: {spec.feature}. Every value is pinned from the "
                f"engines' agreement ({', '.join(sorted(found))}; the pinned value is "
                f"{REFERENCE}'s). Regenerate with python -m tests.features.feature_fixtures."
            ),
        },
        "problem": problem_of(spec),
        "claims": claims,
    }


def problem_of(spec: Spec) -> dict[str, Any]:
    """The problem object, with ``epochs`` instead of ``steps`` where the spec says so."""
    written = problem_document(spec.problem)
    if spec.epochs:
        written = {("epochs" if k == "steps" else k): v for k, v in written.items()}
        written["epochs"] = spec.epochs
    return written


def text_of(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def paths() -> list[Path]:
    return sorted(FOLDER.glob("*.json"))


def main(names: list[str]) -> int:
    """Write the feature fixtures (those named, or all) from the engines that run here."""
    from bpcheck.checking import registry

    engines = {
        name: engine
        for name, engine in registry.in_process().items()
        if engine.available().available
    }
    for spec in SPECS:
        if names and spec.id not in names:
            continue
        doc = document(spec, engines)
        write_atomically(FOLDER / f"{spec.id}.json", text_of(doc))
        print(f"wrote {spec.id}.json: {len(doc['claims'])} pinned values")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
