"""The problem as the compiled program sees it: a shape (compiled in) and values (arrays).

Everything that fixes array sizes or control flow is in a hashable :class:`NetShape`,
the key of the compiled-code cache; every number of a problem (parameters, data,
rates, momentum, decay, slopes, the objective, the sample order) is an array argument,
so problems that differ only in numbers share one compile.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

from bpcheck.model.problem import Layer, Problem, layer_rate

with contextlib.suppress(ImportError):  # the engine is optional: network.HAVE_JAX says so
    import jax
    import jax.numpy as jnp
    import numpy as np
    import numpy.typing as npt

Array: TypeAlias = "jax.Array"
HostArray: TypeAlias = "npt.NDArray[np.floating[Any]]"
FloatType: TypeAlias = "np.dtype[np.floating[Any]]"
LayerParams: TypeAlias = tuple[Array, Array]
"""``(weights, bias)``: weights ``(size, fan_in)``; bias ``(0,)``, ``(1,)`` or ``(size,)``."""
Params: TypeAlias = tuple[LayerParams, ...]


# --- the shape of a problem: everything that is compiled in ------------------


@dataclass(frozen=True)
class LayerShape:
    """What of a layer is baked into the compiled code (its values are not)."""

    size: int
    fan_in: int
    activation: str
    bias_kind: str
    bias_trainable: bool


@dataclass(frozen=True)
class NetShape:
    """The compile-cache key: two problems with equal shapes share compiled code.

    Only what changes the program is here: array sizes, which functions run,
    the dtype.  Values (rates, momentum, decay, slopes, the objective, the
    sample order) are runtime arguments (:class:`Hyper`), so that problems that
    differ only in them share a compile.  ``momentum`` and ``weight_decay`` say
    whether the velocity and the decay term are in the program at all: plain
    descent keeps its lean update.
    """

    layers: tuple[LayerShape, ...]
    loss: str
    batch: str
    update_order: str
    n_samples: int
    batch_size: int = 0
    precision: str = "float64"
    momentum: bool = False
    nesterov: bool = False
    weight_decay: bool = False

    @property
    def dtype(self) -> FloatType:
        """The float type every array of the program has."""
        return np.dtype(np.float32 if self.precision == "float32" else np.float64)

    @property
    def stride(self) -> int:
        """Samples per update (the last batch of an epoch may have fewer: :attr:`sizes`)."""
        if self.batch == "full":
            return self.n_samples
        return 1 if self.batch == "per_sample" else self.batch_size

    @property
    def sizes(self) -> tuple[int, ...]:
        """How many samples each update of an epoch uses, in order."""
        n, stride = self.n_samples, self.stride
        return tuple(min(stride, n - start) for start in range(0, n, stride))


def shape_of(problem: Problem) -> NetShape:
    """The structural part of ``problem``, hashable so it can key a cache."""
    layers = tuple(
        LayerShape(
            layer.size, layer.fan_in, layer.activation, layer.bias_kind, layer.bias_trainable
        )
        for layer in problem.layers
    )
    momentum = problem.momentum != 0.0
    return NetShape(
        layers,
        problem.loss,
        problem.batch,
        problem.update_order,
        problem.n_samples,
        problem.batch_size if problem.batch == "mini" else 0,
        problem.precision,
        momentum,
        momentum and problem.nesterov,
        problem.weight_decay != 0.0,
    )


# --- a problem's values as arrays ------------------------------------------------


class Hyper(NamedTuple):
    """The values of a problem the program takes at run time (one problem's)."""

    rates: Array
    """``(layers,)``: each layer's learning rate."""
    shapes: Array
    """``(layers,)``: leaky_relu's slope or elu's alpha, per layer (0 for the others)."""
    momentum: Array
    decay: Array
    selector: Array
    """``(outputs,)``: 1 at the objective of loss ``output``, else 0."""
    order: Array
    """``(samples,)``: 0-based sample indices in the order batches take them."""


def device_arrays(problem: Problem, shape: NetShape) -> tuple[Params, Array, Array, Hyper]:
    """Parameters, inputs, targets and run-time values, in the shape's dtype, in one transfer.

    float32 problems are rounded to float32 here, once, from the problem's float64
    values: everything after computes in float32.
    """
    dtype = shape.dtype
    targets = problem.targets if problem.has_targets else ()
    if not targets:  # loss "output": no targets; zeros keep one program for every loss
        targets = tuple((0.0,) * problem.n_outputs for _ in range(problem.n_samples))
    host = (
        host_params(problem, dtype),
        float64_matrix(problem.inputs, problem.n_inputs).astype(dtype),
        float64_matrix(targets, problem.n_outputs).astype(dtype),
        host_hyper(problem, dtype),
    )
    arrays: tuple[Params, Array, Array, Hyper] = jax.device_put(host)
    return arrays


def host_params(problem: Problem, dtype: FloatType) -> tuple[tuple[HostArray, HostArray], ...]:
    """The problem's weights and biases as NumPy arrays of ``dtype``, one pair per layer."""
    params = []
    for layer in problem.layers:
        expected = {"none": 0, "shared": 1, "per_neuron": layer.size}[layer.bias_kind]
        if len(layer.bias) != expected:
            raise ValueError(
                f"a {layer.bias_kind!r} bias needs {expected} value(s), got {len(layer.bias)}"
            )
        bias: HostArray = np.array(layer.bias, dtype=np.float64).reshape(expected).astype(dtype)
        params.append((float64_matrix(layer.weights, layer.fan_in).astype(dtype), bias))
    return tuple(params)


def host_hyper(problem: Problem, dtype: FloatType) -> Hyper:
    """The run-time values of :class:`Hyper` (rounded to ``dtype`` from the problem's floats)."""

    def shape_value(layer: Layer) -> float:
        return {"leaky_relu": layer.slope, "elu": layer.alpha}.get(layer.activation, 0.0)

    rates = [layer_rate(problem, index) or 0.0 for index in range(len(problem.layers))]
    selector = np.zeros(problem.n_outputs)
    if not problem.has_targets:
        selector[problem.objective - 1] = 1.0
    return Hyper(
        rates=jnp.asarray(np.array(rates, dtype=np.float64).astype(dtype)),
        shapes=jnp.asarray(
            np.array([shape_value(layer) for layer in problem.layers]).astype(dtype)
        ),
        momentum=jnp.asarray(np.array(problem.momentum).astype(dtype)),
        decay=jnp.asarray(np.array(problem.weight_decay).astype(dtype)),
        selector=jnp.asarray(selector.astype(dtype)),
        order=jnp.asarray(
            np.array(problem.sample_order or range(problem.n_samples), dtype=np.int32)
        ),
    )


def float64_matrix(rows: tuple[tuple[float, ...], ...], n_columns: int) -> HostArray:
    """Rows of Python floats as a float64 matrix.

    ``struct.pack`` unboxes the numbers in C, about four times faster than
    ``np.array`` on nested tuples; for a 784-128-10 network that conversion
    otherwise costs more than the training step itself.
    """
    if any(len(row) != n_columns for row in rows):
        raise ValueError(f"every row needs {n_columns} values")
    packed = b"".join(struct.pack(f"{n_columns}d", *row) for row in rows)
    return np.frombuffer(packed, dtype=np.float64).reshape(len(rows), n_columns)
