"""The autodiff engine itself: arrays named as quantities, and the engine that runs them."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence

from bpcheck.engines.autodiff.compilation import use_compilation_cache
from bpcheck.engines.autodiff.network import (
    ENGINE_VERSION,
    HAVE_JAX,
    StepTrace,
    compiled_for,
    device_arrays,
    enable_float64,
    shape_of,
)
from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Availability
from bpcheck.model.problem import Problem, batch_of_step

with contextlib.suppress(ImportError):  # HAVE_JAX says so; the engine is then unavailable
    import jax
    import jax.numpy as jnp


# --- naming: arrays to canonical quantity names --------------------------------


def named_values(problem: Problem, step: int, trace: StepTrace) -> dict[str, float]:
    """The trace of ``step`` under the names of :func:`bpcheck.model.quantities.names_at_step`.

    ``trace`` holds NumPy arrays; ``tolist`` turns them into Python floats.
    """
    values: dict[str, float] = {q.LOSS: float(trace.loss)}
    for number, layer in enumerate(problem.layers, start=1):
        (weights, bias), (grad_w, grad_b) = trace.params[number - 1], trace.grads[number - 1]
        rows = zip(weights.tolist(), grad_w.tolist(), strict=True)
        for j, (row, grad_row) in enumerate(rows, start=1):
            for i, (w, g) in enumerate(zip(row, grad_row, strict=True), start=1):
                values[q.weight(number, j, i)] = w
                values[q.weight_grad(number, j, i)] = g
        if layer.bias_kind == "shared":
            values[q.bias(number, None)] = float(bias[0])
            values[q.bias_grad(number, None)] = float(grad_b[0])
        elif layer.bias_kind == "per_neuron":
            pairs = zip(bias.tolist(), grad_b.tolist(), strict=True)
            for j, (b, g) in enumerate(pairs, start=1):
                values[q.bias(number, j)] = b
                values[q.bias_grad(number, j)] = g
    back = trace.backward
    for position, index in enumerate(batch_of_step(problem, step)):
        sample = index + 1
        for i, x in enumerate(trace.inputs[position].tolist(), start=1):
            values[q.neuron("out", 0, i, sample)] = x
        for number in range(1, len(problem.layers) + 1):
            per_neuron = {
                "net": trace.nets,
                "out": trace.outs,
                "dout_dnet": trace.slopes,
                "dE_dout": back.d_out,
                "delta": back.delta,
            }
            for kind, arrays in per_neuron.items():
                for j, value in enumerate(arrays[number - 1][position].tolist(), start=1):
                    values[q.neuron(kind, number, j, sample)] = value
            for wrt, arrays in (("out", back.term_d_out), ("net", back.term_d_net)):
                for k, row in enumerate(arrays[number - 1][position].tolist(), start=1):
                    for j, value in enumerate(row, start=1):
                        values[q.term_partial(k, wrt, number, j, sample)] = value
        for k, value in enumerate(trace.terms[position].tolist(), start=1):
            values[q.term(k, sample)] = value
    return values


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

        The batch is padded (with copies of its last problem) to a power of two, so
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
        arrays = [device_arrays(problem) for problem in padded]
        params, inputs, targets = jax.tree.map(lambda *leaves: jnp.stack(leaves), *arrays)
        rates = jnp.array([float(p.learning_rate) for p in padded])
        traces: list[q.Trace] = [{} for _ in problems]
        done = 0
        for step in sorted({s for s in record if 0 <= s <= steps}):
            if step > done:
                params = compiled.train(params, inputs, targets, rates, done, step)
                done = step
            step_rates = rates if step < steps else jnp.zeros_like(rates)
            found = jax.device_get(compiled.trace(params, inputs, targets, step_rates, step))
            for index, problem in enumerate(problems):
                one = jax.tree.map(lambda leaf, i=index: leaf[i], found)
                traces[index][step] = named_values(problem, step, one)
        if done < steps:
            params = compiled.train(params, inputs, targets, rates, done, steps)
        for leaf in jax.tree.leaves(params):
            leaf.block_until_ready()  # so errors surface here and timings are honest
        return traces


def bucket(count: int) -> int:
    """The batch size compiled for ``count`` problems: the next power of two."""
    return 1 << (count - 1).bit_length()
