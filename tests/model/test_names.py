"""Quantity names and printed numbers are matched whole, in ASCII digits, and looked up by index.

``is_name_at_step`` replaces listing every name of a step (quadratic in a layer's
width) in the loader: it must agree with ``names_at_step`` on every name, and on
every near miss.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from bpcheck.model import quantities as q
from bpcheck.model.problem import Problem
from bpcheck.model.verdicts import is_decimal_number, printed_problem
from bpcheck.testing import strategies as bst
from tests.support.laws import examples

FULLWIDTH_ONE = "\uff11"

SEED_ARCHITECTURES = bst.architectures(batches=("full", "per_sample"))
"""Architectures of the seeds' kind: a mini-batch needs a size, which ``feature_problems``
draws (``architectures`` drawing ``mini`` gave batch size 0)."""


def near_misses(name: str) -> set[str]:
    """Names one slip away from ``name``: another index, a newline, a fullwidth or padded digit."""
    return {
        name + "\n",
        name.replace("1", FULLWIDTH_ONE),
        name.replace("1", "01"),
        name.replace("1", "0"),
        name.replace("1", "2"),
        name.replace("1", "9"),
        name.replace("@", "@0"),
        name.replace("]", ",1]", 1),
    }


def check_lookup_agrees_with_the_list(problem: Problem) -> None:
    every = {name for step in range(problem.steps + 1) for name in q.names_at_step(problem, step)}
    for step in range(problem.steps + 1):
        listed = set(q.names_at_step(problem, step))
        misses = {miss for known in every for miss in near_misses(known)}
        for name in every | misses:
            assert q.is_name_at_step(problem, name, step) == (name in listed), (name, step)


@settings(max_examples=examples(0.2))
@given(problem=bst.problems(SEED_ARCHITECTURES))
def test_looking_a_name_up_agrees_with_listing_the_names(problem: Problem) -> None:
    check_lookup_agrees_with_the_list(problem)


@settings(max_examples=examples(0.2))
@given(problem=bst.feature_problems(bst.problems(SEED_ARCHITECTURES)))
def test_looking_a_name_up_agrees_on_issue_17_features(problem: Problem) -> None:
    """Mini-batches, objectives, new activations, momentum: tests/model/test_names_features.py
    builds each on purpose; here Hypothesis mixes them."""
    check_lookup_agrees_with_the_list(problem)


@pytest.mark.parametrize("seed", range(4))
def test_looking_up_agrees_on_per_sample_training_with_biases(seed: int) -> None:
    arch = bst.Architecture(
        sizes=(2, 3, 2),
        activations=("tanh", "sigmoid"),
        bias_kinds=("per_neuron", "shared"),
        bias_trainable=(True, False),
        loss="half_sse",
        n_samples=3,
        batch="per_sample",
        update_order="simultaneous",
    )
    check_lookup_agrees_with_the_list(bst.seeded_problem(arch, seed, steps=4))


@pytest.mark.parametrize(
    "name", ["out[1,1]\n", f"out[1,{FULLWIDTH_ONE}]", "out[1,1]@" + FULLWIDTH_ONE, "E[1]\n"]
)
def test_a_name_with_a_newline_or_other_digits_is_not_per_sample(name: str) -> None:
    """``$`` matched before a final newline and ``\\d`` took fullwidth digits."""
    base, _ = q.split_sample(name)
    assert not q.is_per_sample(base)
    assert q.normalize(name) == name


def test_a_sample_of_ten_thousand_digits_is_no_crash() -> None:
    """int() refuses more than 4,300 digits; the sample pattern stops at 9."""
    assert q.split_sample("out[1,1]@" + "9" * 10_000)[1] == -1


@pytest.mark.parametrize(
    "text",
    ["0.5", "-0.5932", "+3.5e-05", ".5", "5.", "1E+2", "0e-400", "9" * 100],
)
def test_a_printed_number(text: str) -> None:
    assert is_decimal_number(text)
    assert printed_problem(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0.75\n", "a decimal number"),
        ("\uff10.\uff17\uff15", "a decimal number"),
        ("0.\u0667\u0665", "a decimal number"),
        ("1,5", "a decimal number"),
        (" 0.5", "a decimal number"),
        ("7.5e-2100", "between 1e-400 and 1e400"),
        ("1e401", "between 1e-400 and 1e400"),
        ("0e-401", "between 1e-400 and 1e400"),
        ("1" * 101, "at most 100 characters"),
    ],
)
def test_not_a_printed_number(text: str, problem: str) -> None:
    """Fullwidth digits matched ``\\d`` and ``decimal`` read them: a fullwidth 0.75 matched."""
    found = printed_problem(text)
    assert found is not None and problem in found, found
