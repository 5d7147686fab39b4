"""The matrices engine itself: the trace of a step, named, and training over the batches."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bpcheck.engines.matrices.network import DenseLayer, LayerRecord, recorded_step, train_step
from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Availability
from bpcheck.model.problem import Layer, Problem, batch_of_step
from bpcheck.model.quantities import Trace

Array = npt.NDArray[np.float64]

# --------------------------------------------------------------------------
# Activations: out = f(net) and the slope d out / d net.
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Names: built once per problem (and once per sample), reused at every record.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _SampleNames:
    """Canonical names of one sample, each list in the ravel order of its array."""

    inputs: list[str]
    terms: list[str]
    neurons: list[dict[str, list[str]]]  # per layer: kind -> names over j
    term_dout: list[list[str]]  # per layer: names over (k, j)
    term_dnet: list[list[str]]


def _sample_names(problem: Problem, sample: int) -> _SampleNames:
    outputs = range(1, problem.n_outputs + 1)
    neurons: list[dict[str, list[str]]] = []
    term_dout: list[list[str]] = []
    term_dnet: list[list[str]] = []
    for number, layer in enumerate(problem.layers, start=1):
        js = range(1, layer.size + 1)
        neurons.append(
            {kind: [q.neuron(kind, number, j, sample) for j in js] for kind in q.NEURON_KINDS}
        )
        term_dout.append([q.term_partial(k, "out", number, j, sample) for k in outputs for j in js])
        term_dnet.append([q.term_partial(k, "net", number, j, sample) for k in outputs for j in js])
    return _SampleNames(
        inputs=[q.neuron("out", 0, i, sample) for i in range(1, problem.n_inputs + 1)],
        terms=[q.term(k, sample) for k in outputs],
        neurons=neurons,
        term_dout=term_dout,
        term_dnet=term_dnet,
    )


class _Names:
    """All names of a problem; per-sample ones are made the first time a sample is recorded."""

    def __init__(self, problem: Problem) -> None:
        self._problem = problem
        self._samples: dict[int, _SampleNames] = {}
        self.weights: list[list[str]] = []
        self.weight_grads: list[list[str]] = []
        self.biases: list[list[str]] = []
        self.bias_grads: list[list[str]] = []
        for number, layer in enumerate(problem.layers, start=1):
            pairs = [(j, i) for j in range(1, layer.size + 1) for i in range(1, layer.fan_in + 1)]
            self.weights.append([q.weight(number, j, i) for j, i in pairs])
            self.weight_grads.append([q.weight_grad(number, j, i) for j, i in pairs])
            bias_js = _bias_indices(layer)
            self.biases.append([q.bias(number, j) for j in bias_js])
            self.bias_grads.append([q.bias_grad(number, j) for j in bias_js])

    def sample(self, sample: int) -> _SampleNames:
        if sample not in self._samples:
            self._samples[sample] = _sample_names(self._problem, sample)
        return self._samples[sample]


def _bias_indices(layer: Layer) -> list[int | None]:
    """The ``j`` of each bias name: none, one shared (``None``) or one per neuron."""
    if layer.bias_kind == "shared":
        return [None]
    if layer.bias_kind == "per_neuron":
        return list(range(1, layer.size + 1))
    return []


def _put(entries: dict[str, float], names: Iterable[str], values: Array) -> None:
    """Store ``values`` (any shape, raveled in C order) under ``names`` as Python floats."""
    entries.update(zip(names, values.ravel().tolist(), strict=True))


def _parameter_entries(layers: list[DenseLayer], names: _Names) -> dict[str, float]:
    """``w`` and ``b`` as they are before this step's update."""
    entries: dict[str, float] = {}
    for index, layer in enumerate(layers):
        _put(entries, names.weights[index], layer.weights)
        _put(entries, names.biases[index], layer.bias)
    return entries


def _step_entries(
    entries: dict[str, float],
    names: _Names,
    batch: tuple[int, ...],
    x: Array,
    terms: Array,
    records: list[LayerRecord],
) -> None:
    """Add the loss, gradients and every per-sample quantity of the step to ``entries``."""
    entries[q.LOSS] = float(terms.sum())
    for index, record in enumerate(records):
        _put(entries, names.weight_grads[index], record.grad_w)
        _put(entries, names.bias_grads[index], record.grad_b)
    for row, sample_index in enumerate(batch):
        sample = names.sample(sample_index + 1)
        _put(entries, sample.inputs, x[row])
        _put(entries, sample.terms, terms[row])
        for index, record in enumerate(records):
            kinds = sample.neurons[index]
            _put(entries, kinds["net"], record.net[row])
            _put(entries, kinds["out"], record.out[row])
            _put(entries, kinds["dout_dnet"], record.dout_dnet[row])
            _put(entries, kinds["dE_dout"], record.dE_dout[row])
            _put(entries, kinds["delta"], record.delta[row])
            _put(entries, sample.term_dout[index], record.term_dout[row])
            _put(entries, sample.term_dnet[index], record.term_dnet[row])


# --------------------------------------------------------------------------
# The engine.
# --------------------------------------------------------------------------


class _Batches:
    """The input and target matrices of each step, sliced once rather than every step."""

    def __init__(self, problem: Problem) -> None:
        self._problem = problem
        inputs = np.array(problem.inputs, dtype=np.float64).reshape(problem.n_samples, -1)
        targets = np.array(problem.targets, dtype=np.float64).reshape(problem.n_samples, -1)
        self._full = (inputs, targets) if problem.batch == "full" else None
        self._single = [(inputs[i : i + 1], targets[i : i + 1]) for i in range(len(inputs))]

    def at(self, step: int) -> tuple[Array, Array]:
        """Inputs and targets of the samples :func:`batch_of_step` picks for ``step``."""
        if self._full is not None:
            return self._full
        (index,) = batch_of_step(self._problem, step)
        return self._single[index]


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
        """
        wanted = {step for step in record if 0 <= step <= problem.steps}
        layers = [DenseLayer.of(layer) for layer in problem.layers]
        batches = _Batches(problem)
        names: _Names | None = None  # a large network's names cost more than a step
        loss, rate = problem.loss, float(problem.learning_rate)
        sequential = problem.update_order == "sequential"
        trace: Trace = {}
        with np.errstate(all="ignore"):
            for step in range(problem.steps + 1):
                x, target = batches.at(step)
                if step in wanted:
                    names = names or _Names(problem)
                    entries = _parameter_entries(layers, names)
                    update = step < problem.steps
                    terms, records = recorded_step(
                        layers, x, target, loss, rate, sequential, update
                    )
                    _step_entries(entries, names, batch_of_step(problem, step), x, terms, records)
                    trace[step] = entries
                elif step < problem.steps:
                    train_step(layers, x, target, loss, rate, sequential)
        return trace
