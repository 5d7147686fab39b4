"""``bpcheck.gradcheck.check``: gradient checks for any function of NumPy, JAX or torch parameters.

A correct gradient must pass and a planted error of 1e-7 relative in one component
must fail, named, with every method; kinks are reported as kinks; bad calls are one
clear ValueError.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from bpcheck.gradcheck import (
    FunctionCheck,
    GradientCheckError,
    assert_gradients_close,
    check,
)

needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is not installed"
)
needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is not installed"
)

RNG = np.random.default_rng(19)
W = RNG.standard_normal((3, 4))
X = RNG.standard_normal(4)
PARAMS = {"W": W, "b": np.array([0.1, -0.2, 0.3])}


def loss(p: dict[str, Any]) -> float:
    return float(np.sum(np.tanh(p["W"] @ X + p["b"]) ** 2))


def gradient(p: dict[str, Any]) -> dict[str, Any]:
    t = np.tanh(p["W"] @ X + p["b"])
    d = 2.0 * t * (1.0 - t * t)
    return {"W": np.outer(d, X), "b": d}


def planted(p: dict[str, Any], factor: float = 1.0 + 1e-7) -> dict[str, Any]:
    g = gradient(p)
    g["W"][1, 2] *= factor
    return g


@pytest.mark.parametrize("method", ["richardson", "central", "auto"])
def test_a_correct_gradient_passes_and_a_planted_error_fails_by_name(method: str) -> None:
    good = check(loss, PARAMS, grad=gradient, method=method)
    assert good.passed and bool(good), good.table()
    assert good.names[:2] == ["W[0,0]", "W[0,1]"] and good.names[-1] == "b[2]"
    bad = check(loss, PARAMS, grad=planted, method=method)
    assert not bad.passed
    assert [row.parameter for row in bad.failures] == ["W[1,2]"]
    assert "W[1,2]" in bad.table() and "fail" in bad.table()


def test_the_directional_method_catches_a_planted_error() -> None:
    assert check(loss, PARAMS, grad=gradient, method="directional").passed
    bad = check(loss, PARAMS, grad=lambda p: planted(p, 1.0 + 1e-5), method="directional")
    assert not bad.passed
    assert all(row.parameter.startswith("direction[") for row in bad.rows)


def test_the_result_names_its_worst_parameters_errors_and_tolerances() -> None:
    result = check(loss, PARAMS, grad=planted)
    assert isinstance(result, FunctionCheck)
    assert result.worst(1)[0].parameter == "W[1,2]"
    assert set(result.errors) == set(result.tolerances) == set(result.names)
    assert result.errors["W[1,2]"] > result.tolerances["W[1,2]"]
    assert all(result.errors[n] <= result.tolerances[n] for n in result.names if n != "W[1,2]")


def test_a_fixed_step_is_eps_as_in_torch_and_atol_rtol_widen_the_tolerance() -> None:
    fixed = check(loss, PARAMS, grad=gradient, method="central", eps=1e-6)
    assert fixed.passed and fixed.step == 1e-6
    bad = check(loss, PARAMS, grad=planted, method="central", eps=1e-6)
    assert not bad.passed  # the truncation bound at 1e-6 is far below 1e-7 relative
    loose = check(loss, PARAMS, grad=planted, rtol=1e-6)
    assert loose.passed


def test_a_kink_is_reported_with_its_one_sided_derivatives() -> None:
    result = check(lambda v: float(np.sum(np.abs(v))), np.array([0.0, 1.5]), grad=np.sign)
    assert [row.parameter for row in result.kinks] == ["[0]"]
    assert result.kinks[0].one_sided == pytest.approx((-1.0, 1.0))
    assert result.passed  # a kink is neither passed nor failed


def test_a_value_that_cancels_is_not_taken_for_an_exact_one() -> None:
    """(1e8 + x²) - 1e8 rounds at 1e8's precision: the noise is measured, not assumed."""

    def cancels(x: np.ndarray) -> float:
        return float(np.sum((1e8 + x * x) - 1e8))

    x = np.array([0.3, -0.7])
    assert check(cancels, x, grad=lambda v: 2.0 * v).passed
    assert not check(cancels, x, grad=lambda v: 2.0 * v * 1.01).passed


def test_nested_lists_tuples_and_floats_are_parameters_with_names() -> None:
    params = {"layers": [(np.array([1.0, 2.0]), 0.5)]}

    def f(p: Any) -> float:
        ((w, b),) = p["layers"]
        assert isinstance(b, float) and isinstance(w, np.ndarray)
        return float(np.sum(w**3) * b)

    def g(p: Any) -> Any:
        ((w, b),) = p["layers"]
        return {"layers": [(3.0 * w**2 * b, float(np.sum(w**3)))]}

    result = check(f, params, grad=g)
    assert result.names == ["layers[0][0][0]", "layers[0][0][1]", "layers[0][1]"]
    assert result.passed, result.table()


def test_assert_gradients_close_fails_with_the_table() -> None:
    assert assert_gradients_close(loss, PARAMS, grad=gradient).passed
    with pytest.raises(GradientCheckError) as caught:
        assert_gradients_close(loss, PARAMS, grad=planted)
    assert isinstance(caught.value, AssertionError)
    message = str(caught.value)
    assert message.splitlines()[0].startswith("gradient check (richardson): 1 of 15 parameters")
    assert "W[1,2]" in message and "finite difference" in message
    with pytest.raises(GradientCheckError):
        check(loss, PARAMS, grad=planted, raise_exception=True)


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda: check(loss, PARAMS), "grad= is needed"),
        (lambda: check(lambda p: np.ones(2), np.ones(2), grad=np.ones(2)), "expected a scalar"),
        (lambda: check(loss, PARAMS, grad={"W": W, "b": np.ones(2)}), "expected (3,)"),
        (lambda: check(loss, PARAMS, grad=[W]), "has 1 arrays; expected 2"),
        (lambda: check(loss, {"W": "0.5"}, grad=gradient), "expected arrays, tensors, floats"),
        (lambda: check(loss, PARAMS, grad=gradient, method="forward"), "unknown method"),
        (lambda: check(loss, PARAMS, grad=gradient, eps=-1.0), "eps must be a positive step"),
    ],
)
def test_a_bad_call_is_one_clear_value_error(call: Any, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    assert why in str(caught.value), str(caught.value)


@needs_torch
def test_torch_tensors_have_their_gradient_taken_by_autograd() -> None:
    import torch

    x = torch.tensor(X)

    def f(p: list[Any]) -> Any:
        return (torch.tanh(p[0] @ x + p[1]) ** 2).sum()

    params = [torch.tensor(W), torch.tensor([0.1, -0.2, 0.3])]
    assert check(f, params).passed

    def wrong(p: list[Any]) -> list[Any]:
        g = planted({"W": p[0].numpy(), "b": p[1].numpy()})
        return [g["W"], g["b"]]

    bad = check(f, params, grad=wrong)
    assert [row.parameter for row in bad.failures] == ["[0][1,2]"]


@needs_jax
def test_jax_arrays_have_their_gradient_taken_by_jax_grad() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def f(p: dict[str, Any]) -> Any:
        return jnp.sum(jnp.tanh(p["W"] @ X + p["b"]) ** 2)

    params = {"W": jnp.asarray(W), "b": jnp.asarray([0.1, -0.2, 0.3])}
    assert check(f, params).passed
    assert not check(
        f, params, grad=lambda p: planted({k: np.asarray(v) for k, v in p.items()})
    ).passed
