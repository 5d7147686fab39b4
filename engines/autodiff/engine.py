"""The autodiff engine itself: arrays named as quantities, and the engine that runs them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Sequence

from bpcheck.engines.autodiff.arrays import LayerParams, device_arrays, shape_of
from bpcheck.engines.autodiff.compilation import use_compilation_cache
from bpcheck.engines.autodiff.network import (
    ENGINE_VERSION,
    HAVE_JAX,
    StepTrace,
    compiled_for,
    enable_float64,
)
from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Availability
from bpcheck.model.problem import Layer, Problem, batch_of_step

with contextlib.suppress(ImportError):  # HAVE_JAX says so; the engine is then unavailable
    import jax
    import jax.numpy as jnp
    import numpy as np


# --- naming: arrays to canonical quantity names --------------------------------


def named_values(problem: Problem, step: int, trace: StepTrace) -> dict[str, float]:
    """The trace of ``step`` under the names of :func:`bpcheck.model.quantities.names_at_step`.

    ``trace`` holds NumPy arrays; ``tolist`` turns them into Python floats (a
    float32 value exactly).
    """
    values: dict[str, float] = {q.LOSS: float(trace.loss)}
    updating = q.updates_at(problem, step)
    for number, layer in enumerate(problem.layers, start=1):
        index = number - 1
        name_parameters(values, number, layer, trace.params[index], trace.grads[index])
        if updating:
            name_changes(values, number, layer, trace.changes[index])
    for position, index in enumerate(batch_of_step(problem, step)):
        name_sample(values, problem, trace, position, index + 1)
    return values


def layer_names(number: int, layer: Layer) -> tuple[list[list[tuple[int, int]]], list[int | None]]:
    """The 1-based (j, i) of each weight, row by row, and the ``j`` (or None) of each bias."""
    weights = [[(j, i) for i in range(1, layer.fan_in + 1)] for j in range(1, layer.size + 1)]
    biases: list[int | None] = []
    if layer.bias_kind == "shared":
        biases = [None]
    elif layer.bias_kind == "per_neuron":
        biases = list(range(1, layer.size + 1))
    return weights, biases


def name_pairs(
    values: dict[str, float],
    number: int,
    layer: Layer,
    arrays: LayerParams,
    names: tuple[Callable[..., str], Callable[..., str]],
    trainable_only: bool = False,
) -> None:
    """Name a layer's weight-shaped and bias-shaped arrays with ``names`` (weight, bias)."""
    weights, biases = layer_names(number, layer)
    for row, found in zip(weights, arrays[0].tolist(), strict=True):
        for (j, i), value in zip(row, found, strict=True):
            values[names[0](number, j, i)] = value
    if trainable_only and not layer.bias_trainable:
        return
    for j_or_none, value in zip(biases, arrays[1].tolist(), strict=True):
        values[names[1](number, j_or_none)] = value


def name_parameters(
    values: dict[str, float],
    number: int,
    layer: Layer,
    params: LayerParams,
    grads: LayerParams,
) -> None:
    """``w``, ``b``, ``dE_dw`` and ``dE_db`` of one layer."""
    name_pairs(values, number, layer, params, (q.weight, q.bias))
    name_pairs(values, number, layer, grads, (q.weight_grad, q.bias_grad))


def name_changes(values: dict[str, float], number: int, layer: Layer, changes: LayerParams) -> None:
    """``dw`` and ``db`` of one layer: what this step's update applies (trainable biases)."""
    name_pairs(values, number, layer, changes, (q.weight_change, q.bias_change), True)


def name_sample(
    values: dict[str, float], problem: Problem, trace: StepTrace, position: int, sample: int
) -> None:
    """Every per-sample name of 1-based ``sample``, at ``position`` in the step's batch."""
    back = trace.backward
    for kind, row in (("out", trace.inputs), ("dE_dout", back.d_input)):
        for i, x in enumerate(row[position].tolist(), start=1):
            values[q.neuron(kind, 0, i, sample)] = x
    for number, layer in enumerate(problem.layers, start=1):
        index = number - 1
        per_neuron = {
            "net": trace.nets,
            "out": trace.outs,
            "dout_dnet": trace.slopes,
            "dE_dout": back.d_out,
            "delta": back.delta,
            "weighted_sum": trace.weighted,
        }
        for kind, arrays in per_neuron.items():
            for j, value in enumerate(arrays[index][position].tolist(), start=1):
                values[q.neuron(kind, number, j, sample)] = value
        for j, value in enumerate(back.delta[index][position].tolist(), start=1):
            values[q.neuron("error_term", number, j, sample)] = -value
        for wrt, arrays in (("out", back.term_d_out), ("net", back.term_d_net)):
            for k, row in enumerate(arrays[index][position].tolist(), start=1):
                for j, value in enumerate(row, start=1):
                    values[q.term_partial(k, wrt, number, j, sample)] = value
        for j, row in enumerate(trace.net_terms[index][position].tolist(), start=1):
            for i, value in enumerate(row, start=1):
                values[q.net_term(number, j, i, sample)] = value
        grad_w, grad_b = trace.sample_grads[index]
        names = (
            lambda *at: q.at_sample(q.weight_grad(*at), sample),
            lambda *at: q.at_sample(q.bias_grad(*at), sample),
        )
        name_pairs(values, number, layer, (grad_w[position], grad_b[position]), names)
    for k, value in enumerate(trace.terms[position].tolist(), start=1):
        values[q.term(k, sample)] = value
    if problem.has_targets:
        # t - o of the very o named above, in the problem's float type (NumPy, not XLA,
        # which may recompute o in another fusion and so differ in the last bit).
        errors = np.subtract(trace.targets[position], trace.outs[-1][position])
        for k, value in enumerate(errors.tolist(), start=1):
            values[q.output_error(k, sample)] = value
    values[q.sample_loss(sample)] = trace.sample_losses[position].item()


# --- the engine -----------------------------------------------------------------


class AutodiffEngine:
    """Forward pass and loss written once; JAX supplies every derivative."""

    name = "autodiff"
    version = f"{ENGINE_VERSION} (jax {jax.__version__})" if HAVE_JAX else ENGINE_VERSION
    capabilities = ALL_CAPABILITIES

    def available(self) -> Availability:
        if not HAVE_JAX:
            return Availability(False, "jax is not installed (pip install 'bpcheck[jax]')")
        return Availability(True)

    def run(self, problem: Problem, record: Collection[int]) -> q.Trace:
        """Train for ``problem.steps`` updates, tracing each recorded step on the way.

        Training runs in compiled segments between the recorded steps; the trace
        of a step is taken before its update.  At ``problem.steps`` no update
        follows, so the trace there is taken with a learning rate of 0.  One
        problem is a batch of one (:meth:`run_many`).
        """
        return self.run_many([problem], record)[0]

    def run_many(self, problems: Sequence[Problem], record: Collection[int]) -> list[q.Trace]:
        """:meth:`run` of problems of one shape and one step count, all in each call.

        The batch is padded (with copies of its last problem) to a power of eight, so
        that a few batch sizes are compiled, not one per count; each problem's trace
        is the same, to the last bit, as alone (see :func:`compiled_for`; shown by
        ``tests/engines/test_autodiff_batches.py``).
        """
        if not problems:
            return []
        shape, steps = shape_of(problems[0]), problems[0].steps
        if any(shape_of(p) != shape or p.steps != steps for p in problems):
            raise ValueError("run_many: expected problems of one shape and one step count")
        enable_float64()
        use_compilation_cache()
        compiled = compiled_for(shape)
        padded = [*problems, *[problems[-1]] * (bucket(len(problems)) - len(problems))]
        arrays = [device_arrays(problem, shape) for problem in padded]
        params, inputs, targets, hyper = jax.tree.map(lambda *leaves: jnp.stack(leaves), *arrays)
        velocity = jax.tree.map(jnp.zeros_like, params)
        traces: list[q.Trace] = [{} for _ in problems]
        done = 0
        for step in sorted({s for s in record if 0 <= s <= steps}):
            if step > done:
                params, velocity = compiled.train(
                    params, velocity, inputs, targets, hyper, done, step
                )
                done = step
            indices = np.array([batch_of_step(p, step) for p in padded], dtype=np.int32)
            found = jax.device_get(
                compiled.trace(params, velocity, inputs, targets, hyper, indices, step < steps)
            )
            for index, problem in enumerate(problems):
                one = jax.tree.map(lambda leaf, i=index: leaf[i], found)
                traces[index][step] = named_values(problem, step, one)
        if done < steps:
            params, velocity = compiled.train(params, velocity, inputs, targets, hyper, done, steps)
        for leaf in jax.tree.leaves(params):
            leaf.block_until_ready()  # so errors surface here and timings are honest
        return traces


def bucket(count: int) -> int:
    """The batch size compiled for ``count`` problems: the next power of eight.

    Each batch size is compiled anew for every shape (0.3-0.8 s each): with powers of two,
    a corpus's runs of one shape came in groups of 1 to 64 and compiled up to seven sizes;
    padding a few tiny problems more costs microseconds."""
    size = 1
    while size < count:
        size *= 8
    return size
