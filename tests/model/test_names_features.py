"""Names on problems with issue 17's features: the lookup agrees with the list everywhere.

``is_name_at_step`` reads a name's indices; ``names_at_step`` lists every name.
They must agree on mini-batches (only the step's samples have names), an
objective (no ``error[k]``), a frozen bias (a gradient, no change), the last step
(no ``dw``, ``db`` or ``E_change``), and on every near miss of every name.
``is_extended`` must say exactly which names the extended list adds.  The
problems are built here, field by field, so that each feature is present for
sure (the shared strategies draw them only now and then).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpcheck.model import quantities as q
from bpcheck.model.problem import ACTIVATIONS, Layer, Problem, batch_of_step, epoch_batches

LOSSES_WITH_TARGETS = ("half_sse", "sse", "mse", "bce", "softmax_ce")


def near_misses(name: str) -> set[str]:
    """Names one slip away: another index or sample, padded digits, a step name made per-sample."""
    return {
        name + "\n",
        name.replace("1", "\uff11"),
        name.replace("1", "01"),
        name.replace("1", "0"),
        name.replace("1", "2"),
        name.replace("1", "4"),
        name.replace("@", "@0"),
        name.replace("]", ",1]", 1),
        name.split("@")[0] + "@1" if "@" not in name else name.split("@")[0],
        "d" + name,
    }


def network(
    sizes: tuple[int, ...],
    activations: tuple[str, ...],
    bias_kinds: tuple[str, ...],
    trainable: tuple[bool, ...],
) -> tuple[Layer, ...]:
    layers = []
    for n, (fan_in, size) in enumerate(itertools.pairwise(sizes)):
        kind = bias_kinds[n]
        count = {"none": 0, "shared": 1, "per_neuron": size}[kind]
        layers.append(
            Layer(
                weights=tuple(tuple(0.1 * (j + i + 1) for i in range(fan_in)) for j in range(size)),
                activation=activations[n],
                bias_kind=kind,
                bias=(0.05,) * count,
                bias_trainable=trainable[n],
                learning_rate=0.1 if n == 0 else None,
            )
        )
    return tuple(layers)


def problem(
    *,
    loss: str = "half_sse",
    samples: int = 3,
    steps: int = 2,
    batch: str = "full",
    batch_size: int = 0,
    order: tuple[int, ...] = (),
    bias_kinds: tuple[str, ...] = ("per_neuron", "shared"),
    trainable: tuple[bool, ...] = (True, False),
    activations: tuple[str, ...] = ("leaky_relu", "elu"),
) -> Problem:
    sizes = (2, 3, 2)
    return Problem(
        layers=network(sizes, activations, bias_kinds, trainable),
        inputs=tuple((0.5 * s, 1.0 - 0.25 * s) for s in range(samples)),
        targets=tuple((1.0, 0.0) for _ in range(samples)),
        loss=loss,
        objective=2 if loss == "output" else 0,
        learning_rate=0.5,
        steps=steps,
        batch=batch,
        batch_size=batch_size,
        sample_order=order,
        momentum=0.9,
        nesterov=True,
        weight_decay=0.01,
    )


def check_lookup_agrees_with_the_list(found: Problem) -> None:
    every = {n for step in range(found.steps + 1) for n in q.names_at_step(found, step)}
    misses = {miss for known in every for miss in near_misses(known)}
    for step in range(found.steps + 1):
        listed = set(q.names_at_step(found, step))
        for name in every | misses:
            assert q.is_name_at_step(found, name, step) == (name in listed), (name, step)
        assert q.is_name_at_step(found, q.E_CHANGE, step) == (step < found.steps)
        assert q.E_CHANGE not in listed  # derived by bpcheck, never asked of an engine


def check_extended_is_what_the_extended_list_adds(found: Problem) -> None:
    for step in range(found.steps + 1):
        old = set(q.names_at_step(found, step, extended=False))
        new = q.names_at_step(found, step)
        assert len(new) == len(set(new)), "a name listed twice"
        assert old <= set(new)
        for name in new:
            assert q.is_extended(name) == (name not in old), name


FEATURES = {
    "mini-batch in an order": problem(batch="mini", batch_size=2, order=(2, 0, 1), steps=4),
    "mini-batch of one": problem(batch="mini", batch_size=1, steps=3),
    "objective": problem(loss="output"),
    "objective per sample": problem(loss="output", batch="per_sample", steps=3),
    "frozen and trainable biases": problem(trainable=(False, True)),
    "no training": problem(steps=0),
    "softplus and softmax": problem(activations=("softplus", "softmax"), loss="bce"),
}


@pytest.mark.parametrize("feature", FEATURES)
def test_lookup_agrees_with_the_list(feature: str) -> None:
    check_lookup_agrees_with_the_list(FEATURES[feature])


@pytest.mark.parametrize("feature", FEATURES)
def test_is_extended_says_what_the_extended_names_add(feature: str) -> None:
    check_extended_is_what_the_extended_list_adds(FEATURES[feature])


def test_only_the_step_s_samples_have_names_in_a_mini_batch() -> None:
    found = FEATURES["mini-batch in an order"]
    assert epoch_batches(found) == ((2, 0), (1,))
    assert [batch_of_step(found, step) for step in range(4)] == [(2, 0), (1,), (2, 0), (1,)]
    assert q.is_name_at_step(found, "E@3", 0) and q.is_name_at_step(found, "E@1", 0)
    assert not q.is_name_at_step(found, "E@2", 0)
    assert q.is_name_at_step(found, "dE_dw[1,1,1]@2", 1)
    assert not q.is_name_at_step(found, "dE_dw[1,1,1]@2", 2)


def test_an_objective_has_no_output_error_but_every_other_name() -> None:
    found = FEATURES["objective"]
    names = set(q.names_at_step(found, 0))
    assert not any(name.startswith("error[") for name in names)
    assert {"error_term[2,1]@1", "E[2]@1", "E@1", "dE_dout[0,1]@1"} <= names
    with_loss = set(q.names_at_step(replace(found, loss="half_sse", objective=0), 0))
    assert with_loss - names == {f"error[{k}]@{s}" for k in (1, 2) for s in (1, 2, 3)}


def test_a_frozen_bias_has_a_gradient_and_no_change() -> None:
    found = FEATURES["frozen and trainable biases"]  # layer 1 frozen, layer 2 trainable
    names = set(q.names_at_step(found, 0))
    assert {"dE_db[1,1]", "dE_db[1,1]@1", "db[2]"} <= names
    assert not {"db[1,1]", "db[1,2]", "db[1,3]"} & names
    assert not q.is_name_at_step(found, "db[1,1]", 0)


def test_the_last_step_has_no_change() -> None:
    found = FEATURES["frozen and trainable biases"]
    last = set(q.names_at_step(found, found.steps))
    assert not any(name.startswith(("dw[", "db[")) for name in last)
    assert "dw[1,1,1]" in q.names_at_step(found, found.steps - 1)
    assert not q.is_name_at_step(found, "dw[1,1,1]", found.steps)
    assert not q.is_name_at_step(found, q.E_CHANGE, found.steps)


def test_every_new_name_has_a_place_in_the_extended_list() -> None:
    """One of each kind the contract adds, on a problem with targets and trainable biases."""
    found = problem(trainable=(True, True))
    names = set(q.names_at_step(found, 0))
    for name in (
        "dE_dout[0,2]@1",
        "E@1",
        "dE_dw[2,1,3]@1",
        "dE_db[1,2]@1",
        "dE_db[2]@1",
        "net_term[2,2,3]@1",
        "weighted_sum[1,3]@1",
        "error[2]@1",
        "error_term[1,1]@1",
        "dw[2,2,3]",
        "db[1,3]",
        "db[2]",
    ):
        assert name in names, name
        assert q.is_extended(name), name


@st.composite
def feature_problems(draw: st.DrawFn) -> Problem:
    """Any mix of the features: batch mode and order, loss or objective, biases, steps."""
    samples = draw(st.integers(1, 4))
    batch = draw(st.sampled_from(("full", "per_sample", "mini")))
    size = draw(st.integers(1, samples)) if batch == "mini" else 0
    order = tuple(draw(st.permutations(range(samples)))) if batch == "mini" else ()
    hidden = tuple(a for a in ACTIVATIONS if a != "softmax")
    return problem(
        loss=draw(st.sampled_from((*LOSSES_WITH_TARGETS, "output"))),
        samples=samples,
        steps=draw(st.integers(0, 3)),
        batch=batch,
        batch_size=size,
        order=order if draw(st.booleans()) else (),
        bias_kinds=tuple(draw(st.sampled_from(("none", "shared", "per_neuron"))) for _ in "ab"),
        trainable=(draw(st.booleans()), draw(st.booleans())),
        activations=(draw(st.sampled_from(hidden)), draw(st.sampled_from(ACTIVATIONS))),
    )


@settings(max_examples=25, deadline=None)
@given(found=feature_problems())
def test_lookup_agrees_with_the_list_on_any_mix(found: Problem) -> None:
    check_lookup_agrees_with_the_list(found)
    check_extended_is_what_the_extended_list_adds(found)
