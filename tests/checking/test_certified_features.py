"""The certified engine on every feature of issue 17 (docs/fixtures.md), float32 excepted.

On one small problem per feature:

* its trace (``run``) and its bounds (``enclose``) hold exactly the names the problem
  model lists for each step (``names_at_step``, the extended names included);
* its gradients agree with central differences of its own loss (a wrong derivative of
  an activation or a loss, a missing weight-decay term, shows here whatever any other
  engine does), and its updates with the problem model's rule written out again here
  (rates, momentum, Nesterov, weight decay, a frozen bias);
* a float64 engine lies within :data:`~bpcheck.checking.certified.FLOAT64_SAFETY` radii
  of its enclosure on every name both record.

float32 problems are not the certified engine's: ``CannotRun`` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal, localcontext
from functools import partial

import pytest

from bpcheck.checking.certified import disagreements
from bpcheck.checking.check import OK, SKIPPED, run_problem
from bpcheck.checking.enclosures import plain_enclosures
from bpcheck.checking.traces import BadTrace
from bpcheck.engines.certified import CertifiedEngine
from bpcheck.engines.certified.engine import FLOAT32_REASON
from bpcheck.engines.loops import LoopsEngine
from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, FLOAT32, CannotRun, Enclosures, Engine
from bpcheck.model.problem import Layer, Problem, layer_rate
from bpcheck.model.quantities import names_at_step
from tests.features.feature_fixtures import SPECS, Spec

HIDDEN = Layer(((0.15, -0.9), (0.25, 0.3)), "sigmoid", "shared", (0.05,))
OUTPUT = Layer(((0.4, 0.45), (-0.5, 0.55)), "sigmoid", "per_neuron", (0.6, -0.1))
BASE = Problem(
    (HIDDEN, OUTPUT),
    ((0.05, 0.1), (0.3, -0.2), (-0.7, 0.4)),
    ((0.01, 0.99), (0.5, 0.5), (0.2, 0.3)),
    loss="half_sse",
    learning_rate=0.5,
    steps=3,
)
"""Three samples, a hidden layer whose net inputs take both signs (sample 1's first neuron
0.0075 - 0.09 + 0.05 < 0, sample 2's 0.045 + 0.18 + 0.05 > 0), none at a kink."""
ONE_HOT = ((0.0, 1.0), (1.0, 0.0), (0.0, 1.0))


def hidden(**changes: object) -> Problem:
    return replace(BASE, layers=(replace(HIDDEN, **changes), OUTPUT))


def output(loss: str, activation: str, targets: tuple[tuple[float, ...], ...] = ONE_HOT) -> Problem:
    return replace(
        BASE, loss=loss, targets=targets, layers=(HIDDEN, replace(OUTPUT, activation=activation))
    )


FEATURES: dict[str, Problem] = {
    "leaky_relu": hidden(activation="leaky_relu", slope=0.2),
    "softplus": hidden(activation="softplus"),
    "elu": hidden(activation="elu", alpha=0.7),
    "bce-on-softmax": output("bce", "softmax"),
    "mse-on-softmax": output("mse", "softmax", BASE.targets),
    "softmax_ce-on-sigmoid": output("softmax_ce", "sigmoid"),
    "bce-on-tanh-hidden": replace(
        output("bce", "sigmoid"), layers=(replace(HIDDEN, activation="tanh"), OUTPUT)
    ),
    "objective-output-2": replace(BASE, loss="output", objective=2, targets=((0.0, 0.0),) * 3),
    "objective-on-softmax": replace(output("output", "softmax", ((0.0, 0.0),) * 3), objective=1),
    "mini-batch": replace(BASE, batch="mini", batch_size=2, sample_order=(2, 0, 1), steps=4),
    "momentum": replace(BASE, momentum=0.9),
    "nesterov": replace(BASE, momentum=0.9, nesterov=True),
    "weight_decay": replace(BASE, weight_decay=0.01),
    "layer_rates": replace(
        BASE, layers=(replace(HIDDEN, learning_rate=0.1), replace(OUTPUT, learning_rate=0.3))
    ),
    "everything": replace(
        BASE,
        layers=(
            replace(HIDDEN, activation="elu", alpha=1.5, learning_rate=0.2, bias_trainable=False),
            replace(OUTPUT, activation="softmax"),
        ),
        loss="bce",
        targets=ONE_HOT,
        batch="mini",
        batch_size=2,
        momentum=0.5,
        nesterov=True,
        weight_decay=0.003,
        update_order="sequential",
        steps=4,
    ),
}

COMPARED: Callable[[], Engine] = LoopsEngine
"""The float64 engine the enclosures are compared with: the loops engine, whose commits
have every feature of issue 17 (0252070; the matrices engine had them first, eb986cb)."""


def steps_of(problem: Problem) -> set[int]:
    return set(range(problem.steps + 1))


def enclose(problem: Problem) -> Enclosures:
    return CertifiedEngine().enclose(problem, steps_of(problem))


@pytest.fixture(autouse=True)
def hundred_digits() -> Iterator[None]:
    """Decimal arithmetic here keeps 100 digits: the bounds carry about 55."""
    with localcontext() as context:
        context.prec = 100
        yield


def mid(enclosures: Enclosures, name: str, step: int = 0) -> Decimal:
    low, high = enclosures.bounds[step][name]
    return (Decimal(low) + Decimal(high)) / 2


# --- the names -------------------------------------------------------------------------


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_trace_and_bounds_hold_exactly_the_names_of_each_step(feature: str) -> None:
    problem = FEATURES[feature]
    engine = CertifiedEngine()
    trace = engine.run(problem, steps_of(problem))
    enclosed = engine.enclose(problem, steps_of(problem))
    for step in steps_of(problem):
        expected = set(names_at_step(problem, step))
        assert set(trace[step]) == expected, step
        assert set(enclosed.bounds[step]) == expected, step
        assert set(enclosed.float64[step]) == expected, step


def test_the_extended_names_are_there() -> None:
    """A few of each kind, by hand: the sets above come from the same model as the engine."""
    problem = FEATURES["mini-batch"]
    names = set(enclose(problem).bounds[0])
    assert {"dE_dout[0,2]@3", "E@1", "dE_dw[2,1,2]@3", "dE_db[1]@1", "dE_db[2,2]@1"} <= names
    assert {"net_term[1,2,1]@3", "weighted_sum[2,1]@1", "error[2]@3", "error_term[1,1]@1"} <= names
    assert {"dw[1,2,2]", "db[1]", "db[2,2]"} <= names and "E@2" not in names  # batch: 3, 1


# --- the derivatives against the certified loss -------------------------------------------

H = 1e-7
"""Central differences of an analytic loss are off by about h^2 = 1e-14 (relative, times
the third derivative): far below a wrong formula's error, far above 50 digits' rounding."""


def moved_weight(problem: Problem, number: int, j: int, i: int, by: float) -> Problem:
    layer = problem.layers[number - 1]
    rows = [list(row) for row in layer.weights]
    rows[j - 1][i - 1] = float(Decimal(repr(rows[j - 1][i - 1])) + Decimal(repr(by)))
    layers = list(problem.layers)
    layers[number - 1] = replace(layer, weights=tuple(tuple(row) for row in rows))
    return replace(problem, layers=tuple(layers), steps=0)


def moved_input(problem: Problem, sample: int, i: int, by: float) -> Problem:
    rows = [list(row) for row in problem.inputs]
    rows[sample - 1][i - 1] = float(Decimal(repr(rows[sample - 1][i - 1])) + Decimal(repr(by)))
    return replace(problem, inputs=tuple(tuple(row) for row in rows), steps=0)


def central(moved: Callable[[float], Problem], name: str) -> Decimal:
    above, below = enclose(moved(H)), enclose(moved(-H))
    return (mid(above, name) - mid(below, name)) / (2 * Decimal(repr(H)))


def close(found: Decimal, expected: Decimal) -> bool:
    return abs(found - expected) <= Decimal("1e-9") * max(Decimal(1), abs(expected))


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_weight_gradients_are_the_slopes_of_the_loss(feature: str) -> None:
    """dE_dw (weight decay included) against (E(w + h) - E(w - h)) / 2h, every weight."""
    problem = replace(FEATURES[feature], steps=0)
    enclosed = enclose(problem)
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                slope = central(partial(moved_weight, problem, number, j, i), q.LOSS)
                found = mid(enclosed, q.weight_grad(number, j, i))
                assert close(found, slope), (number, j, i, found, slope)


@pytest.mark.parametrize(
    "feature", ["elu", "leaky_relu", "softplus", "objective-output-2", "bce-on-softmax"]
)
def test_input_gradients_are_the_slopes_of_each_samples_loss(feature: str) -> None:
    """dE_dout[0,i]@s against central differences of E@s in input i of sample s."""
    problem = replace(FEATURES[feature], steps=0)
    enclosed = enclose(problem)
    for s in range(1, problem.n_samples + 1):
        for i in range(1, problem.n_inputs + 1):
            slope = central(partial(moved_input, problem, s, i), q.sample_loss(s))
            found = mid(enclosed, q.neuron("dE_dout", 0, i, s))
            assert close(found, slope), (s, i, found, slope)


def test_the_objective_is_one_output_summed_over_the_batch() -> None:
    problem = FEATURES["objective-output-2"]
    enclosed = enclose(problem)
    outs = sum(mid(enclosed, q.neuron("out", 2, 2, s)) for s in (1, 2, 3))
    assert abs(mid(enclosed, q.LOSS) - outs) < Decimal("1e-45")
    assert enclosed.bounds[0][q.term(1, 2)] == ("0", "0")
    assert mid(enclosed, q.neuron("dE_dout", 2, 2, 1)) == 1
    assert enclosed.bounds[0][q.neuron("dE_dout", 2, 1, 1)] == ("0", "0")


def test_weight_decay_adds_half_the_squared_weights_to_e_and_not_to_a_sample() -> None:
    plain, decayed = enclose(BASE), enclose(FEATURES["weight_decay"])
    squares = sum(
        Decimal(repr(w)) ** 2 for layer in BASE.layers for row in layer.weights for w in row
    )
    assert abs(mid(decayed, q.LOSS) - mid(plain, q.LOSS) - Decimal("0.005") * squares) < Decimal(
        "1e-45"
    )
    assert mid(decayed, "E@1") == mid(plain, "E@1")
    assert mid(decayed, "dE_dw[1,1,2]@1") == mid(plain, "dE_dw[1,1,2]@1")
    extra = mid(decayed, "dE_dw[1,1,2]") - mid(plain, "dE_dw[1,1,2]")
    assert abs(extra - Decimal("0.01") * Decimal("-0.9")) < Decimal("1e-45")


# --- the updates against the rule written out here --------------------------------------


def parameters(problem: Problem) -> list[tuple[str, str, str | None, int]]:
    """(parameter, gradient, change, 0-based layer) of every weight and bias."""
    found = []
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                names = q.weight(number, j, i), q.weight_grad(number, j, i)
                found.append((*names, q.weight_change(number, j, i), number - 1))
        indices = {"none": [], "shared": [None], "per_neuron": list(range(1, layer.size + 1))}
        for j_or_none in indices[layer.bias_kind]:
            change = q.bias_change(number, j_or_none) if layer.bias_trainable else None
            found.append(
                (q.bias(number, j_or_none), q.bias_grad(number, j_or_none), change, number - 1)
            )
    return found


@pytest.mark.parametrize(
    "feature", ["momentum", "nesterov", "weight_decay", "layer_rates", "mini-batch", "everything"]
)
def test_each_update_follows_the_rule(feature: str) -> None:
    """v <- mu v - eta g; change = v (or mu v - eta g, Nesterov); p <- p + change: every
    parameter, every step, from the gradients the engine names (a frozen bias stays)."""
    problem = FEATURES[feature]
    enclosed = enclose(problem)
    mu = Decimal(repr(problem.momentum))
    for parameter, gradient, change, index in parameters(problem):
        follows_the_rule(problem, enclosed, (parameter, gradient, change), index, mu)


def follows_the_rule(
    problem: Problem,
    enclosed: Enclosures,
    names: tuple[str, str, str | None],
    index: int,
    mu: Decimal,
) -> None:
    """One parameter's changes over the training, against the rule from its gradients."""
    parameter, gradient, change = names
    rate = Decimal(repr(layer_rate(problem, index)))
    velocity = Decimal(0)
    for step in range(problem.steps):
        g = mid(enclosed, gradient, step)
        velocity = mu * velocity - rate * g
        expected = mu * velocity - rate * g if problem.nesterov else velocity
        moved = mid(enclosed, parameter, step + 1) - mid(enclosed, parameter, step)
        if change is None:
            assert moved == 0, (parameter, step)
            continue
        assert abs(mid(enclosed, change, step) - expected) < Decimal("1e-40"), (parameter, step)
        assert abs(moved - expected) < Decimal("1e-40"), (parameter, step)


# --- kinks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("activation", "left"), [("leaky_relu", "0.25"), ("elu", "0.75")])
def test_at_an_exact_kink_the_slope_is_the_left_branchs(activation: str, left: str) -> None:
    """A net input of exactly 0 (a zero weight): the slope is exactly the left branch's."""
    layer = Layer(((0.0,),), activation, slope=0.25, alpha=0.75)
    problem = Problem((layer,), ((1.0,),), ((0.5,),), steps=0)
    low, high = enclose(problem).bounds[0]["dout_dnet[1,1]@1"]
    assert Decimal(low) == Decimal(high) == Decimal(left)


@pytest.mark.parametrize(("activation", "left"), [("leaky_relu", "0.2"), ("elu", "0.7")])
def test_a_ball_holding_the_kink_holds_both_slopes(activation: str, left: str) -> None:
    """0.1 - 0.1 is exactly 0, but 0.1 is no binary number: the ball straddles the kink."""
    layer = Layer(((0.1,),), activation, "per_neuron", (-0.1,), slope=0.2, alpha=0.7)
    problem = Problem((layer,), ((1.0,),), ((0.5,),), steps=0)
    low, high = enclose(problem).bounds[0]["dout_dnet[1,1]@1"]
    assert Decimal(low) <= Decimal(left) and Decimal(high) >= 1


# --- what it does not do --------------------------------------------------------------------


def test_float32_is_not_its_to_certify() -> None:
    problem = replace(BASE, precision="float32")
    assert FLOAT32 not in CertifiedEngine.capabilities
    assert CertifiedEngine.capabilities == ALL_CAPABILITIES - {FLOAT32}
    with pytest.raises(CannotRun, match="float32") as raised:
        CertifiedEngine().run(problem, {0})
    assert str(raised.value) == FLOAT32_REASON and "\n" not in FLOAT32_REASON
    run = run_problem(CertifiedEngine(), problem, {0}, "certified")
    assert run.outcome == SKIPPED and "float32" in str(run.reason)


def test_an_unclipped_log_of_a_negative_output_has_no_real_value() -> None:
    """bce on an identity output below 0: float engines say NaN; no ball can hold it."""
    layer = Layer(((-0.5,),), "identity")
    problem = Problem((layer,), ((1.0,),), ((0.5,),), loss="bce", steps=0)
    with pytest.raises(CannotRun, match="no real value to enclose: log of"):
        CertifiedEngine().enclose(problem, {0})


# --- the float engines within their tolerance ------------------------------------------------


def agrees_with_a_float64_engine(problem: Problem, *, defined: bool = True) -> None:
    """Within tolerance everywhere; or (``defined`` False) declined where the float engine's
    values are NaN: an unclipped log of a non-positive output has no real value."""
    engine = COMPARED()
    certified = run_problem(CertifiedEngine(), problem, steps_of(problem), "certified")
    floats = run_problem(engine, problem, steps_of(problem), engine.name)
    assert floats.outcome == OK, floats.reason
    if not defined and certified.outcome == SKIPPED:
        assert str(certified.reason).startswith("no real value to enclose: log of")
        assert any(math.isnan(v) for values in floats.trace.values() for v in values.values())
        return
    assert certified.outcome == OK, certified.reason
    assert disagreements([certified, floats]) == []


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_a_float64_engine_lies_within_its_tolerance_of_the_enclosure(feature: str) -> None:
    agrees_with_a_float64_engine(FEATURES[feature])


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
def test_on_the_feature_fixtures_problems_too(spec: Spec) -> None:
    """The conformance suite's problem for each feature (tests/features): the certified
    engine encloses every one but float32's, which it declines with the reason, and one
    whose outputs leave bce's domain (NaN in the float engines), which it declines too."""
    problem = replace(spec.problem, steps=min(spec.problem.steps, 4))
    if problem.precision == "float32":
        run = run_problem(CertifiedEngine(), problem, steps_of(problem), "certified")
        assert run.outcome == SKIPPED and "precision:float32" in str(run.reason)
        return
    agrees_with_a_float64_engine(problem, defined=False)


def test_enclosures_are_checked_against_the_names_the_engine_promises() -> None:
    """An engine without ``quantity:extended`` must not return the extended names, nor
    one with it leave them out."""
    problem = replace(BASE, steps=0)
    enclosed = enclose(problem)
    assert plain_enclosures(enclosed, problem, {0})["bounds"][0] == enclosed.bounds[0]
    with pytest.raises(BadTrace, match="is not a quantity of this problem"):
        plain_enclosures(enclosed, problem, {0}, extended=False)
    fewer = {0: {n: b for n, b in enclosed.bounds[0].items() if not q.is_extended(n)}}
    assert plain_enclosures(replace(enclosed, bounds=fewer), problem, {0}, extended=False)
    with pytest.raises(BadTrace, match="missing"):
        plain_enclosures(replace(enclosed, bounds=fewer), problem, {0})
