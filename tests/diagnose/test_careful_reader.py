"""Diagnose like a careful reader: rounded chains, formula slips, evidence and chance.

The documents under ``tests/diagnose/fixtures/`` were written by
``write_fixtures.py`` with its own exact arithmetic, as an author who makes the
named mistake would (and one who makes none).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpcheck.cli.main import main
from bpcheck.diagnose import evidence
from bpcheck.diagnose.computed import prepare, reaches
from bpcheck.diagnose.diagnosis import (
    Candidate,
    Erratum,
    FixtureErrata,
    Judge,
    describe,
    diagnose,
    judge_fixture,
)
from bpcheck.diagnose.graph import DECIMAL, FLOAT, build_graph, exact
from bpcheck.diagnose.results import read_diagnose_result
from bpcheck.diagnose.slips import SlipSearch
from bpcheck.diagnose.variants import BY_NAME
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.decimals import at_places
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.verdicts import verdict

HERE = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def by_claim(found: FixtureErrata) -> dict[str, Erratum]:
    return {e.claim.id: e for e in found.errata}


def test_the_graph_recomputes_every_traced_quantity_of_both_kinds() -> None:
    """Each formula of the graph, on the trace's own operands, gives the trace's value."""
    problem = load(HERE / "correct.json").problem
    trace = LoopsEngine().run(problem, {0, 1})
    graph = build_graph(problem, trace)
    recomputed = [key for key in graph.nodes if graph.recomputable(key)]
    assert len(recomputed) > 80
    for key in recomputed:
        value = graph.values[key]
        as_float = graph.evaluate(key, graph.values.__getitem__, FLOAT)
        with localcontext() as ctx:
            ctx.prec = 40
            as_decimal = graph.evaluate(key, lambda k: exact(graph.values[k]), DECIMAL)
        assert math.isclose(as_float, value, rel_tol=1e-12, abs_tol=1e-15), key
        assert math.isclose(float(as_decimal), value, rel_tol=1e-12, abs_tol=1e-15), key


def test_a_document_computed_from_its_rounded_deltas_is_diagnosed_with_the_chain() -> None:
    found = by_claim(diagnose(load(HERE / "rounded-deltas.json")))
    assert sorted(found) == ["grad_w1", "grad_w2", "grad_w4"]
    for erratum in found.values():
        best = erratum.explanations[0]
        assert best.name == "from-printed-inputs"
        assert not erratum.weak(best)
        assert sorted(best.reproduces) == ["grad_w1", "grad_w2", "grad_w4"]
        assert best.contradicts == ()
    assert found["grad_w1"].explanations[0].detail == (
        "dE_dw[1,1,1] 0.0022 = 0.05 \N{MULTIPLICATION SIGN} printed delta[1,1] 0.043"
    )
    assert found["grad_w4"].explanations[0].detail == (
        "dE_dw[1,2,2] -0.0171 = 0.9 \N{MULTIPLICATION SIGN} printed delta[1,2] -0.019"
    )


def test_a_document_that_uses_h1_twice_gets_the_slip_with_the_numbers_it_explains() -> None:
    found = by_claim(diagnose(load(HERE / "h1-twice.json")))
    assert len(found) == 12
    for erratum in found.values():
        best = erratum.explanations[0]
        assert best.name == "formula-slip"
        assert best.detail == "net[2,1] uses out[1,1] where out[1,2] belongs"
        assert len(best.reproduces) == 12  # every wrong number, and it breaks none
        assert best.contradicts == ()
        assert not erratum.weak(best)
        assert best.chance is not None and best.chance < 1e-6


def test_a_correct_document_gets_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = load(HERE / "correct.json")
    assert diagnose(fixture).errata == []
    assert main(["diagnose", str(HERE / "correct.json")]) == 0
    assert capsys.readouterr().out == ""


def test_the_rounded_chain_is_not_the_exact_computation() -> None:
    """The same document with the exact gradients printed has nothing to explain: the chain
    reading is not what the engines compute."""
    fixture = load(HERE / "rounded-deltas.json")
    right = load(HERE / "correct.json")
    printed = {c.id: c.printed for c in right.claims}
    fixed = replace(
        fixture, claims=tuple(replace(c, printed=printed[c.id]) for c in fixture.claims)
    )
    assert diagnose(fixed).errata == []


def perturbed(fixture: Fixture, claim_id: str, printed: str) -> Fixture:
    claims = tuple(replace(c, printed=printed) if c.id == claim_id else c for c in fixture.claims)
    return replace(fixture, claims=claims)


def test_a_one_digit_slip_in_a_correct_document_is_weak() -> None:
    """Random noise on one digit: explained at most by a printing slip, backed by nothing."""
    fixture = perturbed(load(HERE / "correct.json"), "out_o1", "0.57718")  # 0.57118
    (erratum,) = diagnose(fixture).errata
    assert [c.name for c in erratum.explanations] == ["typo-one-digit"]
    assert erratum.weak(erratum.explanations[0])


def test_explanations_list_what_they_reproduce_and_contradict() -> None:
    babin = by_claim(diagnose(load(ROOT / "fixtures" / "babin" / "babin.json")))
    truncated = babin["out_h1"].explanations[0]
    assert truncated.name == "truncated-4-decimals"
    assert {"out_h2", "out_y1", "dE_total_douty1"} <= set(truncated.reproduces)
    assert set(truncated.contradicts) == {"y1", "E_total"}  # Babin computes those exactly
    typo = babin["w8-after-1"].explanations[0]
    assert typo.name == "typo-one-digit" and babin["w8-after-1"].weak(typo)


def test_babins_w6_is_reproduced_only_by_a_pair_of_slips_no_better_than_chance() -> None:
    """0.4808 = w8's old value minus 0.5 times the delta of y1 (w6's gradient without out h2):
    two slips, in a family that hits a third of the one-digit misprints of w6 by luck."""
    (w6,) = [
        e
        for e in diagnose(load(ROOT / "fixtures" / "babin" / "babin.json")).errata
        if e.claim.id == "w6-after-1"
    ]
    assert w6.explanations == []
    (dropped,) = w6.dropped
    assert dropped.detail == (
        "w[2,1,2] at step 1 uses w[2,2,2] where w[2,1,2] belongs; "
        "and dE_dw[2,1,2] without its factor out[1,2]"
    )
    assert dropped.chance is not None and dropped.chance > evidence.CHANCE_LIMIT


def test_the_chance_of_a_family_counts_the_misprints_it_hits() -> None:
    # 0.4087 has 5 digits: 45 one-digit changes and 3 swaps of unequal neighbours
    assert len(evidence.noise(0.4086661861, "0.4808")) == 48
    assert evidence.chance(0.4086661861, "0.4808", [0.4187, 0.4097, 0.9]) == 2 / 48
    assert evidence.chance(0.4086661861, "0.4808", []) == 0.0
    assert evidence.offered([0.5, 0.1])
    assert not evidence.offered([0.5])


def test_the_slip_search_is_bounded_and_says_so() -> None:
    fixture = load(HERE / "h1-twice.json")
    problem = fixture.problem
    graph = build_graph(problem, LoopsEngine().run(problem, {0, 1}))
    keys = {(c.step, c.canonical) for c in fixture.claims}
    search = SlipSearch(graph, keys, keys, max_step=10, limit=50)
    assert len(list(search.slips())) == 50
    assert search.truncated


def test_a_slip_that_moves_no_printed_number_is_not_a_candidate() -> None:
    fixture = load(HERE / "h1-twice.json")
    prepared = prepare(fixture)
    assert prepared is not None
    assert all(s.values for s in prepared.slips)
    assert all(math.isfinite(v) for s in prepared.slips for v in s.values.values())


def test_the_time_budget_says_what_it_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    mazur = load(ROOT / "fixtures" / "mazur" / "mazur-2015.json")
    found = diagnose(mazur, budget=0.0)
    runs, slips = found.notes
    assert runs.startswith("time budget of 0 s reached: ")
    assert "not run to step 10000 (--budget SECONDS to allow more)" in runs
    assert slips == (
        "time budget of 0 s reached: the slip search stopped after 0 slips "
        "(--budget SECONDS to allow more)"
    )
    assert "  note: " + runs in describe(mazur, found, 3)
    # the accepted diagnosis is run to step 10,000 whatever the budget: whether it holds
    # must not depend on the machine's speed
    assert all(e.accepted_reproduced for e in found.errata if e.claim.diagnosis)
    late = next(e for e in found.errata if e.claim.id == "out_o1-after-10000")
    assert late.explanations[0].name == "sequential-order"


def test_a_negative_budget_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", str(HERE / "correct.json"), "--budget", "-1"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("--budget: expected seconds, 0 or more, found -1.0")
    )


def test_the_json_holds_the_evidence(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    assert main(["diagnose", str(HERE / "rounded-deltas.json"), "--json", str(out)]) == 0
    (fixture,) = read_diagnose_result(out).diagnoses
    first = fixture.errata[0].explanations[0]
    assert first.variants == ("from-printed-inputs",)
    assert first.detail.startswith("dE_dw[1,1,1] 0.0022 = 0.05 ")
    assert sorted(first.reproduces) == ["grad_w1", "grad_w2", "grad_w4"]
    assert first.weak is False
    assert first.chance is not None
    document = json.loads(out.read_text())
    assert document["diagnoses"][0]["notes"] == []


def test_an_older_diagnose_file_without_the_evidence_still_reads(tmp_path: Path) -> None:
    erratum = {
        "claim": "c",
        "quantity": "E",
        "step": 0,
        "printed": "0.5",
        "value": 0.25,
        "verdict": "mismatch",
        "accepted": None,
        "explanations": [{"variants": ["typo-one-digit"], "gained": 1, "broken": 0}],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"diagnoses": [{"fixture": "f", "errata": [erratum]}]}))
    (explanation,) = read_diagnose_result(path).diagnoses[0].errata[0].explanations
    assert explanation.reproduces == () and explanation.chance is None


def test_every_candidate_scores_by_its_evidence() -> None:
    candidate = Candidate(("formula-slip",), ("a", "b", "c"), ("d",))
    assert (candidate.gained, candidate.broken, candidate.score) == (3, 1, 2)


def names(erratum: Erratum) -> list[str]:
    return [c.name for c in erratum.explanations]


def test_judging_a_copy_with_other_prints_needs_no_new_preparation() -> None:
    """The benchmark's shortcut: one preparation (every printed number a target) serves
    copies of the fixture that print other digits, with the same result as diagnose."""
    fixture = load(HERE / "rounded-deltas.json")
    prepared = prepare(fixture, every=True)
    assert prepared is not None
    shared = {
        e.claim.id: [c.name for c in e.explanations] for e in judge_fixture(prepared, fixture)
    }
    alone = {e.claim.id: names(e) for e in diagnose(fixture).errata}
    assert shared == alone
    assert sorted(shared) == ["grad_w1", "grad_w2", "grad_w4"]


@given(
    value=st.floats(allow_nan=True, allow_infinity=True, width=64),
    places=st.integers(min_value=-3, max_value=12),
    offset=st.integers(min_value=-30, max_value=30),
)
def test_the_quick_verdict_is_the_verdict(value: float, places: int, offset: int) -> None:
    """The diagnosis' float shortcut never disagrees with the exact verdict rule."""
    if math.isfinite(value):
        printed = str(at_places(value, places, "round") + Decimal(offset).scaleb(-places))
    else:
        printed = "0.5"
    claim = Claim(id="c", where="-", quantity="x", canonical="x", printed=printed)
    assert Judge([claim])(claim, value) == verdict(value, printed)


def test_a_variant_is_computed_where_it_can_change_a_wrong_number() -> None:
    """Stages: a reading that only acts through the update cannot change a step-0 value; a
    backward bug changes a hidden dE/dout and a delta, not an output; hand rounding all."""
    late = Claim(id="a", where="-", quantity="x", canonical="dE_dout[1,1]@1", printed="1")
    out = Claim(id="b", where="-", quantity="x", canonical="out[2,1]@1", printed="1")
    loss = Claim(id="c", where="-", quantity="x", canonical="E", printed="1")
    after = Claim(id="d", where="-", quantity="x", canonical="w[1,1,1]", step=1, printed="1")
    weight = Claim(id="e", where="-", quantity="x", canonical="w[1,1,1]", printed="1")
    assert reaches(BY_NAME["output-derivative-missing"], [late])
    assert not reaches(BY_NAME["output-derivative-missing"], [out, loss, weight])
    assert reaches(BY_NAME["loss-sse"], [loss]) and not reaches(BY_NAME["loss-sse"], [out])
    assert not reaches(BY_NAME["learning-rate-x2"], [late, out, loss, weight])
    assert reaches(BY_NAME["learning-rate-x2"], [after])
    assert reaches(BY_NAME["rounded-4-decimals"], [out])
    assert not reaches(BY_NAME["rounded-4-decimals"], [weight])
