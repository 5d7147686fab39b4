"""The problem model: what a worked example asks a network to compute.

A :class:`Problem` is plain data (tuples of floats and strings).  Engines read it
and nothing else, so every engine starts from exactly the same description and
none of them can lean on another's arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")
"""Activation names.  ``relu'(0)`` is defined as 0; ``softmax`` is output-layer only."""

LOSSES = ("half_sse", "sse", "mse", "bce", "softmax_ce")
"""Loss names; see :data:`LOSS_TERMS` for the term each output contributes."""

LOSS_TERMS = {
    "half_sse": "1/2 (t - o)^2, summed over outputs and samples",
    "sse": "(t - o)^2, summed over outputs and samples",
    "mse": "(t - o)^2 / (outputs * samples in the batch): the mean over both",
    "bce": "-(t log o + (1 - t) log(1 - o)), summed; output activation sigmoid",
    "softmax_ce": "-t log o, summed; output activation softmax",
}

BIAS_KINDS = ("none", "shared", "per_neuron")
BATCH_MODES = ("full", "per_sample")
UPDATE_ORDERS = ("simultaneous", "sequential")


@dataclass(frozen=True)
class Layer:
    """One dense layer.

    ``weights[j][i]`` connects source neuron ``i`` of the layer below to neuron
    ``j`` of this layer (both 0-based here; quantity names are 1-based).
    ``bias`` holds no value for kind ``none``, one for ``shared`` and one per
    neuron for ``per_neuron``.
    """

    weights: tuple[tuple[float, ...], ...]
    activation: str = "sigmoid"
    bias_kind: str = "none"
    bias: tuple[float, ...] = ()
    bias_trainable: bool = True

    @property
    def size(self) -> int:
        return len(self.weights)

    @property
    def fan_in(self) -> int:
        return len(self.weights[0]) if self.weights else 0


@dataclass(frozen=True)
class Problem:
    """A network, its training data and how it is trained.

    ``steps`` gradient-descent updates are made.  With ``batch="full"`` every
    update uses all samples; with ``batch="per_sample"`` update ``k`` uses only
    sample ``k mod n`` (see :func:`batch_of_step`).  ``update_order`` is
    ``simultaneous`` (all gradients from the weights before the step) or
    ``sequential`` (a layer's new weights are used while back-propagating into
    the layer below).
    """

    layers: tuple[Layer, ...]
    inputs: tuple[tuple[float, ...], ...]
    targets: tuple[tuple[float, ...], ...]
    loss: str = "half_sse"
    learning_rate: float = 0.5
    steps: int = 1
    batch: str = "full"
    update_order: str = "simultaneous"

    @property
    def n_inputs(self) -> int:
        return len(self.inputs[0])

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].size

    @property
    def n_samples(self) -> int:
        return len(self.inputs)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Neurons per layer, inputs first: a 2-2-2 network gives (2, 2, 2)."""
        return (self.n_inputs, *(layer.size for layer in self.layers))


def batch_of_step(problem: Problem, step: int) -> tuple[int, ...]:
    """0-based indices of the samples that update ``step`` uses."""
    if problem.batch == "full":
        return tuple(range(problem.n_samples))
    return (step % problem.n_samples,)
