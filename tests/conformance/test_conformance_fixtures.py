"""The conformance fixtures: current, passed by every engine, and failed by the bugs they target.

The fixtures live in ``bpcheck/testing/conformance-fixtures/`` (installed with bpcheck, so
that ``bpcheck conform`` can run them against a user's engine); their pins come from the
engines' agreement (:mod:`bpcheck.testing.conformance_fixtures`).  The last tests run
``bpcheck conform`` as a user does, on broken engines installed as plug-ins, and read
that it names the fixture and the claim that caught each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import OK, SKIPPED, check_fixture
from bpcheck.io.loader import load
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture
from bpcheck.testing import conformance_fixtures as cf
from bpcheck.testing.documents import problem_document
from tests.conformance.broken_features import FEATURE_BUGS
from tests.support import broken_engines as be
from tests.support.paths import ROOT

BPCHECK = str(Path(sys.executable).parent / "bpcheck")
COMPILING = {"autodiff"}
"""Engines that compile per shape: a run over every fixture takes seconds, so ``slow``."""


@pytest.fixture(scope="module")
def fixtures() -> dict[str, Fixture]:
    return {path.name: load(path) for path in cf.paths()}


def test_the_files_are_those_the_module_describes(fixtures: dict[str, Fixture]) -> None:
    """Same fixtures, problems and pinned names as SPECS: regenerate after changing either."""
    assert sorted(fixtures) == sorted(f"{spec.id}.json" for spec in cf.SPECS)
    for spec in cf.SPECS:
        document = json.loads((cf.FOLDER / f"{spec.id}.json").read_text())
        assert document["problem"] == problem_document(spec.problem), spec.id
        pinned = {(c["quantity"], c["step"]) for c in document["claims"]}
        expected = {
            (name, step)
            for step in sorted({0, spec.problem.steps})
            for name in cf.pinned_names(spec.problem, step)
        }
        assert pinned == expected, spec.id


def test_the_set_covers_what_the_bundled_fixtures_leave_out(
    fixtures: dict[str, Fixture],
) -> None:
    problems = [f.problem for f in fixtures.values()]
    activations = {layer.activation for p in problems for layer in p.layers}
    assert {"tanh", "relu", "softmax", "sigmoid", "identity"} <= activations
    several = [p for p in problems if p.n_samples >= 2]
    trained = {layer.bias_kind for p in several for layer in p.layers if layer.bias_trainable}
    assert {"shared", "per_neuron"} <= trained, "trainable biases of each kind, several samples"
    assert any(p.batch == "per_sample" for p in several)
    assert any(p.update_order == "sequential" for p in problems)
    assert any(len({layer.activation for layer in p.layers}) >= 3 for p in problems), "mixed"
    assert any(any(layer.size != layer.fan_in for layer in p.layers) for p in problems)
    assert any(p.loss == "mse" and p.n_samples >= 2 and p.n_outputs >= 2 for p in problems)
    for loss in ("bce", "softmax_ce", "mse", "sse", "half_sse"):
        assert any(p.loss == loss and p.steps >= cf.LONG for p in problems), f"long {loss}"
    kinks = [
        c
        for f in fixtures.values()
        for c in f.claims
        if c.quantity and c.quantity.startswith("delta") and c.pinned == "0"
    ]
    assert kinks, "a relu delta pinned at exactly 0 (relu'(0) = 0)"
    large = [p for p in problems if any(max(layer.bias, default=0.0) > 709 for layer in p.layers)]
    assert any(p.layers[-1].activation == "softmax" for p in large)


def test_the_set_covers_the_features_of_issue_17(fixtures: dict[str, Fixture]) -> None:
    problems = [f.problem for f in fixtures.values()]
    activations = {layer.activation for p in problems for layer in p.layers}
    assert {"leaky_relu", "softplus", "elu"} <= activations
    pairs = {(p.loss, p.layers[-1].activation) for p in problems}
    assert {("bce", "softmax"), ("softmax_ce", "sigmoid")} <= pairs
    assert any(p.loss == "output" for p in problems), "an objective"
    assert any(p.batch == "mini" and p.sample_order for p in problems), "mini-batches in order"
    assert any(p.momentum and p.nesterov for p in problems), "Nesterov"
    assert any(p.momentum and not p.nesterov for p in problems), "classical momentum"
    assert any(p.weight_decay for p in problems), "weight decay"
    assert any(any(x.learning_rate is not None for x in p.layers) for p in problems), "rates"
    assert any(p.precision == "float32" for p in problems), "float32"


def engine_params() -> list[object]:
    return [
        pytest.param(name, marks=[pytest.mark.slow] * (name in COMPILING))
        for name in registry.names()
    ]


@pytest.mark.parametrize("name", engine_params())
def test_every_engine_passes_every_conformance_fixture(
    name: str, engines: dict[str, Engine], fixtures: dict[str, Fixture]
) -> None:
    engine = engines[name]
    status = engine.available()
    if not status.available:
        pytest.skip(str(status.reason))
    for fixture in fixtures.values():
        result = check_fixture(fixture, {name: engine})
        [run] = result.runs
        if run.outcome == SKIPPED:  # the certified engine and float32
            assert run.reason and "precision:float32" in run.reason, run.reason
            continue
        wrong = [f"{c.claim.id}: {c.message}" for c in result.claims if c.outcome != OK]
        assert not wrong, f"{fixture.id}: {wrong[:3]}"


FEATURES_CAUGHT = (
    "leaky-slope-ignored",
    "softplus-slope-is-output",
    "momentum-sign-wrong",
    "nesterov-as-classical",
    "weight-decay-on-biases",
    "layer-rate-ignored",
    "sample-order-ignored",
    "objective-seeds-every-output",
    "bce-fused-on-softmax",
    "softmax-ce-fused-on-sigmoid",
)
"""Broken features (tests/conformance/broken_features.py) the feature fixtures must catch; the
others are the conformance checks' (kinks, float32's rounding, the extended names)."""

CAUGHT = {
    "bias-update-without-rate": be.BiasUpdateWithoutRate,
    "tanh-one-minus-out": be.TanhOneMinusOut,
    "relu-slope-one-at-zero": be.ReluSlopeOneAtZero,
    "softmax-without-max-shift": be.SoftmaxWithoutMaxShift,
    "softmax-diagonal-only": be.SoftmaxDiagonalOnly,
    "bce-wrong-slope": be.BceWrongSlope,
    **be.LEAN_PATH_BUGS,
    **{name: FEATURE_BUGS[name][1] for name in FEATURES_CAUGHT},
}
"""Every bug the conformance fixtures must catch (the issue's list and the lean-path bugs)."""


@pytest.mark.parametrize("name", CAUGHT)
def test_the_conformance_fixtures_catch_the_bug(name: str, fixtures: dict[str, Fixture]) -> None:
    engine = CAUGHT[name]()
    caught = []
    for fixture in fixtures.values():
        result = check_fixture(fixture, {name: engine})
        if any(c.outcome != OK for c in result.claims):
            caught.append(fixture.id)
    assert caught, f"{name} passed every conformance fixture"


# --- bpcheck conform, as a user runs it --------------------------------------------------------

PLUGINS = {
    "wrong-bias-update": "tests.support.broken_engines:BiasUpdateWithoutRate",
    "tanh-one-minus-out": "tests.support.broken_engines:TanhOneMinusOut",
    "relu-slope-one-at-zero": "tests.support.broken_engines:ReluSlopeOneAtZero",
}
EXPECTED = {
    "wrong-bias-update": ("conformance-shared-bias-samples", "b.1-at-200"),
    "tanh-one-minus-out": ("conformance-tanh-mse", "dE_dw.1.1.1-at-0"),
    "relu-slope-one-at-zero": ("conformance-relu-kink", "delta.1.1.s1-at-0"),
}
"""Broken plug-in -> a fixture and a claim ``bpcheck conform`` must name for it."""


def install(folder: Path) -> dict[str, str]:
    """The broken engines as real plug-ins: a distribution on PYTHONPATH with entry points."""
    info = folder / "broken_engines_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-engines-plugin\n")
    lines = [f"{name} = {target}" for name, target in PLUGINS.items()]
    (info / "entry_points.txt").write_text("[bpcheck.engines]\n" + "\n".join(lines) + "\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(folder), str(ROOT), env.get("PYTHONPATH")])
    )
    return env


def named_claims(output: str, fixture: str) -> str:
    """The claims the closing summary names for ``fixture``, on one line (it wraps them)."""
    lines = output[output.index("failure(s)") :].splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(f"  {fixture}: "))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line)
    return " ".join(" ".join(block).split()) + ","


@pytest.mark.parametrize("name", PLUGINS)
def test_conform_fails_naming_the_fixture_and_the_claim(name: str, tmp_path: Path) -> None:
    env = install(tmp_path)
    done = subprocess.run(
        [BPCHECK, "conform", "--engine", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    fixture, claim = EXPECTED[name]
    assert f" {claim}," in named_claims(done.stdout, fixture), done.stdout[-3000:]
    assert "Traceback" not in done.stderr, done.stderr


def test_conform_passes_a_correct_engine(tmp_path: Path) -> None:
    done = subprocess.run(
        [BPCHECK, "conform", "--engine", "loops"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "every check and" in done.stdout


@pytest.mark.parametrize("name", ["loops", "matrices"])
def test_the_lean_engines_pass_every_bundled_fixture_in_process(
    name: str, engines: dict[str, Engine], bundled: dict[Path, Fixture]
) -> None:
    """The bundled fixtures, in this process: what mutation testing of the engines needs
    (``pytest fixtures/`` runs every engine on them too, but in worker processes, where a
    mutant planted in this process does not reach)."""
    for fixture in bundled.values():
        result = check_fixture(fixture, {name: engines[name]})
        wrong = [f"{c.claim.id}: {c.message}" for c in result.claims if c.outcome != OK]
        assert not wrong, f"{fixture.id}: {wrong[:3]}"
