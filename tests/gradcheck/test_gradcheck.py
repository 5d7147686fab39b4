"""Gradient checks: they catch a planted 1e-6 error, never cry wolf, and see kinks."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Collection
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import mpmath
import numpy as np
import pytest

from bpcheck.checking import registry
from bpcheck.checking.check import Outcome
from bpcheck.cli import main as cli_main
from bpcheck.engines.loops import LoopsEngine
from bpcheck.engines.matrices import MatricesEngine
from bpcheck.errors import BadInput
from bpcheck.gradcheck.differences import DIRECTIONS, richardson_table, unit_directions
from bpcheck.gradcheck.engine_check import (
    AUTO_DIRECTIONAL_ABOVE,
    METHODS,
    check_gradients,
    resolve_method,
)
from bpcheck.gradcheck.error_model import rounding
from bpcheck.gradcheck.fixture_check import fixture_decimals, gradcheck_fixture, trained_problem
from bpcheck.gradcheck.methods import ALL_METHODS
from bpcheck.gradcheck.mpmath_reference import MP_DIGITS, MpNetwork
from bpcheck.gradcheck.network import Network
from bpcheck.gradcheck.result import GradcheckResult, Status, make_row
from bpcheck.gradcheck.result_file import (
    GradcheckRun,
    read_gradcheck_results,
    schema,
    write_gradcheck_results,
)
from bpcheck.io.loader import load
from bpcheck.model.engine import Availability, CannotRun, Engine
from bpcheck.model.problem import Layer, Problem, batch_of_step
from bpcheck.model.quantities import Trace
from bpcheck.testing.conformance import mazur_like, varied_problems
from tests.support.broken_engines import broken_engine

ROOT = Path(__file__).resolve().parents[2]
MAZUR = ROOT / "fixtures" / "mazur" / "mazur-2015.json"
PLANTED = 1e-6


class PlantedEngine:
    """The loops engine with one gradient entry off by a relative ``error``."""

    version = "1"

    def __init__(self, parameter: str, error: float = PLANTED) -> None:
        self.inner = LoopsEngine()
        self.name = f"planted-{parameter}"
        self.capabilities = self.inner.capabilities
        self.parameter = parameter
        self.error = error

    def available(self) -> Availability:
        return Availability(True)

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        trace = self.inner.run(problem, record)
        for values in trace.values():
            values["dE_d" + self.parameter] *= 1.0 + self.error
        return trace


class RaisingEngine(LoopsEngine):
    name = "raising"

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise ZeroDivisionError("planted bug")


class RefusingEngine(LoopsEngine):
    name = "refusing"

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise CannotRun("does not do this")


class UnavailableEngine(LoopsEngine):
    name = "unavailable"

    def available(self) -> Availability:
        return Availability(False, "needs a GPU")


def deep_problem() -> Problem:
    return dict(varied_problems())["tanh-relu-sigmoid-mse"]


def gradient_names(problem: Problem) -> list[str]:
    """Trainable parameters whose gradient is not 0 (a relative error of 0 is no error)."""
    network = Network(problem, batch_of_step(problem, 0))
    values = LoopsEngine().run(replace(problem, steps=0), {0})[0]
    return [n for n in network.names() if values["dE_d" + n] != 0.0]


PLANTED_CASES = [
    (label, problem, name)
    for label, problem in (("mazur", mazur_like()), ("deep", deep_problem()))
    for name in gradient_names(problem)
]


# --- power: a planted error is caught --------------------------------------------------


@pytest.mark.parametrize("method", ["richardson", "mpmath"])
@pytest.mark.parametrize(
    ("label", "problem", "name"), PLANTED_CASES, ids=[f"{c[0]}-{c[2]}" for c in PLANTED_CASES]
)
def test_a_planted_1e_6_error_is_caught(
    label: str, problem: Problem, name: str, method: str
) -> None:
    result = check_gradients(PlantedEngine(name), problem, method=method)
    failing = [r.parameter for r in result.rows if r.status == "fail"]
    assert result.outcome == "failed" and failing == [name], (failing, result.rows)


def test_planted_cases_cover_every_layer_and_bias_kind() -> None:
    assert len(PLANTED_CASES) >= 25
    names = {name for _, _, name in PLANTED_CASES}
    assert {"w[1,1,1]", "w[2,1,1]", "w[3,1,1]", "b[1]", "b[2,1]"} <= names


@pytest.mark.parametrize(
    ("method", "error"), [("central", 1e-4), ("directional", 1e-5), ("richardson", 1e-8)]
)
def test_each_method_catches_errors_above_its_threshold(method: str, error: float) -> None:
    """Central (no extrapolation) and directional are coarser, but still far from 1e-2 guesses."""
    result = check_gradients(PlantedEngine("w[2,1,1]", error), mazur_like(), method=method)
    assert result.outcome == "failed", result.rows


@pytest.mark.parametrize("name", ["no-output-derivative", "bias-gradient-dropped"])
def test_classic_backprop_bugs_fail_the_check(name: str) -> None:
    result = check_gradients(broken_engine(name), mazur_like())
    assert result.outcome == "failed"


# --- no false alarm on correct engines -------------------------------------------------

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")


def random_problem(seed: int) -> Problem:
    """A small network of 1-3 layers with every feature of the model drawn at random.

    Values have two decimals, as documents print them, so that some relu net
    inputs land exactly on 0 in decimal arithmetic.
    """
    rng = random.Random(seed)
    loss = rng.choice(["half_sse", "sse", "mse", "bce", "softmax_ce"])
    depth = rng.randint(1, 3)
    sizes = [rng.randint(1, 4) for _ in range(depth + 1)]
    if loss == "softmax_ce":
        sizes[-1] = max(2, sizes[-1])
    layers = []
    for index in range(depth):
        activation = rng.choice(ACTIVATIONS)
        if index == depth - 1:
            activation = {"bce": "sigmoid", "softmax_ce": "softmax"}.get(loss, activation)
        kind = rng.choice(["none", "shared", "per_neuron"])
        count = {"none": 0, "shared": 1, "per_neuron": sizes[index + 1]}[kind]
        weights = tuple(
            tuple(round(rng.gauss(0, 1), 2) for _ in range(sizes[index]))
            for _ in range(sizes[index + 1])
        )
        bias = tuple(round(rng.gauss(0, 0.5), 2) for _ in range(count))
        layers.append(Layer(weights, activation, kind, bias, rng.random() < 0.7))
    samples = rng.randint(1, 3)
    inputs = tuple(
        tuple(round(rng.uniform(-1, 1), 2) for _ in range(sizes[0])) for _ in range(samples)
    )
    if loss == "softmax_ce":
        hot = [rng.randrange(sizes[-1]) for _ in range(samples)]
        targets = tuple(tuple(float(k == h) for k in range(sizes[-1])) for h in hot)
    else:
        targets = tuple(
            tuple(round(rng.uniform(0, 1), 2) for _ in range(sizes[-1])) for _ in range(samples)
        )
    batch = rng.choice(["full", "per_sample"])
    order = rng.choice(["simultaneous", "sequential"])
    return Problem(tuple(layers), inputs, targets, loss, 0.5, rng.randint(0, 3), batch, order)


SWEEP = [random_problem(seed) for seed in range(50)]


def test_the_sweep_covers_every_activation_loss_and_bias_kind() -> None:
    seen = {(layer.activation, layer.bias_kind) for p in SWEEP for layer in p.layers}
    assert {a for a, _ in seen} == {*ACTIVATIONS, "softmax"}
    assert {k for _, k in seen} == {"none", "shared", "per_neuron"}
    assert {p.loss for p in SWEEP} == {"half_sse", "sse", "mse", "bce", "softmax_ce"}


@pytest.mark.slow  # 50 random networks per engine and method
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("engine", [LoopsEngine(), MatricesEngine()], ids=["loops", "matrices"])
def test_no_false_alarm_on_random_networks(engine: Engine, method: str) -> None:
    checked = 0
    for seed, problem in enumerate(SWEEP):
        result = check_gradients(engine, problem, method=method, seed=seed)
        assert result.outcome == "ok", (seed, [r for r in result.rows if r.status == "fail"])
        checked += sum(r.status == "pass" for r in result.rows)
    assert checked >= 150


# --- the error model -------------------------------------------------------------------


def test_richardson_table_bounds_its_own_error() -> None:
    """On exp, whose derivatives are known, the estimated error covers the true one."""
    x = 0.3
    for levels in (0, 1, 2):
        for h in (2.0**-4, 2.0**-8, 2.0**-12):
            count = max(levels + 1, 2)
            steps = [h * 2.0**k for k in range(count)]
            differences = [(math.exp(x + s) - math.exp(x - s)) / (2 * s) for s in steps]
            noises = [2 * 2.0**-52 * math.exp(x) / (2 * s) for s in steps]
            estimate = richardson_table(differences, noises, levels)
            error = abs(estimate.value - math.exp(x))
            assert error <= estimate.truncation + estimate.rounding, (levels, h, estimate)


def test_richardson_is_tighter_than_central_and_mpmath_tighter_still() -> None:
    engine = LoopsEngine()
    worst = {}
    for method in ("central", "richardson", "mpmath"):
        rows = check_gradients(engine, mazur_like(), method=method).rows
        worst[method] = max(r.tolerance / abs(r.engine_value) for r in rows)
    assert worst["mpmath"] < 1e-13 < worst["richardson"] < 1e-9 < worst["central"] < 1e-7


@pytest.mark.parametrize("seed", range(20))
def test_the_loss_rounding_bound_covers_the_float64_loss(seed: int) -> None:
    """|fl(E) - E| <= the running error bound, E evaluated at 40 digits."""
    problem = SWEEP[seed]
    network = Network(problem, batch_of_step(problem, 0))
    bounds = rounding(network, network.theta)
    exact = MpNetwork(problem, network.batch, network.names(), {})
    with mpmath.mp.workdps(MP_DIGITS):
        reference = exact.loss()
        error = abs(mpmath.mpf(network.loss(network.theta)) - reference)
    assert error <= bounds.loss


def test_a_quadratic_loss_has_no_truncation_error() -> None:
    """Identity layers and half_sse: E is quadratic in each weight, so only rounding remains."""
    problem = dict(varied_problems())["identity-frozen-shared-bias"]
    result = check_gradients(LoopsEngine(), problem, method="central")
    assert result.outcome == "ok"
    assert all(r.tolerance < 1e-9 * abs(r.engine_value) for r in result.rows)


# --- kinks -------------------------------------------------------------------------------


def relu_at_zero() -> Problem:
    """Neuron 1 of the relu layer has net input 0.5 - 0.5 = 0 exactly."""
    return Problem(
        layers=(
            Layer(((1.0, -1.0), (0.3, 0.2)), "relu", "per_neuron", (0.0, 0.1), True),
            Layer(((2.0, 1.0),), "identity"),
        ),
        inputs=((0.5, 0.5),),
        targets=((1.0,),),
        loss="half_sse",
        steps=0,
    )


@pytest.mark.parametrize("method", METHODS)
def test_a_relu_at_zero_is_a_kink_with_one_sided_derivatives(method: str) -> None:
    result = check_gradients(MatricesEngine(), relu_at_zero(), method=method)
    assert result.outcome == "ok"
    kinks = {r.parameter: r for r in result.rows if r.status == "kink"}
    if method == "directional":
        assert len(kinks) == len(result.rows) == DIRECTIONS
        return
    assert set(kinks) == {"w[1,1,1]", "w[1,1,2]", "b[1,1]"}
    # E = 1/2 (1 - 2 relu(n1) - out2)^2; right of the kink dE/dn1 = -2 (1 - out2) = -1.3.
    left, right = kinks["b[1,1]"].one_sided or (math.nan, math.nan)
    assert left == pytest.approx(0.0, abs=1e-6)
    assert right == pytest.approx(-1.3, rel=1e-6)
    assert all(r.status == "pass" for r in result.rows if r.parameter not in kinks)


def test_a_relu_net_within_rounding_of_zero_is_a_kink() -> None:
    """0.1 * 0.3 - 0.03 is 0 in decimals and a few ulps from it in binary."""
    problem = Problem(
        (Layer(((0.1, -0.03),), "relu"), Layer(((2.0,),), "identity")),
        ((0.3, 1.0),),
        ((1.0,),),
        steps=0,
    )
    decimals = {"w[1,1,1]": "0.1", "w[1,1,2]": "-0.03", "out[0,1]@1": "0.3"}
    result = check_gradients(LoopsEngine(), problem, method="mpmath", decimals=decimals)
    assert [r.status for r in result.rows] == ["kink", "kink", "pass"]
    left, right = result.rows[0].one_sided or (math.nan, math.nan)
    assert abs(left) < 1e-15 and right == pytest.approx(-0.6)


# --- outcomes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "outcome", "reason"),
    [
        (RaisingEngine(), "errored", "ZeroDivisionError: planted bug"),
        (RefusingEngine(), "skipped", "does not do this"),
        (UnavailableEngine(), "skipped", "needs a GPU"),
    ],
)
def test_engine_trouble_is_an_outcome_not_a_crash(
    engine: Engine, outcome: str, reason: str
) -> None:
    result = check_gradients(engine, mazur_like())
    assert (result.outcome, result.reason, result.rows) == (outcome, reason, [])
    assert not result.passed and result.worst_relative_error == 0.0


def test_a_missing_capability_is_skipped() -> None:
    engine = LoopsEngine()
    engine.capabilities = frozenset()
    result = check_gradients(engine, mazur_like())
    assert result.outcome == "skipped" and "activation:sigmoid" in (result.reason or "")


def test_auto_picks_richardson_for_small_and_directional_for_large_networks() -> None:
    assert check_gradients(LoopsEngine(), mazur_like()).method == "richardson"
    assert resolve_method("auto", AUTO_DIRECTIONAL_ABOVE + 1) == "directional"
    with pytest.raises(ValueError, match="unknown method"):
        resolve_method("secant", 3)


def test_directional_checks_use_seeded_unit_directions() -> None:
    directions = unit_directions(50, 4, seed=7)
    assert np.allclose(np.linalg.norm(directions, axis=1), 1.0)
    assert np.array_equal(directions, unit_directions(50, 4, seed=7))
    assert not np.array_equal(directions, unit_directions(50, 4, seed=8))


# --- fixtures: decimals, trained parameters --------------------------------------------------


def test_fixture_decimals_are_the_exact_numbers_of_the_file() -> None:
    decimals = fixture_decimals(load(MAZUR))
    assert decimals["w[1,1,1]"] == Decimal("0.15")
    assert decimals["out[0,1]@1"] == Decimal("0.05")
    assert decimals["target[2]@1"] == Decimal("0.99")
    assert decimals["b[1]"] == Decimal("0.35")


def test_the_mpmath_reference_uses_the_decimals_given() -> None:
    problem = mazur_like()
    exact = {"w[1,1,1]": "0.15", "out[0,1]@1": "0.05", "target[1]@1": "0.01"}
    assert check_gradients(LoopsEngine(), problem, method="mpmath", decimals=exact).passed
    moved = {**exact, "w[1,1,1]": "0.1500001"}
    result = check_gradients(LoopsEngine(), problem, method="mpmath", decimals=moved)
    assert result.outcome == "failed"


def test_a_multi_step_fixture_is_checked_at_step_0_and_after_training() -> None:
    fixture = load(MAZUR)
    results = gradcheck_fixture(fixture, {"loops": LoopsEngine()})
    assert [(r.engine, r.step, r.outcome) for r in results] == [
        ("loops", 0, "ok"),
        ("loops", 10_000, "ok"),
    ]
    trained = max(abs(r.engine_value) for r in results[1].rows)
    assert trained < 1e-4 < max(abs(r.engine_value) for r in results[0].rows)


def test_a_one_step_fixture_is_checked_at_step_0_only() -> None:
    fixture = load(ROOT / "fixtures" / "rules-003" / "rules-003-sequential.json")
    results = gradcheck_fixture(fixture, {"loops": LoopsEngine()}, method="mpmath")
    assert [(r.step, r.method, r.outcome) for r in results] == [(0, "mpmath", "ok")]


def test_per_sample_training_is_checked_on_the_batch_of_the_last_step() -> None:
    problem = mazur_like(
        inputs=((0.05, 0.10), (0.9, -0.3)),
        targets=((0.01, 0.99), (0.5, 0.2)),
        batch="per_sample",
        steps=3,
    )
    values = LoopsEngine().run(problem, {3})[3]
    trained = trained_problem(problem, values)
    assert trained.inputs == ((0.9, -0.3),) and trained.steps == 0
    assert trained.layers[0].weights[0][0] == values["w[1,1,1]"]
    fixture = replace(load(MAZUR), problem=problem)
    results = gradcheck_fixture(fixture, {"loops": LoopsEngine()}, method="mpmath")
    assert [(r.step, r.outcome) for r in results] == [(0, "ok"), (3, "ok")]


# --- the command ---------------------------------------------------------------------------


def test_cli_quiet_run_writes_json_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gradcheck.json"
    paths = [str(ROOT / "fixtures" / "hmkcode"), str(ROOT / "fixtures" / "mazur")]
    code = cli_main(["gradcheck", *paths, "--engine", "loops", "--quiet", "--json", str(out)])
    printed = capsys.readouterr().out.splitlines()
    assert code == 0, printed
    assert printed[0].startswith("hmkcode-2018  loops  step 0  richardson  ok")
    assert printed[-1] == "3 fixture(s), 5 gradient check(s): 5 ok, 0 failed, 0 errored, 0 skipped"
    document = json.loads(out.read_text())
    assert set(document) == {"$schema", "bpcheck", "gradcheck"}
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert read_gradcheck_results(out).to_json() == document
    entry = document["gradcheck"][0]
    assert {k: entry[k] for k in ("fixture", "engine", "step", "method", "outcome")} == {
        "fixture": "hmkcode-2018",
        "engine": "loops",
        "step": 0,
        "method": "richardson",
        "outcome": "ok",
    }
    assert entry["path"].endswith("hmkcode-2018.json") and entry["reason"] is None
    row = entry["rows"][0]
    assert {
        "parameter",
        "engine",
        "reference",
        "abs_error",
        "rel_error",
        "tolerance",
        "status",
    } <= set(row)
    assert isinstance(row["engine"], float) and isinstance(entry["worst_relative_error"], float)


def test_cli_prints_the_table_and_exits_1_on_a_wrong_gradient(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engines: dict[str, Any] = {"planted": PlantedEngine("w[2,1,1]")}
    monkeypatch.setattr(registry, "all_engines", lambda: engines)
    code = cli_main(["gradcheck", str(ROOT / "fixtures" / "babin" / "babin.json")])
    printed = capsys.readouterr().out
    assert code == 1, printed
    lines = printed.splitlines()
    assert lines[1].split() == [
        "parameter", "engine", "dE/dθ", "reference", "dE/dθ", "abs", "error", "abs", "tolerance",
        "outcome",
    ]  # fmt: skip
    assert [line.split()[-1] for line in lines if line.startswith("w[2,1,1]")] == ["failed"]


def test_cli_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert cli_main(["gradcheck", str(broken)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert cli_main(["gradcheck", str(MAZUR), "--engine", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("--engine: unknown engine 'nosuch'") and "\n" not in err


# --- the results file ------------------------------------------------------------------------


def test_the_schema_names_every_status_outcome_and_method() -> None:
    """The schema's enums are the StrEnums' members, so neither can drift from the other."""
    definitions = schema()["$defs"]
    assert definitions["row"]["properties"]["status"]["enum"] == list(Status)
    assert definitions["check"]["properties"]["outcome"]["enum"] == list(Outcome)
    assert definitions["check"]["properties"]["method"]["enum"] == list(ALL_METHODS)


def test_results_validate_against_the_schema_and_read_back_as_written(tmp_path: Path) -> None:
    """Kinks, a skipped and an errored engine, and a NaN (null in the file) all round-trip."""
    kinked = check_gradients(MatricesEngine(), relu_at_zero(), method="mpmath")
    errored = check_gradients(RaisingEngine(), mazur_like())
    not_a_number = make_row("w[1,1,1]", math.nan, 0.5, 1e-9)
    diverged = GradcheckResult("nan", 3, "central", [not_a_number], Outcome.FAILED)
    fixture = load(MAZUR)
    run = GradcheckRun.of((fixture, r) for r in [kinked, errored, diverged])
    out = tmp_path / "gradcheck.json"
    write_gradcheck_results(out, run)

    document = json.loads(out.read_text())
    jsonschema.Draft202012Validator(schema()).validate(document)
    read = read_gradcheck_results(out)
    assert read == run
    assert [c.outcome for c in read.checks] == ["ok", "errored", "failed"]
    kink = next(r for r in read.checks[0].rows if r.status == Status.KINK)
    assert kink.one_sided is not None and kink.one_sided[1] is not None
    nan_row = read.checks[2].rows[0]
    assert (nan_row.engine, nan_row.reference, nan_row.abs_error) == (None, 0.5, None)
    assert document["gradcheck"][2]["rows"][0]["engine"] is None


def valid_document() -> dict[str, Any]:
    run = GradcheckRun.of([(load(MAZUR), check_gradients(LoopsEngine(), mazur_like()))])
    return run.to_json()


def _without_status(document: dict[str, Any]) -> None:
    del document["gradcheck"][0]["rows"][1]["status"]


def _bad_status(document: dict[str, Any]) -> None:
    document["gradcheck"][0]["rows"][0]["status"] = "ok"


def _string_step(document: dict[str, Any]) -> None:
    document["gradcheck"][0]["step"] = "0"


def _no_schema(document: dict[str, Any]) -> None:
    del document["$schema"]


def _extra_field(document: dict[str, Any]) -> None:
    document["gradcheck"][0]["worst"] = 1.0


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (_without_status, "$.gradcheck[0].rows[1]: missing field: 'status'"),
        (_bad_status, '$.gradcheck[0].rows[0].status: expected one of "pass", "fail", "kink"'),
        (_string_step, '$.gradcheck[0].step: expected integer, found "0"'),
        (_no_schema, "$: missing field: '$schema'"),
        (_extra_field, "$.gradcheck[0]: unknown field 'worst'"),
    ],
)
def test_a_malformed_results_file_is_one_line_of_bad_input(
    tmp_path: Path, spoil: Any, expected: str
) -> None:
    document = valid_document()
    spoil(document)
    path = tmp_path / "gradcheck.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BadInput) as raised:
        read_gradcheck_results(path)
    assert len(raised.value.lines) == 1
    assert raised.value.lines[0].startswith(f"{path}: {expected}"), raised.value.lines


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{", ": line 1 column 2: expected JSON"), (None, ": $: cannot read the file")],
)
def test_an_unreadable_results_file_is_one_line_of_bad_input(
    tmp_path: Path, text: str | None, expected: str
) -> None:
    path = tmp_path / "gradcheck.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(BadInput) as raised:
        read_gradcheck_results(path)
    assert len(raised.value.lines) == 1 and raised.value.lines[0].startswith(f"{path}{expected}")
