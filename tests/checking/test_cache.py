"""The trace cache: a hit only for the same engine, code and problem; never a stale result."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

import pytest

from bpcheck.checking.cache import CachedEngine, TraceCache, batches_to_compute, code_fingerprint
from bpcheck.checking.check import check_fixture, run_problem
from bpcheck.engines.loops import LoopsEngine
from bpcheck.io.loader import load
from bpcheck.model.examples import mazur
from bpcheck.model.problem import Layer, Problem
from bpcheck.model.quantities import Trace
from tests.support.paths import ROOT

BABIN = ROOT / "fixtures" / "babin" / "babin.json"


class Counting(LoopsEngine):
    """The loops engine, counting what it is asked to compute."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, list[int]]] = []

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        self.asked.append((problem.steps, sorted(record)))
        return super().run(problem, record)


@pytest.fixture
def cache(tmp_path: Path) -> TraceCache:
    return TraceCache(tmp_path / "cache")


def cached_counting(cache: TraceCache) -> tuple[CachedEngine, Counting]:
    inner = Counting()
    return CachedEngine(inner, cache, "loops"), inner


def test_a_second_run_of_the_same_problem_is_read_back_bit_for_bit(cache: TraceCache) -> None:
    problem = mazur(3)
    engine, inner = cached_counting(cache)
    first = engine.run(problem, {0, 3})
    again = engine.run(problem, {0, 3})
    assert inner.asked == [(3, [0, 3])]
    assert again == first == LoopsEngine().run(problem, {0, 3})
    assert (cache.hits, cache.misses) == (2, 2)


def test_an_edited_weight_misses(cache: TraceCache) -> None:
    problem = mazur(1)
    engine, inner = cached_counting(cache)
    engine.run(problem, {1})
    first = problem.layers[0]
    moved = replace(first, weights=((0.15000000000000002, 0.2), *first.weights[1:]))
    edited = replace(problem, layers=(moved, *problem.layers[1:]))
    trace = engine.run(edited, {1})
    assert len(inner.asked) == 2
    assert trace == LoopsEngine().run(edited, {1}) != LoopsEngine().run(problem, {1})


@pytest.mark.parametrize(
    "change",
    [
        lambda p: replace(p, inputs=((0.05, 0.1000001),)),
        lambda p: replace(p, targets=((0.01, 0.98),)),
        lambda p: replace(p, learning_rate=0.25),
        lambda p: replace(p, update_order="sequential"),
        lambda p: replace(p, loss="sse"),
    ],
    ids=["input", "target", "rate", "order", "loss"],
)
def test_any_other_edit_of_the_problem_misses(cache: TraceCache, change: object) -> None:
    problem = mazur(2)
    engine, inner = cached_counting(cache)
    engine.run(problem, {2})
    edited = change(problem)  # type: ignore[operator]
    assert engine.run(edited, {2}) == LoopsEngine().run(edited, {2})
    assert len(inner.asked) == 2


def test_an_edited_fixture_file_misses_and_the_rest_of_it_still_hits(
    cache: TraceCache, tmp_path: Path
) -> None:
    path = tmp_path / "babin.json"
    path.write_text(BABIN.read_text("utf-8"), "utf-8")
    engine, inner = cached_counting(cache)
    before = check_fixture(load(path), {"loops": engine})
    text = path.read_text("utf-8")
    assert text.count('"learning_rate": 0.5') == 1, "the edit below must change the fixture"
    path.write_text(text.replace('"learning_rate": 0.5', '"learning_rate": 0.25'), "utf-8")
    after = check_fixture(load(path), {"loops": engine})
    assert len(inner.asked) == 2
    assert after.runs[0].trace != before.runs[0].trace
    assert after.runs[0].trace == check_fixture(load(path), {"loops": LoopsEngine()}).runs[0].trace


def test_a_new_engine_version_misses(cache: TraceCache) -> None:
    problem = mazur(1)
    engine, _ = cached_counting(cache)
    engine.run(problem, {0})

    class Newer(Counting):
        version = "2"

    newer = Newer()
    CachedEngine(newer, cache, "loops").run(problem, {0})
    assert newer.asked == [(1, [0])]
    CachedEngine(Counting(), cache, "loops").run(problem, {0})  # the old version: a hit
    assert cache.hits == 1


def test_the_same_engine_under_another_name_misses(cache: TraceCache) -> None:
    problem = mazur(1)
    CachedEngine(Counting(), cache, "loops").run(problem, {0})
    other = Counting()
    CachedEngine(other, cache, "mine").run(problem, {0})
    assert other.asked == [(1, [0])]


def test_edited_engine_code_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "cache_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "engine.py").write_text('VERSION = "1"\n')
    (package / "maths.py").write_text("def f(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    first = code_fingerprint("cache_probe_pkg.engine")
    assert code_fingerprint("cache_probe_pkg.engine") == first
    (package / "engine.py").write_text('VERSION = "2"\n')
    second = code_fingerprint("cache_probe_pkg.engine")
    (package / "maths.py").write_text("def f(x):\n    return x + 0.0\n")
    third = code_fingerprint("cache_probe_pkg.engine")
    assert len({first, second, third}) == 3
    sys.modules.pop("cache_probe_pkg", None)


def test_a_claim_at_a_new_step_computes_only_up_to_it(cache: TraceCache) -> None:
    """Steps 0 and 10 kept; step 4 alone runs, five updates (step 4 is followed by one)."""
    problem = mazur(10)
    engine, inner = cached_counting(cache)
    engine.run(problem, {0, 10})
    trace = engine.run(problem, {0, 4, 10})
    assert inner.asked == [(10, [0, 10]), (5, [4])]
    assert trace == LoopsEngine().run(problem, {0, 4, 10})


@pytest.mark.parametrize("order", ["sequential", "simultaneous"])
def test_a_step_followed_by_an_update_is_not_the_same_entry_as_the_last(
    cache: TraceCache, order: str
) -> None:
    """In sequential order the lower layers' deltas go through weights updated in the step
    (and in either order, only a step an update follows has the changes ``dw``, ``db``)."""
    problem = replace(mazur(3), update_order=order)
    engine, _ = cached_counting(cache)
    as_last = engine.run(replace(problem, steps=2), {2})
    followed = engine.run(problem, {2, 3})
    assert followed[2] == LoopsEngine().run(problem, {2, 3})[2]
    assert as_last[2] == LoopsEngine().run(replace(problem, steps=2), {2})[2]
    changes = {name for name in followed[2] if re.fullmatch(r"d[wb]\[[0-9,]+\]", name)}
    assert changes and set(followed[2]) - set(as_last[2]) == changes
    shared = {name: followed[2][name] for name in as_last[2]}
    assert (as_last[2] != shared) == (order == "sequential")


def test_an_unreadable_entry_is_a_miss(cache: TraceCache) -> None:
    problem = mazur(1)
    engine, inner = cached_counting(cache)
    engine.run(problem, {0})
    for path in (cache.folder / "traces").rglob("*.json"):
        path.write_text('{"E": "not a number"')
    assert engine.run(problem, {0}) == LoopsEngine().run(problem, {0})
    assert len(inner.asked) == 2


def test_nan_and_infinities_come_back_as_they_went(cache: TraceCache) -> None:
    layer = Layer(((1e308, 1e308),), "identity", "none")
    problem = Problem((layer,), ((10.0, 10.0),), ((0.0,),), loss="sse", steps=2)
    engine, _ = cached_counting(cache)
    first = engine.run(problem, {0, 1, 2})
    again = engine.run(problem, {0, 1, 2})
    assert repr(again) == repr(first) and "inf" in repr(first) and "nan" in repr(first)


def test_run_problem_behind_the_cache_gives_the_same_run(cache: TraceCache) -> None:
    fixture = load(BABIN)
    plain = run_problem(LoopsEngine(), fixture.problem, fixture.recorded_steps(), "loops")
    engine, _ = cached_counting(cache)
    for _ in range(2):
        kept = run_problem(engine, fixture.problem, fixture.recorded_steps(), "loops")
        assert (kept.outcome, kept.trace) == (plain.outcome, plain.trace)


def test_claim_reuses_the_run_and_computes_only_the_new_step(
    cache: TraceCache, tmp_path: Path
) -> None:
    from bpcheck.authoring.claim import add_claims

    path = tmp_path / "mazur.json"
    path.write_text((ROOT / "fixtures" / "mazur" / "mazur-2015.json").read_text("utf-8"), "utf-8")
    engine, inner = cached_counting(cache)
    check_fixture(load(path), {"loops": engine})
    last = max(load(path).recorded_steps())
    claimed = add_claims(path, ["out_o1=0.7"], {"loops": engine}, step=7, note="a test")
    assert inner.asked[1:] == [(8, [7])] and last > 8
    plain = add_claims(path, ["out_o1=0.7"], {"loops": LoopsEngine()}, step=7, note="a test")
    assert claimed.claims[0].result.values == plain.claims[0].result.values


def test_an_engine_that_batches_fills_the_cache_with_what_it_computes_alone(
    cache: TraceCache,
) -> None:
    """Problems of one structure go to run_many together; each is then a hit, bit for bit."""
    pytest.importorskip("jax", reason="the autodiff engine batches")
    from bpcheck.engines.autodiff import AutodiffEngine

    class Counted(AutodiffEngine):
        def __init__(self) -> None:
            self.batches_run: list[int] = []

        def run_many(self, problems: list[Problem], record: Collection[int]) -> list[Trace]:
            self.batches_run.append(len(problems))
            return super().run_many(problems, record)

    inner = Counted()
    engine = CachedEngine(inner, cache, "autodiff")
    problems = [replace(mazur(3), learning_rate=rate) for rate in (0.1, 0.2, 0.3)]
    engine.prefetch([(p, {0, 3}) for p in problems] + [(mazur(2), {2})], largest=3)
    assert inner.batches_run == [3]  # mazur(2) is no full batch: it runs when asked
    for problem in problems:
        assert engine.run(problem, {0, 3}) == AutodiffEngine().run(problem, {0, 3})
    assert inner.batches_run == [3]  # every run above was a hit


def test_the_runs_to_batch_are_full_batches_of_one_structure(
    cache: TraceCache,
) -> None:
    """``run -j`` hands each process whole batches: ``largest`` runs of one structure,
    none that the cache already holds; what is left over runs one by one."""

    class Batching(LoopsEngine):
        def run_many(self, problems: list[Problem], record: Collection[int]) -> list[Trace]:
            return [self.run(problem, record) for problem in problems]

    engine = CachedEngine(Batching(), cache, "batching")
    threes = [(replace(mazur(3), learning_rate=0.1 * n), {0, 3}) for n in range(1, 6)]
    two = (mazur(2), {2})
    engine.run(*threes[0])
    assert engine.pending_batches([*threes, two], largest=3) == [threes[1:4]]
    assert engine.pending_batches([*threes, two], largest=2) == [threes[1:3], threes[3:5]]
    assert engine.pending_batches([two], largest=1) == [[two]]
    others = {"batching": engine, "loops": CachedEngine(LoopsEngine(), cache, "loops")}
    assert batches_to_compute(others, [*threes, two]) == []  # none of 64
    assert others["loops"].pending_batches([two], largest=1) == []  # it does not batch
