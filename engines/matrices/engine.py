"""The matrices engine itself: the trace of a step, named, and training over the batches."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np

from bpcheck.engines.matrices.activations import Array
from bpcheck.engines.matrices.network import (
    OUTPUT,
    DenseLayer,
    StepRecord,
    recorded_step,
    train_step,
)
from bpcheck.engines.matrices.update import Optimizer
from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Availability
from bpcheck.model.problem import Layer, Problem, batch_of_step, epoch_batches, is_plain_descent
from bpcheck.model.quantities import Trace

# --------------------------------------------------------------------------
# Names: built once per problem (and once per sample), reused at every record.
# --------------------------------------------------------------------------

_KINDS = q.NEURON_KINDS + q.EXTRA_NEURON_KINDS


@dataclass(frozen=True)
class _SampleNames:
    """Canonical names of one sample, each list in the ravel order of its array."""

    inputs: list[str]
    input_grads: list[str]
    terms: list[str]
    errors: list[str]  # empty when the loss has no targets
    loss: str
    neurons: list[dict[str, list[str]]]  # per layer: kind -> names over j
    term_dout: list[list[str]]  # per layer: names over (k, j)
    term_dnet: list[list[str]]
    net_terms: list[list[str]]  # per layer: names over (j, i)
    weight_grads: list[list[str]]  # per layer: dE_dw[L,j,i]@s over (j, i)
    bias_grads: list[list[str]]


def _sample_names(problem: Problem, names: _Names, sample: int) -> _SampleNames:
    outputs = range(1, problem.n_outputs + 1)
    inputs = range(1, problem.n_inputs + 1)
    neurons: list[dict[str, list[str]]] = []
    term_dout: list[list[str]] = []
    term_dnet: list[list[str]] = []
    net_terms: list[list[str]] = []
    for number, layer in enumerate(problem.layers, start=1):
        js = range(1, layer.size + 1)
        neurons.append({kind: [q.neuron(kind, number, j, sample) for j in js] for kind in _KINDS})
        term_dout.append([q.term_partial(k, "out", number, j, sample) for k in outputs for j in js])
        term_dnet.append([q.term_partial(k, "net", number, j, sample) for k in outputs for j in js])
        net_terms.append([q.net_term(number, j, i, sample) for j, i in _pairs(layer)])
    return _SampleNames(
        inputs=[q.neuron("out", 0, i, sample) for i in inputs],
        input_grads=[q.neuron("dE_dout", 0, i, sample) for i in inputs],
        terms=[q.term(k, sample) for k in outputs],
        errors=[q.output_error(k, sample) for k in outputs] if problem.has_targets else [],
        loss=q.sample_loss(sample),
        neurons=neurons,
        term_dout=term_dout,
        term_dnet=term_dnet,
        net_terms=net_terms,
        weight_grads=[[q.at_sample(n, sample) for n in layer] for layer in names.weight_grads],
        bias_grads=[[q.at_sample(n, sample) for n in layer] for layer in names.bias_grads],
    )


def _pairs(layer: Layer) -> list[tuple[int, int]]:
    """1-based ``(j, i)`` of every weight, in the C order of the weight matrix."""
    return [(j, i) for j in range(1, layer.size + 1) for i in range(1, layer.fan_in + 1)]


class _Names:
    """All names of a problem; per-sample ones are made the first time a sample is recorded."""

    def __init__(self, problem: Problem) -> None:
        self._problem = problem
        self._samples: dict[int, _SampleNames] = {}
        self.weights: list[list[str]] = []
        self.weight_grads: list[list[str]] = []
        self.weight_changes: list[list[str]] = []
        self.biases: list[list[str]] = []
        self.bias_grads: list[list[str]] = []
        self.bias_changes: list[list[str]] = []  # empty for a frozen bias: it never changes
        for number, layer in enumerate(problem.layers, start=1):
            pairs = _pairs(layer)
            self.weights.append([q.weight(number, j, i) for j, i in pairs])
            self.weight_grads.append([q.weight_grad(number, j, i) for j, i in pairs])
            self.weight_changes.append([q.weight_change(number, j, i) for j, i in pairs])
            bias_js = _bias_indices(layer)
            self.biases.append([q.bias(number, j) for j in bias_js])
            self.bias_grads.append([q.bias_grad(number, j) for j in bias_js])
            trained = bias_js if layer.bias_trainable else []
            self.bias_changes.append([q.bias_change(number, j) for j in trained])

    def sample(self, sample: int) -> _SampleNames:
        if sample not in self._samples:
            self._samples[sample] = _sample_names(self._problem, self, sample)
        return self._samples[sample]


def _bias_indices(layer: Layer) -> list[int | None]:
    """The ``j`` of each bias name: none, one shared (``None``) or one per neuron."""
    if layer.bias_kind == "shared":
        return [None]
    if layer.bias_kind == "per_neuron":
        return list(range(1, layer.size + 1))
    return []


def _put(entries: dict[str, float], names: Iterable[str], values: Array) -> None:
    """Store ``values`` (any shape, raveled in C order) under ``names`` as Python floats.

    ``tolist`` turns float32 values into the Python floats equal to them, exactly.
    """
    entries.update(zip(names, values.ravel().tolist(), strict=True))


def _parameter_entries(layers: list[DenseLayer], names: _Names) -> dict[str, float]:
    """``w`` and ``b`` as they are before this step's update."""
    entries: dict[str, float] = {}
    for index, layer in enumerate(layers):
        _put(entries, names.weights[index], layer.weights)
        _put(entries, names.biases[index], layer.bias)
    return entries


def _step_entries(entries: dict[str, float], names: _Names, record: StepRecord) -> None:
    """Add the loss, the gradients and (if the step updated) the changes to ``entries``."""
    entries[q.LOSS] = float(record.loss)
    for index, layer in enumerate(record.layers):
        _put(entries, names.weight_grads[index], layer.grad_w)
        _put(entries, names.bias_grads[index], layer.grad_b)
        if layer.change_w is not None:
            _put(entries, names.weight_changes[index], layer.change_w)
        if layer.change_b is not None:
            _put(entries, names.bias_changes[index], layer.change_b)


def _sample_entries(
    entries: dict[str, float],
    names: _Names,
    batch: tuple[int, ...],
    x: Array,
    target: Array,
    record: StepRecord,
) -> None:
    """Add every per-sample quantity of the step: row ``r`` of each array is ``batch[r]``."""
    sample_losses = record.terms.sum(axis=1)
    for row, sample_index in enumerate(batch):
        sample = names.sample(sample_index + 1)
        _put(entries, sample.inputs, x[row])
        _put(entries, sample.input_grads, record.input_grad[row])
        _put(entries, sample.terms, record.terms[row])
        if sample.errors:
            _put(entries, sample.errors, target[row] - record.layers[-1].out[row])
        entries[sample.loss] = float(sample_losses[row])
        for index, layer in enumerate(record.layers):
            kinds = sample.neurons[index]
            _put(entries, kinds["net"], layer.net[row])
            _put(entries, kinds["out"], layer.out[row])
            _put(entries, kinds["dout_dnet"], layer.dout_dnet[row])
            _put(entries, kinds["dE_dout"], layer.dE_dout[row])
            _put(entries, kinds["delta"], layer.delta[row])
            _put(entries, kinds["weighted_sum"], layer.weighted_sum[row])
            _put(entries, kinds["error_term"], -layer.delta[row])
            _put(entries, sample.term_dout[index], layer.term_dout[row])
            _put(entries, sample.term_dnet[index], layer.term_dnet[row])
            _put(entries, sample.net_terms[index], layer.net_terms[row])
            _put(entries, sample.weight_grads[index], layer.sample_grad_w[row])
            _put(entries, sample.bias_grads[index], layer.sample_grad_b[row])


# --------------------------------------------------------------------------
# The engine.
# --------------------------------------------------------------------------


def _dtype(problem: Problem) -> type[np.floating]:
    return np.float32 if problem.precision == "float32" else np.float64


def _loss(problem: Problem) -> str:
    """The loss as network.py reads it: ``output`` carries its objective (``"output 2"``)."""
    return f"{OUTPUT}{problem.objective}" if problem.loss == "output" else problem.loss


class _Batches:
    """The input and target matrices of each update of an epoch, sliced once, not every step.

    Row ``r`` of the matrices of step ``k`` is sample ``batch_of_step(problem, k)[r]``:
    the batches are :func:`epoch_batches`, and step ``k`` takes the ``k``-th modulo
    their number, which is how :func:`batch_of_step` is defined for every batch mode.
    """

    def __init__(self, problem: Problem) -> None:
        dtype = _dtype(problem)
        inputs = np.array(problem.inputs, dtype=dtype).reshape(problem.n_samples, -1)
        targets = np.array(problem.targets, dtype=dtype).reshape(problem.n_samples, -1)
        self._epoch = [(inputs[list(rows)], targets[list(rows)]) for rows in epoch_batches(problem)]

    def at(self, step: int) -> tuple[Array, Array]:
        """Inputs and targets of the samples :func:`batch_of_step` picks for ``step``."""
        return self._epoch[step % len(self._epoch)]


class MatricesEngine:
    """Backpropagation with NumPy weight matrices and a hand-written vectorised delta rule."""

    name = "matrices"
    version = f"1 (numpy {np.__version__})"
    capabilities = ALL_CAPABILITIES

    def available(self) -> Availability:
        """NumPy is imported at module level, so if this module loads the engine can run."""
        return Availability(True)

    def run(self, problem: Problem, record: Collection[int]) -> Trace:
        """Make ``problem.steps`` updates; return the full trace of each step in ``record``.

        Step ``k`` is computed with the parameters after ``k`` updates.  The final
        step ``problem.steps`` is only evaluated (its gradients too), never
        applied.  Floating-point warnings are silenced: an overflow to ``inf`` or
        a ``nan`` is the honest result of a diverging run and lands in the trace.

        Unrecorded steps of plain descent take the lean :func:`train_step` at one
        rate; any other update rule gives it the :class:`Optimizer`, which recorded
        steps always use (without momentum or decay it is the same arithmetic).
        """
        wanted = {step for step in record if 0 <= step <= problem.steps}
        layers = [DenseLayer.of(layer, _dtype(problem)) for layer in problem.layers]
        batches = _Batches(problem)
        optimizer = Optimizer.of(problem, layers)
        lean = None if is_plain_descent(problem) else optimizer
        names: _Names | None = None  # a large network's names cost more than a step
        loss, rate = _loss(problem), float(problem.learning_rate)
        sequential = problem.update_order == "sequential"
        trace: Trace = {}
        with np.errstate(all="ignore"):
            for step in range(problem.steps + 1):
                x, target = batches.at(step)
                if step in wanted:
                    names = names or _Names(problem)
                    entries = _parameter_entries(layers, names)
                    update = step < problem.steps
                    done = recorded_step(layers, x, target, loss, optimizer, sequential, update)
                    _step_entries(entries, names, done)
                    batch = batch_of_step(problem, step)
                    _sample_entries(entries, names, batch, x, target, done)
                    trace[step] = entries
                elif step < problem.steps:
                    train_step(layers, x, target, loss, rate, sequential, lean)
        return trace
