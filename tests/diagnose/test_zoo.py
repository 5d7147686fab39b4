"""The bug zoo: every bug of the catalogue, planted as a mutant, is caught by some check.

The table in docs/diagnose.md shows the checks that live in bpcheck; ``bpcheck sync``
rewrites it after a change.  The Hypothesis properties, which live in the
tests, are added here: a bug must not escape all of them either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from bpcheck.authoring.docs import generated_sections, replace_between
from bpcheck.authoring.sync import SYNC
from bpcheck.checking import registry
from bpcheck.diagnose.variants import VariantEngine
from bpcheck.diagnose.zoo import (
    CHECKS,
    ZOO_BUGS,
    ZooCheck,
    caught_by_fixtures,
    zoo,
    zoo_markdown,
)
from bpcheck.model.engine import Engine
from bpcheck.model.fixture import Fixture
from bpcheck.model.problem import Problem
from tests.support import laws as props
from tests.support.groups import ZOO_GROUP

ROOT = Path(__file__).resolve().parents[2]

SEARCH = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
"""A fixed, reproducible search per property: the table must not depend on luck."""

PropertyCheck = Callable[[Engine, Problem], None]

ENGINE_PROPERTIES: dict[str, PropertyCheck] = {
    "engines agree": lambda e, p: props.check_engines_agree(
        {"loops": props.REFERENCE, e.name: e}, p
    ),
    "finite differences": lambda e, p: props.check_gradients_match_finite_differences(e, p),
    "loss never negative": props.check_loss_is_never_negative,
    "small step lowers loss": props.check_small_step_does_not_increase_loss,
    "batch gradient is a sum": props.check_batch_gradient_is_sum_of_samples,
    "zero steps change nothing": props.check_zero_steps_change_nothing,
}


def fails_somewhere(check: PropertyCheck, mutant: Engine) -> bool:
    def broken(problem: Problem) -> bool:
        try:
            check(mutant, problem)
        except AssertionError:
            return True
        return False

    try:
        find(props.problems_for([props.REFERENCE]), broken, settings=SEARCH)
    except NoSuchExample:
        return False
    return True


def caught_by_properties(mutant: Engine, fixtures: list[Fixture]) -> bool:
    return any(fails_somewhere(check, mutant) for check in ENGINE_PROPERTIES.values())


ALL_CHECKS: dict[str, ZooCheck] = {**CHECKS, "properties": caught_by_properties}


@pytest.mark.slow  # runs every check on every planted bug
@ZOO_GROUP
def test_no_bug_escapes_every_check(bundled: dict[Path, Fixture]) -> None:
    results = zoo(list(bundled.values()), ALL_CHECKS)
    escaped = [bug for bug, row in results.items() if not any(row.values())]
    assert not escaped, f"mutants that no check catches: {escaped}\n{zoo_markdown(results)}"


@pytest.mark.slow  # runs every check on every planted bug
@ZOO_GROUP
def test_the_readme_shows_the_zoo(bundled: dict[Path, Fixture]) -> None:
    """The table ``bpcheck sync`` writes, made the way it makes it, is the page's."""
    sections = generated_sections(ROOT, list(bundled.values()), registry.reference_engine())
    zoo_section = next(s for s in sections if s.marker == "zoo")
    table = zoo_section.content()
    text = zoo_section.path.read_text("utf-8")
    assert replace_between(text, "zoo", table) == text, (
        f"the bug zoo table of {zoo_section.path.name} is out of date; run `{SYNC}`:\n{table}"
    )


def test_the_zoo_computes_each_cell_once_per_fixtures_content(
    bundled: dict[Path, Fixture],
) -> None:
    """The in-process memo of the zoo's cells against the plain computation: a second
    table over the same fixtures calls no check, and an edited weight is a miss whose
    cells say what the check says of the edited fixtures."""
    calls: list[str] = []

    def first_weight_positive(mutant: Engine, fixtures: list[Fixture]) -> bool:
        calls.append(mutant.name)
        return fixtures[0].problem.layers[0].weights[0][0] > 0

    fixtures = list(bundled.values())[:2]
    bugs = ZOO_BUGS[:2]
    first = zoo(fixtures, {"sign": first_weight_positive}, bugs)
    assert len(calls) == 2
    assert zoo(list(fixtures), {"sign": first_weight_positive}, bugs) == first
    assert len(calls) == 2, "the same fixtures computed the cells again"

    layer = fixtures[0].problem.layers[0]
    flipped = ((-layer.weights[0][0], *layer.weights[0][1:]), *layer.weights[1:])
    problem = replace(
        fixtures[0].problem,
        layers=(replace(layer, weights=flipped), *fixtures[0].problem.layers[1:]),
    )
    edited = [replace(fixtures[0], problem=problem), fixtures[1]]
    second = zoo(edited, {"sign": first_weight_positive}, bugs)
    assert len(calls) == 4, "an edited weight was served from the memo"
    assert second == {bug.name: {"sign": not first[bug.name]["sign"]} for bug in bugs}


def test_a_per_fixture_cell_misses_when_its_claims_change(bundled: dict[Path, Fixture]) -> None:
    """A fixture check is remembered per fixture: the fixture without its claims gets a
    fresh cell, equal to the plain check, never the remembered catch."""
    fixture = next(f for f in bundled.values() if f.id == "hmkcode-2018")
    bug = next(bug for bug in ZOO_BUGS if caught_by_fixtures(VariantEngine((bug,)), [fixture]))
    assert zoo([fixture], {"fixtures": caught_by_fixtures}, (bug,)) == {
        bug.name: {"fixtures": True}
    }
    emptied = replace(fixture, claims=())
    plain = caught_by_fixtures(VariantEngine((bug,)), [emptied])
    assert plain is False
    assert zoo([emptied], {"fixtures": caught_by_fixtures}, (bug,)) == {
        bug.name: {"fixtures": plain}
    }
