"""The pytest plugin's items: one per claim and engine, one for agreement; shared runs; engines.

Runs are in process (``pytester.runpytest``) unless xdist is the point; where an
engine must be broken, the plugin's :func:`~bpcheck.testing.plugin_items.select_engines`
is replaced by engines built here, filed under registered names.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Collection
from typing import Any

import pytest

from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load_all
from bpcheck.model.engine import Engine
from bpcheck.model.problem import Problem
from bpcheck.model.quantities import Trace
from bpcheck.testing import plugin_items
from tests.support.broken_engines import broken_engine
from tests.support.documents import VALID
from tests.support.paths import ROOT
from tests.support.pytester_runs import QUIET, use_engines, write_fixture

LOOPS = ("--bpcheck-engine", "loops")
ENGINES = ("loops", "matrices", "autodiff", "certified")
"""The engines bpcheck registers, each with an item per claim."""


def with_claims(*claims: dict[str, Any]) -> dict[str, Any]:
    """The small valid fixture with these claims added after its own."""
    document = copy.deepcopy(VALID)
    document["claims"].extend(claims)
    return document


W1_PIN = {
    "id": "w1-after-1",
    "quantity": "w1",
    "step": 1,
    "pinned": "0.12961470230892802",
    "where": "-",
}
O_RISES = {
    "id": "o-rises",
    "relation": {"left": {"quantity": "o", "step": 1}, "op": ">", "right": {"quantity": "o"}},
    "expect": "holds",
    "where": "-",
}


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::" in line]


# --- ids -----------------------------------------------------------------------------------


def test_one_item_per_claim_and_engine_and_one_agreement_item(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "fixtures", pytester.path / "fixtures")
    result = pytester.runpytest(*QUIET, "--co", "-q", "fixtures")
    mazur = "fixtures/mazur/mazur-2015.json::mazur-2015::"
    result.stdout.fnmatch_lines(
        [
            f"{mazur}E_total-after-1[[]loops[]]",
            f"{mazur}E_total-after-1[[]matrices[]]",
            f"{mazur}E_total-after-1[[]autodiff[]]",
            f"{mazur}E_total-after-1[[]certified[]]",
            f"{mazur}agreement",
        ]
    )
    fixtures, errors = load_all([ROOT / "fixtures"])
    assert not errors
    assert len(collected(result)) == sum(len(ENGINES) * len(f.claims) + 1 for f in fixtures)


def test_k_selects_claims_by_id_or_quantity(pytester: pytest.Pytester) -> None:
    """``-k`` matches names as substrings, so ``dE_total_dw5`` is among ``-k E_total``'s."""
    shutil.copytree(ROOT / "fixtures", pytester.path / "fixtures")
    fixtures, _ = load_all([ROOT / "fixtures"])
    result = pytester.runpytest(*QUIET, "--co", "-q", "fixtures", "-k", "E_total")
    selected = collected(result)
    about_e_total = {
        (f.id, c.id)
        for f in fixtures
        for c in f.claims
        if "e_total" in (c.id + " " + " ".join(plugin_items.quantities(c))).lower()
    }
    assert {tuple(line.split("::")[1:3]) for line in selected} == {
        (fixture, f"{claim}[{engine}]") for fixture, claim in about_e_total for engine in ENGINES
    }
    assert not [line for line in selected if "agreement" in line or "out_o1" in line]


def test_k_selects_a_claim_by_its_quantity_when_its_id_differs(pytester: pytest.Pytester) -> None:
    write_fixture(pytester, with_claims(dict(W1_PIN, id="first-weight")), "tiny.json")
    result = pytester.runpytest(*QUIET, *LOOPS, "--co", "-q", "fixtures", "-k", "w1")
    assert collected(result) == ["fixtures/tiny.json::tiny::first-weight[loops]"]


# --- failures ------------------------------------------------------------------------------


def test_a_wrong_expectation_fails_its_claim_item_with_one_line_and_the_table(
    pytester: pytest.Pytester,
) -> None:
    document = with_claims(W1_PIN)
    document["claims"][0]["printed"] = "0.55"
    write_fixture(pytester, document, "tiny.json")
    result = pytester.runpytest(*QUIET, *LOOPS, "-vv", "fixtures")
    result.assert_outcomes(passed=1, failed=1, skipped=1)  # agreement: only loops ran
    result.stdout.fnmatch_lines(
        [
            "FAILED fixtures/tiny.json::tiny::o[[]loops[]] - "
            "o: printed 0.55, loops 0.52497918747894*: mismatch, expected match",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "claim*quantity*step*printed*loops*verdict*expected*outcome*",
            "o *o *0 *0.55 *0.5249791875*mismatch*match*failed*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_moved_pin_and_a_failed_relation_say_so_on_one_line(pytester: pytest.Pytester) -> None:
    moved = {**W1_PIN, "pinned": "0.1"}
    write_fixture(pytester, with_claims(moved, dict(O_RISES, expect="fails")), "tiny.json")
    result = pytester.runpytest(*QUIET, *LOOPS, "-vv", "fixtures")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED *::w1-after-1[[]loops[]] - w1-after-1: pinned 0.1, loops 0.1296147023089*: "
            "moved, expected pinned",
            "FAILED *::o-rises[[]loops[]] - o-rises: o@1 > o@0: loops says holds, expected fails",
        ]
    )


def test_a_broken_fixture_under_bpcheck_paths_is_a_failed_item(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbpcheck_paths = fixtures\n")
    folder = pytester.path / "fixtures"
    folder.mkdir()
    (folder / "broken.json").write_text("{")
    result = pytester.runpytest(*QUIET, "fixtures")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*broken.json: line 1 column 2: expected JSON: *"])


# --- engines -------------------------------------------------------------------------------


def test_bpcheck_engine_picks_engines(pytester: pytest.Pytester) -> None:
    write_fixture(pytester, VALID, "tiny.json")
    result = pytester.runpytest(*QUIET, *LOOPS, "--bpcheck-engine", "matrices", "--co", "-q")
    assert collected(result) == [
        "fixtures/tiny.json::tiny::o[loops]",
        "fixtures/tiny.json::tiny::o[matrices]",
        "fixtures/tiny.json::tiny::agreement",
    ]


def test_an_unknown_engine_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_fixture(pytester, VALID, "tiny.json")
    result = pytester.runpytest(*QUIET, "--bpcheck-engine", "lops", "fixtures")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--bpcheck-engine: unknown engine 'lops'; expected one of loops*"]
    )


class CountingEngine(LoopsEngine):
    """The loops engine, counting its runs."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        self.runs += 1
        return super().run(problem, record)


def test_each_engine_runs_a_fixture_once_for_all_its_items(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    loops, matrices = CountingEngine(), CountingEngine()
    use_engines(monkeypatch, {"loops": loops, "matrices": matrices})
    write_fixture(pytester, with_claims(W1_PIN, O_RISES), "a.json")
    write_fixture(pytester, dict(VALID, id="b"), "b.json")
    result = pytester.runpytest(*QUIET, *LOOPS, "--bpcheck-engine", "matrices", "fixtures")
    result.assert_outcomes(passed=3 * 2 + 1 + 2 + 1)
    assert (loops.runs, matrices.runs) == (2, 2)


def test_an_engine_disagreement_fails_the_agreement_item(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A float32 engine still matches the printed 0.525, so only the agreement item can catch it."""
    use_engines(monkeypatch, {"loops": LoopsEngine(), "matrices": broken_engine("float32")})
    write_fixture(pytester, VALID, "tiny.json")
    result = pytester.runpytest(*QUIET, *LOOPS, "--bpcheck-engine", "matrices", "-vv", "fixtures")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED fixtures/tiny.json::tiny::agreement - engines disagree on * quantities, "
            "first * at step 0: loops *, matrices *",
        ]
    )
    result.stdout.fnmatch_lines(["quantity*step*loops*matrices*difference*tolerance*"])


class Raises(LoopsEngine):
    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        raise RuntimeError("planted")


class Unavailable(LoopsEngine):
    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        from bpcheck.model.engine import CannotRun

        raise CannotRun("no JAX here")


def test_an_errored_engine_fails_every_item_it_touches_and_a_skipped_one_skips(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines: dict[str, Engine] = {
        "loops": LoopsEngine(),
        "matrices": Raises(),
        "autodiff": Unavailable(),
        "certified": CertifiedEngine(),
    }
    use_engines(monkeypatch, engines)
    write_fixture(pytester, VALID, "tiny.json")
    result = pytester.runpytest(*QUIET, "-rfs", "-vv", "fixtures")
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED *::o[[]matrices[]] - matrices errored: RuntimeError: planted",
            "FAILED *::agreement - agreement not checked: matrices errored: RuntimeError: planted",
            "SKIPPED [[]1[]] fixtures/tiny.json:1: autodiff: no JAX here",
        ]
    )


# --- what is printed -----------------------------------------------------------------------


def test_the_engines_are_named_after_a_run_of_bpcheck_items(pytester: pytest.Pytester) -> None:
    write_fixture(pytester, VALID, "tiny.json")
    result = pytester.runpytest(*QUIET, *LOOPS, "fixtures")
    result.stdout.fnmatch_lines(
        [
            "*- bpcheck -*",
            "bpcheck engine loops: *LoopsEngine from bpcheck *",
            "bpcheck engines run in their own processes, 60 s per request",
        ]
    )


@pytest.mark.slow
def test_items_run_under_xdist_and_report_to_the_main_process(pytester: pytest.Pytester) -> None:
    """Workers run the engines their items need; the main process prints the summary."""
    write_fixture(pytester, with_claims(W1_PIN), "a.json")
    write_fixture(pytester, dict(VALID, id="b"), "b.json")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *LOOPS, "--bpcheck-engine", "matrices", "-n", "2", "fixtures"
    )
    result.assert_outcomes(passed=2 * 2 + 1 + 2 + 1)
    result.stdout.fnmatch_lines(["bpcheck engine matrices: *MatricesEngine from bpcheck *"])
