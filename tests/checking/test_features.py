"""The harness and issue 17's features: capabilities per claim, E_change, float32, cache, protocol.

The engines here are stand-ins that return every name a problem has
(:class:`Named`), with values made up from the name and the step: what is tested
is what bpcheck does with a trace (which names it demands of which engine, what it
derives, how it compares and judges), not any engine's arithmetic.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Collection
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from bpcheck.checking import protocol
from bpcheck.checking.cache import CachedEngine, TraceCache, problem_key, structure
from bpcheck.checking.check import (
    ERRORED,
    OK,
    SKIPPED,
    EngineRun,
    agree,
    agreement_floor,
    agreement_tolerance,
    check_fixture,
    disagreements,
    judge,
    run_problem,
)
from bpcheck.checking.derived import MissingStep, enclosures_with_derived, with_derived
from bpcheck.checking.traces import BadTrace, checked_trace
from bpcheck.io.schemas import first_problem, load_schema
from bpcheck.model.engine import ALL_CAPABILITIES, FLOAT32, Availability, Enclosures
from bpcheck.model.fixture import Claim, Fixture, Operand, Relation
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.quantities import E_CHANGE, EXTENDED, Trace, names_at_step


def feature_problem(**changes: object) -> Problem:
    """A 2-2-2 network with mini-batches, momentum, weight decay and the new activations."""
    problem = Problem(
        layers=(
            Layer(((0.1, -0.2), (0.3, 0.4)), "leaky_relu", "per_neuron", (0.1, -0.1), slope=0.2),
            Layer(((0.5, -0.6), (0.7, 0.8)), "elu", "shared", (0.2,), learning_rate=0.25),
        ),
        inputs=((0.5, 1.0), (-1.0, 0.25), (0.75, -0.5)),
        targets=((0.0, 1.0), (1.0, 0.0), (0.5, 0.5)),
        loss="mse",
        learning_rate=0.5,
        steps=3,
        batch="mini",
        batch_size=2,
        sample_order=(2, 0, 1),
        momentum=0.9,
        nesterov=True,
        weight_decay=0.01,
    )
    return replace(problem, **changes)


def made_up(name: str, step: int) -> float:
    """A value that depends on the name and the step only."""
    return (zlib.crc32(name.encode()) % 10_007) / 10_007 + step / 8


class Named:
    """An engine that returns every name its capabilities promise, made up (see the module)."""

    name = "named"
    version = "1"

    def __init__(self, capabilities: frozenset[str] = ALL_CAPABILITIES, shift: float = 0.0):
        self.capabilities = capabilities
        self.shift = shift
        self.asked: list[tuple[int, list[int]]] = []

    def available(self) -> Availability:
        return Availability(True)

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        self.asked.append((problem.steps, sorted(record)))
        extended = EXTENDED in self.capabilities
        return {
            step: {
                name: made_up(name, step) * (1 + self.shift)
                for name in names_at_step(problem, step, extended=extended)
            }
            for step in record
        }


PLAIN = ALL_CAPABILITIES - {EXTENDED}


def fixture_of(problem: Problem, *claims: Claim) -> Fixture:
    return Fixture("features", "features", Path("features.json"), {}, problem, {}, claims)


def pinned(name: str, step: int = 0, value: float | None = None) -> Claim:
    """A claim pinning the made-up value (so an engine that computes it is ``ok``)."""
    found = made_up(name, step) if value is None else value
    return Claim(name, "p. 1", name, name, step, pinned=repr(found))


# --- capabilities, claim by claim -----------------------------------------------------------


def test_a_claim_on_an_extended_name_skips_an_engine_without_the_capability() -> None:
    problem = feature_problem(momentum=0.0, nesterov=False)
    claims = (pinned("E"), pinned("E@3"), pinned("dw[1,1,1]"))
    result = check_fixture(fixture_of(problem, *claims), {"full": Named(), "plain": Named(PLAIN)})
    assert [r.outcome for r in result.runs] == [OK, OK]
    loss, sample_loss, change = result.claims
    assert loss.outcomes == {"full": OK, "plain": OK}
    for claim in (sample_loss, change):
        assert claim.outcomes == {"full": OK, "plain": SKIPPED}, claim.message
        assert claim.outcome == OK
        assert f"plain: skipped: cannot do {EXTENDED}" in claim.message
    assert result.disagreements == [] and result.outcome == OK


def test_an_extended_claim_that_no_engine_records_is_skipped_never_failed() -> None:
    claims = (pinned("dE_dout[0,1]@3"), pinned("E"))
    result = check_fixture(fixture_of(feature_problem(), *claims), {"plain": Named(PLAIN)})
    assert result.claims[0].outcome == SKIPPED and result.claims[1].outcome == OK
    assert result.outcome == OK


def test_a_relation_on_an_extended_name_skips_like_a_value() -> None:
    left, right = Operand("E@3", "E@3", 0), Operand("E", "E", 0)
    relation = Claim("r", "p. 1", relation=Relation(left, "<", right), expect="holds")
    runs = [
        EngineRun("plain", OK, Named(PLAIN).run(feature_problem(), [0]), extended=False),
    ]
    assert judge(relation, runs).outcomes == {"plain": SKIPPED}


def test_a_whole_problem_skips_an_engine_without_a_feature_it_needs() -> None:
    lacking = ALL_CAPABILITIES - {"optimizer:nesterov", "activation:elu"}
    run = run_problem(Named(lacking), feature_problem(), {0})
    assert run.outcome == SKIPPED
    assert run.reason == "cannot do activation:elu, optimizer:nesterov"


def test_a_trace_holds_the_extended_names_exactly_when_the_engine_declares_them() -> None:
    problem = feature_problem()
    full, plain = Named().run(problem, [0]), Named(PLAIN).run(problem, [0])
    assert checked_trace(full, problem, [0]) == full
    assert checked_trace(plain, problem, [0], extended=False) == plain
    with pytest.raises(BadTrace, match="is missing"):
        checked_trace(plain, problem, [0])
    with pytest.raises(BadTrace, match="is not a quantity of this problem"):
        checked_trace(full, problem, [0], extended=False)


def test_the_names_expected_follow_the_step_not_only_its_batch() -> None:
    """Steps 0 and 3 of a 3-step problem share their batch, and only step 0 has ``dw``."""
    problem = feature_problem(batch="full", batch_size=0, sample_order=())
    trace = Named().run(problem, [0, 3])
    assert "dw[1,1,1]" in trace[0] and "dw[1,1,1]" not in trace[3]
    assert checked_trace(trace, problem, [0, 3]) == trace
    swapped = {0: trace[3], 3: trace[0]}
    with pytest.raises(BadTrace, match=r"step 0: d[bw]\[.* is missing"):
        checked_trace(swapped, problem, [0, 3])


# --- E_change ----------------------------------------------------------------------------


def test_e_change_is_each_engines_own_e_at_the_next_step_minus_at_this_one() -> None:
    problem = feature_problem()
    claim = pinned(E_CHANGE, 1, made_up("E", 2) - made_up("E", 1))
    engine = Named()
    result = check_fixture(fixture_of(problem, claim), {"named": engine})
    assert engine.asked == [(3, [1, 2])]  # step 2 recorded for the claim at step 1
    run = result.runs[0]
    assert run.trace[1][E_CHANGE] == run.trace[2]["E"] - run.trace[1]["E"]
    assert result.claims[0].outcome == OK and result.outcome == OK


def test_engines_that_differ_in_e_differ_in_e_change_and_the_agreement_check_says_so() -> None:
    problem = feature_problem()
    claim = pinned(E_CHANGE, 0, made_up("E", 1) - made_up("E", 0))
    engines = {"one": Named(), "other": Named(shift=1e-6)}
    result = check_fixture(fixture_of(problem, claim), engines)
    assert E_CHANGE in {d.quantity for d in result.disagreements if d.step == 0}


class Forgets(Named):
    """Returns no step after the first asked (a broken engine)."""

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        trace = super().run(problem, record)
        return {min(trace): trace[min(trace)]}


def test_an_engine_without_the_next_step_errors_saying_which() -> None:
    problem = feature_problem()
    result = check_fixture(fixture_of(problem, pinned(E_CHANGE, 0)), {"forgets": Forgets()})
    assert result.runs[0].outcome == ERRORED
    assert "step 1 is missing" in (result.runs[0].reason or "")
    assert result.claims[0].outcome == ERRORED


def test_e_change_without_e_at_the_next_step_names_both_steps() -> None:
    with pytest.raises(MissingStep, match="E_change at step 4 needs E at steps 4 and 5"):
        with_derived({4: {"E": 1.0}}, [4])


def test_a_float32_problems_e_change_is_the_float32_difference() -> None:
    """1 - 2^-30 is no float32: a float32 program's E_change of E 2^-30 -> 1 is 1."""
    trace = {0: {"E": 2.0**-30}, 1: {"E": 1.0}}
    assert with_derived({k: dict(v) for k, v in trace.items()}, [0])[0][E_CHANGE] == 1 - 2.0**-30
    assert with_derived(trace, [0], "float32")[0][E_CHANGE] == 1.0


def test_certified_e_change_is_the_difference_of_the_intervals() -> None:
    enclosures = Enclosures(
        bounds={0: {"E": ("0.25", "0.375")}, 1: {"E": ("0.125", "0.1875")}},
        float64={0: {"E": 1e-17}, 1: {"E": 2e-17}},
        precision=200,
        digits=50.0,
    )
    found = enclosures_with_derived(enclosures, [0])
    low, high = found.bounds[0][E_CHANGE]
    assert (Decimal(low), Decimal(high)) == (Decimal("-0.25"), Decimal("-0.0625"))
    assert found.float64[0][E_CHANGE] >= 3e-17
    unbounded = Enclosures({0: {"E": ("1", "Infinity")}, 1: {"E": ("2", "Infinity")}}, {}, 9, 1.0)
    assert enclosures_with_derived(unbounded, [0]).bounds[0][E_CHANGE] == ("-Infinity", "Infinity")


# --- float32 -------------------------------------------------------------------------------


def test_the_agreement_tolerance_is_the_same_count_of_each_precisions_epsilon() -> None:
    ratio = 2.0**-23 / 2.0**-52
    for step in (0, 1, 10, 100_000):
        assert agreement_tolerance(step, "float32") == agreement_tolerance(step) * ratio
    assert agreement_floor("float32") == agreement_floor() * ratio
    assert agreement_tolerance(0, "float32") == pytest.approx(5.4e-4, rel=0.01)


@pytest.mark.parametrize(
    ("relative", "float64", "float32"),
    [(1e-13, True, True), (1e-7, False, True), (1e-5, False, True), (1e-2, False, False)],
)
def test_float32_runs_agree_within_float32s_tolerance_float64_runs_within_float64s(
    relative: float, float64: bool, float32: bool
) -> None:
    for precision, expected in (("float64", float64), ("float32", float32)):
        runs = [
            EngineRun(name, OK, {0: {"E": value}}, precision=precision)
            for name, value in (("a", 0.75), ("b", 0.75 * (1 + relative)))
        ]
        assert (disagreements(runs) == []) is expected, (precision, relative)


def test_the_float32_floor_near_zero_is_float32s() -> None:
    assert agree([0.0, 1e-7], agreement_tolerance(0, "float32"), agreement_floor("float32"))
    assert not agree([0.0, 1e-7], agreement_tolerance(0), agreement_floor())


def test_a_float32_run_is_judged_in_float32_ulps() -> None:
    """0.5 + 2^-23 is two float32 ULPs above 0.5: "0.50000020" is a match within 4 of them,
    not within 4 float64 ULPs (and no truncation either)."""
    value = 0.5 + 2.0**-23
    claim = Claim("c", "p. 1", "E", "E", 0, printed="0.50000020", expect="match")
    for precision, verdict in (("float32", "match"), ("float64", "mismatch")):
        run = EngineRun("e", OK, {0: {"E": value}}, precision=precision)
        assert judge(claim, [run]).verdict == verdict, precision


def test_a_float32_problems_run_is_of_float32() -> None:
    problem = feature_problem(precision="float32")
    assert run_problem(Named(), problem, {0}).precision == "float32"
    lacking = run_problem(Named(ALL_CAPABILITIES - {FLOAT32}), problem, {0})
    assert lacking.outcome == SKIPPED and lacking.reason == f"cannot do {FLOAT32}"


# --- the trace cache and the protocol ----------------------------------------------------------


CHANGES = {
    "momentum": {"momentum": 0.5},
    "nesterov": {"nesterov": False},
    "weight decay": {"weight_decay": 0.02},
    "precision": {"precision": "float32"},
    "sample order": {"sample_order": (0, 2, 1)},
    "batch size": {"batch_size": 1},
    "objective": {"loss": "output", "objective": 2},
    "slope": {
        "layers": (replace(feature_problem().layers[0], slope=0.3), *feature_problem().layers[1:])
    },
    "alpha": {
        "layers": (feature_problem().layers[0], replace(feature_problem().layers[1], alpha=0.5))
    },
    "layer rate": {
        "layers": (
            feature_problem().layers[0],
            replace(feature_problem().layers[1], learning_rate=None),
        )
    },
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_changing_any_new_field_misses_the_cache(tmp_path: Path, change: str) -> None:
    cache = TraceCache(tmp_path)
    inner = Named()
    engine = CachedEngine(inner, cache, "named")
    problem = feature_problem()
    engine.run(problem, {0, 1})
    engine.run(problem, {0, 1})
    assert len(inner.asked) == 1
    changed = replace(problem, **CHANGES[change])  # type: ignore[arg-type]
    assert problem_key(changed) != problem_key(problem)
    engine.run(changed, {0, 1})
    assert len(inner.asked) == 2 and cache.misses == 4


@pytest.mark.parametrize("change", ["momentum", "nesterov", "precision", "sample order", "slope"])
def test_runs_batched_together_share_what_decides_the_computation(change: str) -> None:
    problem = feature_problem()
    changed = replace(problem, **CHANGES[change])  # type: ignore[arg-type]
    if change == "momentum":
        changed = replace(problem, momentum=0.0, nesterov=False)
    assert structure(changed, {0}) != structure(problem, {0})
    weights = replace(problem.layers[0], weights=((1.0, 2.0), (3.0, 4.0)))
    assert structure(replace(problem, layers=(weights, problem.layers[1])), {0}) == structure(
        problem, {0}
    )


@pytest.mark.parametrize("change", [*CHANGES, "none"])
def test_a_request_states_every_field_and_reads_back_as_the_same_problem(change: str) -> None:
    from bpcheck.io.problem_data import build_problem

    problem = (
        feature_problem() if change == "none" else replace(feature_problem(), **CHANGES[change])
    )  # type: ignore[arg-type]
    if problem.loss == "output":
        problem = replace(problem, targets=tuple((0.0, 0.0) for _ in problem.inputs))
    request = protocol.run_request(1, problem, [0, 1])
    assert first_problem(request, load_schema(protocol.REQUESTS_SCHEMA)) is None
    assert build_problem(request["problem"]) == problem


def test_a_plain_problems_request_has_the_new_fields_at_their_defaults() -> None:
    plain = feature_problem(
        batch="full", batch_size=0, sample_order=(), momentum=0.0, nesterov=False, weight_decay=0.0
    )
    document = protocol.problem_document(plain)
    assert document["batch"] == "full" and "sample_order" not in document
    assert (document["momentum"], document["nesterov"], document["weight_decay"]) == (
        0.0,
        False,
        0.0,
    )
    assert document["precision"] == "float64"
    assert "objective" not in document and document["loss"] == "mse"
    assert math.isfinite(document["learning_rate"])
