"""The conformance fixtures: what the bundled documents never exercise, as fixture files.

The bundled fixtures come from tutorials, so they use what tutorials use: sigmoid
and identity units, half_sse, frozen or no biases, full batches and one sample.
An engine that gets tanh's derivative, relu'(0), a trainable bias over several
samples or a long unrecorded training wrong passes them all.  These fixtures cover
what they do not (:data:`SPECS`, one line of ``covers`` each), and ``bpcheck conform``
runs them beside the conformance checks, so that running fixtures against an engine
gives the suite's full protection.

They claim no document's numbers: every value is pinned (``%.17g``) from the
engines' agreement, the certified engine's value where it is installed, the
reference engine's otherwise, and :func:`documents` refuses to pin a value the
engines do not agree on within the pin's tolerance.  Pins at step 0 hold the
loss, every gradient and every delta (a relu at exactly 0 has a delta of exactly
0); pins at the last step, reached without recording anything in between, hold
every parameter and the loss.

Regenerate with ``python -m bpcheck.testing.conformance_fixtures`` after a change
here; ``tests/conformance/test_conformance_fixtures.py`` fails while the files and
this module disagree.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bpcheck.checking.check import agreement_tolerance
from bpcheck.io.files import write_atomically
from bpcheck.model import quantities as q
from bpcheck.model.engine import CannotRun, Engine
from bpcheck.model.problem import Layer, Problem
from bpcheck.testing import minimal_problems as mp
from bpcheck.testing.documents import problem_document

FOLDER = Path(__file__).resolve().parent / "conformance-fixtures"
SCHEMA = "../../io/schema/fixture-v1.schema.json"
LONG = 200
"""Steps of the long trainings: every step between 0 and the last is unrecorded."""
SOURCE = "bpcheck conformance fixtures"


@dataclass(frozen=True)
class Spec:
    """One conformance fixture: its id, what it covers, and its problem."""

    id: str
    covers: str
    problem: Problem
    tolerance: float = 0.0
    """A pin tolerance wider than the engines' agreement tolerance, when the problem's own
    rounding needs it (say why in ``covers``)."""


def _layer(
    weights: tuple[tuple[float, ...], ...],
    activation: str,
    bias_kind: str = "per_neuron",
    bias: tuple[float, ...] = (),
    trainable: bool = True,
) -> Layer:
    return Layer(weights, activation, bias_kind, bias, trainable)


TANH_HIDDEN = ((0.4, -0.3, 0.2), (-0.5, 0.6, 0.1), (0.3, 0.25, -0.45), (-0.2, -0.35, 0.5))
OUT_2x4 = ((0.7, -0.4, 0.2, 0.5), (0.3, 0.8, -0.6, 0.1))
INPUTS_3 = ((0.5, -1.0, 0.25), (-0.75, 0.5, 1.0), (0.9, 0.1, -0.6))

HIDDEN_3 = ((0.4, -0.3, 0.2), (-0.5, 0.6, 0.1), (0.3, 0.25, -0.45))
OUT_2x3 = ((0.7, -0.4, 0.2), (0.3, 0.8, -0.6))
OUT_3x3 = ((0.7, -0.4, 0.2), (0.3, 0.8, -0.6), (-0.2, 0.1, 0.5))

FEATURE_SPECS: tuple[Spec, ...] = (
    Spec(
        "conformance-new-activations",
        "leaky relu (slope 0.1), softplus and ELU (alpha 0.6) layers (3-4-3-2), mse",
        Problem(
            layers=(
                Layer(TANH_HIDDEN, "leaky_relu", "per_neuron", (0.1, -0.2, 0.05, 0.15), slope=0.1),
                Layer(
                    ((0.5, -0.3, 0.2, 0.4), (-0.1, 0.6, 0.3, -0.5), (0.2, 0.2, -0.4, 0.3)),
                    "softplus",
                    "shared",
                    (-0.3,),
                ),
                Layer(
                    ((0.6, -0.2, 0.3), (-0.4, 0.5, 0.7)),
                    "elu",
                    "per_neuron",
                    (-0.5, 0.1),
                    alpha=0.6,
                ),
            ),
            inputs=INPUTS_3,
            targets=((0.2, -0.4), (0.6, 0.3), (-0.3, 0.1)),
            loss="mse",
            learning_rate=0.1,
            steps=LONG,
        ),
    ),
    Spec(
        "conformance-bce-on-softmax",
        "bce on softmax outputs (the Jacobian, not the shortcut o - t), tanh hidden units",
        Problem(
            layers=(
                _layer(HIDDEN_3, "tanh", bias=(0.1, -0.2, 0.05)),
                _layer(OUT_3x3, "softmax", bias=(0.2, -0.1, 0.0)),
            ),
            inputs=INPUTS_3,
            targets=((0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
            loss="bce",
            learning_rate=0.2,
            steps=LONG,
        ),
    ),
    Spec(
        "conformance-softmax-ce-on-sigmoid",
        "softmax_ce on sigmoid outputs, relu hidden units, per-sample updates",
        Problem(
            layers=(
                _layer(HIDDEN_3, "relu", bias=(0.1, -0.2, 0.05)),
                _layer(OUT_2x3, "sigmoid", bias=(0.2, -0.1)),
            ),
            inputs=INPUTS_3,
            targets=((0.0, 1.0), (1.0, 0.0), (0.5, 0.5)),
            loss="softmax_ce",
            learning_rate=0.2,
            steps=LONG + 1,
            batch="per_sample",
        ),
    ),
    Spec(
        "conformance-objective",
        "objective output 2: the gradient of one output (no loss, no targets), 20 steps",
        Problem(
            layers=(
                _layer(HIDDEN_3, "tanh", bias=(0.1, -0.2, 0.05)),
                _layer(OUT_2x3, "sigmoid", bias=(0.2, -0.1)),
            ),
            inputs=INPUTS_3,
            targets=((0.0, 0.0),) * 3,
            loss="output",
            objective=2,
            learning_rate=0.3,
            steps=20,
        ),
    ),
    Spec(
        "conformance-optimizers",
        "Nesterov momentum 0.9, weight decay 0.01, the hidden layer's own rate 0.05, "
        "mini-batches of 2 in the order 3, 1, 2",
        Problem(
            layers=(
                Layer(
                    TANH_HIDDEN, "tanh", "per_neuron", (0.1, -0.2, 0.05, 0.15), learning_rate=0.05
                ),
                _layer(OUT_2x4, "sigmoid", "shared", (-0.2,)),
            ),
            inputs=INPUTS_3,
            targets=((0.2, 0.8), (0.7, 0.1), (0.4, 0.6)),
            loss="half_sse",
            learning_rate=0.2,
            steps=LONG,
            batch="mini",
            batch_size=2,
            sample_order=(2, 0, 1),
            momentum=0.9,
            nesterov=True,
            weight_decay=0.01,
        ),
    ),
    Spec(
        "conformance-momentum-sequential",
        "classical momentum 0.8 in sequential order, per-sample updates, identity output",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "sigmoid", bias=(0.1, -0.2, 0.05, 0.15)),
                _layer(OUT_2x4, "identity", bias=(0.2, -0.1)),
            ),
            inputs=INPUTS_3,
            targets=((0.2, -0.5), (0.7, 0.1), (-0.3, 0.4)),
            loss="sse",
            learning_rate=0.02,
            steps=LONG + 1,
            batch="per_sample",
            update_order="sequential",
            momentum=0.8,
        ),
    ),
    Spec(
        "conformance-float32",
        "precision float32: every engine computes in float32 (pins within float32's "
        "agreement tolerance; the certified engine cannot run it), 20 steps",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "tanh", bias=(0.1, -0.2, 0.05, 0.15)),
                _layer(OUT_2x4, "sigmoid", bias=(0.2, -0.1)),
            ),
            inputs=INPUTS_3,
            targets=((0.2, 0.8), (0.7, 0.1), (0.4, 0.6)),
            loss="mse",
            learning_rate=0.5,
            steps=20,
            precision="float32",
        ),
    ),
)
"""Issue 17's features: new activations, pairings, the objective, optimizers, float32."""

SPECS: tuple[Spec, ...] = (
    Spec(
        "conformance-tanh-mse",
        "tanh units, mse over 3 samples x 2 outputs, per-neuron trainable biases, non-square",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "tanh", bias=(0.1, -0.2, 0.05, 0.15)),
                _layer(OUT_2x4, "tanh", bias=(0.2, -0.1)),
            ),
            inputs=INPUTS_3,
            targets=((0.2, -0.5), (0.7, 0.1), (-0.3, 0.4)),
            loss="mse",
            learning_rate=0.3,
            steps=LONG,
        ),
    ),
    Spec(
        "conformance-relu-kink",
        "relu units with net inputs of exactly 0 (relu'(0) = 0), shared trainable biases",
        replace(mp.relu_kink_problem("shared"), steps=LONG, learning_rate=0.05),
    ),
    Spec(
        "conformance-relu-kink-per-neuron",
        "relu at exactly 0 with per-neuron biases, per-sample updates",
        replace(
            mp.relu_kink_problem("per_neuron"), steps=LONG, learning_rate=0.05, batch="per_sample"
        ),
    ),
    Spec(
        "conformance-softmax-large-nets",
        "softmax over net inputs near 800 (e^800 overflows: the largest must be subtracted); "
        "dyadic numbers, so that its net inputs are exact; no update, as a net input near 800 "
        "is rounded by 1e-13 once updated, and float engines then differ beyond 1e-12",
        Problem(
            layers=(
                _layer(
                    ((0.5, -0.25, 0.125), (-0.375, 0.75, 0.25), (0.25, 0.5, -0.625)),
                    "identity",
                    bias=(0.125, -0.25, 0.0625),
                ),
                _layer(
                    ((0.75, -0.5, 0.25), (0.25, 0.875, -0.625), (-0.5, 0.125, 0.375)),
                    "softmax",
                    bias=(800.0, 800.5, 799.25),
                ),
            ),
            inputs=((0.5, -1.0, 0.25), (-0.75, 0.5, 1.0), (1.0, 0.25, -0.5)),
            targets=((0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.25, 0.25, 0.5)),
            loss="softmax_ce",
            learning_rate=0.125,
            steps=0,
        ),
    ),
    Spec(
        "conformance-bce",
        "bce over several steps and samples, tanh hidden layer, shared trainable biases",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "tanh", "shared", (0.1,)),
                _layer(OUT_2x4, "sigmoid", "shared", (-0.2,)),
            ),
            inputs=INPUTS_3,
            targets=((1.0, 0.0), (0.0, 1.0), (0.75, 0.25)),
            loss="bce",
            learning_rate=0.4,
            steps=LONG,
        ),
    ),
    Spec(
        "conformance-softmax-ce-per-sample",
        "softmax_ce with relu hidden units, per-sample updates, per-neuron biases",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "relu", bias=(0.1, -0.2, 0.05, 0.15)),
                _layer(OUT_2x4, "softmax", bias=(0.2, -0.1)),
            ),
            inputs=INPUTS_3,
            targets=((0.0, 1.0), (1.0, 0.0), (0.5, 0.5)),
            loss="softmax_ce",
            learning_rate=0.2,
            steps=LONG + 1,
            batch="per_sample",
        ),
    ),
    Spec(
        "conformance-shared-bias-samples",
        "sigmoid, half_sse, shared trainable biases over 3 samples in a full batch",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "sigmoid", "shared", (0.35,)),
                _layer(OUT_2x4, "sigmoid", "shared", (0.6,)),
            ),
            inputs=INPUTS_3,
            targets=((0.01, 0.99), (0.5, 0.2), (0.9, 0.1)),
            loss="half_sse",
            learning_rate=0.5,
            steps=LONG,
        ),
    ),
    Spec(
        "conformance-per-sample-sse",
        "sse with per-sample updates over 3 samples, identity output, frozen hidden bias",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "tanh", bias=(0.1, -0.2, 0.05, 0.15), trainable=False),
                _layer(OUT_2x4, "identity", bias=(0.2, -0.1)),
            ),
            inputs=INPUTS_3,
            targets=((0.2, -0.5), (0.7, 0.1), (-0.3, 0.4)),
            loss="sse",
            learning_rate=0.05,
            steps=LONG + 1,
            batch="per_sample",
        ),
    ),
    Spec(
        "conformance-mixed-sequential",
        "relu, tanh, sigmoid and identity layers (3-4-3-2), sequential order, mse",
        Problem(
            layers=(
                _layer(TANH_HIDDEN, "relu", bias=(0.1, -0.2, 0.05, 0.15)),
                _layer(
                    ((0.5, -0.3, 0.2, 0.4), (-0.1, 0.6, 0.3, -0.5), (0.2, 0.2, -0.4, 0.3)),
                    "tanh",
                    "shared",
                    (0.05,),
                ),
                _layer(((0.6, -0.2, 0.3), (-0.4, 0.5, 0.7)), "sigmoid", "none"),
            ),
            inputs=INPUTS_3,
            targets=((0.2, 0.8), (0.6, 0.3), (0.9, 0.1)),
            loss="mse",
            learning_rate=0.5,
            steps=LONG,
            update_order="sequential",
        ),
    ),
    Spec(
        "conformance-mse-many-samples",
        "mse over 4 samples x 3 outputs (divided by 12), identity units, per-neuron biases",
        Problem(
            layers=(
                _layer(
                    ((0.2, -0.1), (0.3, 0.25), (-0.15, 0.4)),
                    "identity",
                    bias=(0.05, -0.1, 0.2),
                ),
            ),
            inputs=((1.0, 0.5), (-0.5, 1.5), (0.25, -1.0), (2.0, 0.0)),
            targets=((0.3, 0.2, -0.1), (0.1, 0.5, 0.4), (-0.2, 0.0, 0.3), (0.6, 0.6, 0.0)),
            loss="mse",
            learning_rate=0.1,
            steps=LONG,
        ),
    ),
    *FEATURE_SPECS,
)
"""Every conformance fixture; ``covers`` is its title and says what the seeds do not draw."""


def claim_id(name: str, step: int) -> str:
    """A claim id from a quantity name: ``dE_dw[1,2,3]`` at step 0 is ``dE_dw.1.2.3-at-0``."""
    slug = re.sub(r"[\[,]", ".", name).replace("]", "").replace("@", ".s")
    return f"{slug}-at-{step}"


def pinned_names(problem: Problem, step: int) -> list[str]:
    """At step 0: the loss, every gradient and delta; at the last step: parameters and loss."""
    prefixes = ("w[", "b[") if step else ("dE_dw[", "dE_db[", "delta[")
    names = q.names_at_step(problem, step, extended=False)
    return [n for n in names if n == q.LOSS or n.startswith(prefixes)]


def pin_tolerance(step: int, precision: str = "float64") -> float:
    """The engines' own agreement tolerance at ``step`` (1e-12, growing to 2e-10 at 200; in
    float32's epsilons for a float32 problem)."""
    return agreement_tolerance(step, precision)


def _holds(value: float, pinned: float, tolerance: float) -> bool:
    """The rule ``bpcheck run`` judges a pin by (``checking.check.pin_holds``)."""
    return math.isclose(value, pinned, rel_tol=tolerance, abs_tol=tolerance * 1e-3)


def document(spec: Spec, engines: Mapping[str, Engine], source: str) -> dict[str, Any]:
    """The fixture of ``spec``, pinned to ``engines[source]`` and checked against the others.

    Raises ``ValueError`` naming the quantity when an engine does not reach a pin.
    """
    problem = spec.problem
    steps = sorted({0, problem.steps})
    traces = {}
    for name, engine in engines.items():
        try:
            traces[name] = engine.run(problem, set(steps))
        except CannotRun:  # the certified engine and float32: pinned from the others
            continue
    source = source if source in traces else next(iter(traces))
    claims: list[dict[str, Any]] = []
    for step in steps:
        tolerance = max(pin_tolerance(step, problem.precision), spec.tolerance)
        for name in pinned_names(problem, step):
            value = traces[source][step][name]
            pinned = format(value, ".17g")
            for other, trace in traces.items():
                if not _holds(trace[step][name], float(pinned), tolerance):
                    raise ValueError(
                        f"{spec.id}: {name} at step {step}: {other} gives "
                        f"{trace[step][name]:.17g}, {source} {pinned} (beyond {tolerance:g})"
                    )
            claim: dict[str, Any] = {
                "id": claim_id(name, step),
                "quantity": name,
                "step": step,
                "where": "after the last step" if step else "before any update",
                "pinned": pinned,
            }
            if tolerance != 1e-12:
                claim["pin_tolerance"] = tolerance
            claims.append(claim)
    engines_named = ", ".join(sorted(traces))
    return {
        "$schema": SCHEMA,
        "id": spec.id,
        "title": spec.covers,
        "source": {
            "document": SOURCE,
            "notes": (
                "No document's numbers: every value is pinned from the engines' agreement "
                f"({engines_named}; the pinned value is {source}'s), so that an engine run "
                "against these fixtures is checked where the tutorials' fixtures are silent. "
                "Regenerate with python -m bpcheck.testing.conformance_fixtures."
            ),
        },
        "problem": problem_document(problem),
        "claims": claims,
    }


def documents(engines: Mapping[str, Engine]) -> dict[str, dict[str, Any]]:
    """Every conformance fixture by file name, pinned to the certified engine if present."""
    source = "certified" if "certified" in engines else next(iter(engines))
    return {f"{spec.id}.json": document(spec, engines, source) for spec in SPECS}


def text_of(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1) + "\n"


def paths() -> list[Path]:
    """The conformance fixture files, as installed with bpcheck."""
    return sorted(FOLDER.glob("*.json"))


def main() -> int:
    """Write every conformance fixture from the engines that can run here."""
    from bpcheck.checking import registry

    engines = {
        name: engine
        for name, engine in registry.in_process().items()
        if engine.available().available
    }
    FOLDER.mkdir(exist_ok=True)
    for name, doc in documents(engines).items():
        write_atomically(FOLDER / name, text_of(doc))
        print(f"wrote {FOLDER / name}: {len(doc['claims'])} pinned values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
