"""Property tests: Hypothesis hunts for disagreement.

Fixtures check the networks someone wrote down; these check the ones nobody
did.  Hypothesis draws networks, data and settings (``bpcheck.testing.strategies``), and
every engine must agree with every other, with finite differences and with the
laws of backpropagation; the verdict rule and the loader have laws of their own.
The laws themselves are in :mod:`tests.support.laws`; this module only draws.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from bpcheck.checking.check import FAILED, check_fixture
from bpcheck.io.loader import load
from bpcheck.model import verdicts
from bpcheck.model.engine import Engine
from bpcheck.model.problem import (
    ACTIVATIONS,
    BATCH_MODES,
    BIAS_KINDS,
    LOSSES,
    UPDATE_ORDERS,
    Problem,
)
from bpcheck.testing import fixture_strategies as bfs
from bpcheck.testing import strategies as bst
from bpcheck.testing.feature_strategies import NEW_HIDDEN, feature_problems
from tests.support.laws import (
    COMPILES_PER_SHAPE,
    ENGINES,
    POOL_SIZE,
    REGRESSIONS,
    check_batch_gradient_is_sum_of_samples,
    check_cut_print_is_match_or_truncated,
    check_engines_agree,
    check_fixture_survives_save_and_load,
    check_gradients_match_finite_differences,
    check_hidden_permutation_permutes_gradients,
    check_loader_raises_only_fixture_error,
    check_loss_is_never_negative,
    check_orders_agree_with_one_layer,
    check_problem_survives_fixture,
    check_rounded_print_is_a_match,
    check_small_step_does_not_increase_loss,
    check_verdict_is_total,
    check_zero_steps_change_nothing,
    examples,
    full_simultaneous,
    one_layer,
    problems_for,
    save,
    with_hidden_layer,
)

pytestmark = [pytest.mark.property, pytest.mark.slow]  # the fast run leaves the hunts to tox


# --- the tests ---------------------------------------------------------------------------------

CHEAP = {n: e for n, e in ENGINES.items() if n not in COMPILES_PER_SHAPE}


def engine_params() -> list[Any]:
    return [pytest.param(engine, id=name) for name, engine in ENGINES.items()]


@settings(max_examples=examples())
@given(data=st.data())
def test_all_engines_agree_on_every_quantity(data: st.DataObject) -> None:
    problem = data.draw(problems_for(list(ENGINES.values())), label="problem")
    check_engines_agree(ENGINES, problem)


@pytest.mark.skipif(len(CHEAP) < 2, reason="fewer than two engines without per-shape compiles")
@settings(max_examples=examples(2))
@given(data=st.data())
def test_engines_without_compiles_agree_on_any_architecture(data: st.DataObject) -> None:
    problem = data.draw(problems_for(list(CHEAP.values())), label="problem")
    check_engines_agree(CHEAP, problem)


@pytest.mark.parametrize("engine", engine_params())
@settings(max_examples=examples())
@given(data=st.data())
def test_gradients_match_finite_differences(engine: Engine, data: st.DataObject) -> None:
    problem = data.draw(problems_for([engine]), label="problem")
    picks = data.draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4), label="picks")
    check_gradients_match_finite_differences(engine, problem, picks)


@pytest.mark.parametrize("engine", [e for e in engine_params() if e.id in CHEAP])
@settings(max_examples=examples(0.5))
@given(data=st.data())
def test_gradients_match_central_differences(engine: Engine, data: st.DataObject) -> None:
    """The fallback used when bpcheck.gradcheck.engine_check is absent, kept honest on its own."""
    problem = data.draw(problems_for([engine]), label="problem")
    picks = data.draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4), label="picks")
    check_gradients_match_finite_differences(engine, problem, picks, method="central")


@pytest.mark.parametrize("engine", engine_params())
@settings(max_examples=examples())
@given(data=st.data())
def test_loss_is_never_negative(engine: Engine, data: st.DataObject) -> None:
    check_loss_is_never_negative(engine, data.draw(problems_for([engine]), label="problem"))


@pytest.mark.parametrize("engine", engine_params())
@settings(max_examples=examples())
@given(data=st.data())
def test_a_small_step_does_not_increase_the_loss(engine: Engine, data: st.DataObject) -> None:
    problem = data.draw(problems_for([engine], full_simultaneous), label="problem")
    check_small_step_does_not_increase_loss(engine, problem)


@pytest.mark.parametrize("engine", engine_params())
@settings(max_examples=examples())
@given(data=st.data())
def test_orders_agree_with_one_layer_of_weights(engine: Engine, data: st.DataObject) -> None:
    problem = data.draw(problems_for([engine], one_layer), label="problem")
    check_orders_agree_with_one_layer(engine, problem)


@pytest.mark.parametrize("engine", engine_params())
@settings(max_examples=examples())
@given(data=st.data())
def test_batch_gradient_is_sum_of_sample_gradients(engine: Engine, data: st.DataObject) -> None:
    problem = data.draw(problems_for([engine], full_simultaneous), label="problem")
    check_batch_gradient_is_sum_of_samples(engine, problem)


@pytest.mark.parametrize("engine", engine_params())
@settings(max_examples=examples())
@given(data=st.data())
def test_permuting_hidden_neurons_permutes_gradients(engine: Engine, data: st.DataObject) -> None:
    problem = data.draw(problems_for([engine], with_hidden_layer), label="problem")
    layer = data.draw(st.integers(1, len(problem.layers) - 1), label="layer")
    order = data.draw(st.permutations(range(problem.layers[layer - 1].size)), label="order")
    check_hidden_permutation_permutes_gradients(engine, problem, layer, order)


@pytest.mark.parametrize("engine", engine_params())
@settings(max_examples=examples())
@given(data=st.data())
def test_zero_steps_change_no_parameter(engine: Engine, data: st.DataObject) -> None:
    check_zero_steps_change_nothing(engine, data.draw(problems_for([engine]), label="problem"))


ANY_FLOAT = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(5))
@given(value=ANY_FLOAT.filter(lambda v: abs(v) < 1e15), places=st.integers(0, 20))
def test_a_rounded_value_is_a_match(value: float, places: int) -> None:
    check_rounded_print_is_a_match(verdicts.verdict, value, places)


@settings(max_examples=examples(5))
@given(value=ANY_FLOAT, places=st.integers(0, 16))
def test_a_value_rounded_in_scientific_notation_is_a_match(value: float, places: int) -> None:
    check_rounded_print_is_a_match(verdicts.verdict, value, places, scientific=True)


@settings(max_examples=examples(5))
@given(value=bst.reals(1e15), places=st.integers(0, 20))
def test_a_cut_value_is_a_match_or_truncated(value: float, places: int) -> None:
    check_cut_print_is_match_or_truncated(verdicts.verdict, value, places)


@settings(max_examples=examples(5))
@given(value=bst.reals(1e40), printed=bst.printed_numbers())
def test_verdict_is_total(value: float, printed: str) -> None:
    check_verdict_is_total(verdicts.verdict, value, printed)


SCHEMA_PROBLEM = bfs.schema_generation_problem()


@pytest.mark.skipif(SCHEMA_PROBLEM is not None, reason=str(SCHEMA_PROBLEM))
@settings(max_examples=examples(0.1))  # about a second per document: the schema is intricate
@given(data=st.data())
def test_the_loader_raises_only_fixture_error_on_schema_documents(data: st.DataObject) -> None:
    document = data.draw(bfs.schema_documents(), label="document")
    check_loader_raises_only_fixture_error(load, save(document))


@settings(max_examples=examples(2))
@given(document=bfs.mutated_documents())
def test_the_loader_raises_only_fixture_error_on_broken_documents(document: Any) -> None:
    check_loader_raises_only_fixture_error(load, save(document))


@settings(max_examples=examples(2))
@given(text=bfs.mutated_texts())
def test_the_loader_raises_only_fixture_error_on_broken_json(text: str) -> None:
    check_loader_raises_only_fixture_error(load, text)


@settings(max_examples=examples())
@given(document=bfs.fixture_documents())
def test_a_fixture_survives_save_and_load(document: dict[str, Any]) -> None:
    check_fixture_survives_save_and_load(load, save, document)


@settings(max_examples=examples())
@given(problem=bst.problems())
def test_a_problem_survives_problem_as_fixture(problem: Problem) -> None:
    check_problem_survives_fixture(load, problem)


def features_of(problem: Problem) -> dict[str, set[str]]:
    activations = {layer.activation for layer in problem.layers}
    return {"loss": {problem.loss}, "batch": {problem.batch}, "activation": activations}


DRAWN = settings(max_examples=2000, phases=[Phase.generate], database=None, derandomize=True)
"""Whether some draw has a feature, not the smallest one that has it: no shrinking, which
took minutes of the test's time."""


def test_the_architecture_pool_uses_every_feature_of_the_model() -> None:
    """What the compiling engines see in default and ci still covers the whole model."""
    pool = bst.architecture_pool(POOL_SIZE or 6)
    seen: dict[str, set[Any]] = {
        "loss": {a.loss for a in pool},
        "activation": {f for a in pool for f in a.activations},
        "bias": {f for a in pool for f in a.bias_kinds},
        "trainable": {f for a in pool for f in a.bias_trainable},
        "batch": {a.batch for a in pool},
        "order": {a.update_order for a in pool},
        "depth": {a.depth for a in pool},
    }
    expected: dict[str, set[Any]] = {
        "loss": set(LOSSES),
        "activation": set(ACTIVATIONS),
        "bias": set(BIAS_KINDS),
        "trainable": {True, False},
        "batch": set(BATCH_MODES),
        "order": set(UPDATE_ORDERS),
        "depth": set(range(1, bst.MAX_DEPTH + 1)),
    }
    # what issue 17 added is drawn into the pool's problems by feature_problems instead
    # (tests/properties/test_features.py), so that seeded draws stay as they were
    for kind, value in [("loss", "output"), ("batch", "mini")] + [
        ("activation", name) for name in NEW_HIDDEN
    ]:
        find(feature_problems(), lambda p, k=kind, v=value: v in features_of(p)[k], settings=DRAWN)
        seen[kind].add(value)
    missing = {
        k: sorted(map(str, expected[k] - seen[k])) for k in expected if expected[k] - seen[k]
    }
    assert not missing, f"the pool and the feature draws lack {missing}"


# --- regressions: counterexamples kept as fixtures ---------------------------------------------


def regression_files() -> list[Path]:
    return sorted(REGRESSIONS.glob("*.json")) if REGRESSIONS.is_dir() else []


@pytest.mark.parametrize("path", regression_files(), ids=lambda p: p.stem)
def test_regression_fixtures_hold_for_every_engine(path: Path) -> None:
    """Each kept counterexample: claims at their expected verdicts, engines in agreement.

    The pytest plugin runs each fixture per engine; this adds the agreement
    between engines, which a single engine's run cannot show.
    """
    fixture = load(path)
    result = check_fixture(fixture, ENGINES)
    assert result.outcome != FAILED, (
        f"{path}: {[c.message for c in result.claims if c.outcome == FAILED]}"
    )
    check_engines_agree(ENGINES, fixture.problem, fixture.recorded_steps() | {0})


# --- bugs the properties found, fixed: kept as regression tests -------------------------------


@pytest.mark.parametrize(("value", "printed"), [(1.0, "4e-121"), (1e120, "5")])
def test_verdict_of_a_print_needing_more_than_100_digits(value: float, printed: str) -> None:
    """verdict raised decimal.InvalidOperation, not mismatch, when cutting the value at the
    printed place needed more than 100 digits (quantize in a 100-digit context)."""
    check_verdict_is_total(verdicts.verdict, value, printed)


def test_deeply_nested_json_is_a_fixture_error() -> None:
    """json.loads raises RecursionError on 100,000 nested brackets; the loader let it out."""
    check_loader_raises_only_fixture_error(load, "[" * 100_000 + "]" * 100_000)
