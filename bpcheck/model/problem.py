"""The problem model: what a worked example asks a network to compute.

A :class:`Problem` is plain data (tuples of floats and strings).  Engines read it
and nothing else, so every engine starts from exactly the same description and
none of them can lean on another's arithmetic.  docs/fixtures.md says, for every
field, what a tutorial means by it; the conventions chosen where tutorials differ
are stated here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax", "leaky_relu", "softplus", "elu")
"""Activation names.  At a kink the derivative takes the left branch: ``relu'(0) = 0``,
``leaky_relu'(0) = slope``, ``elu'(0) = alpha``.  ``softmax`` is output-layer only.

* ``leaky_relu(x) = x`` for x > 0, else ``slope * x`` (:attr:`Layer.slope`);
* ``softplus(x) = log(1 + e^x)``, whose derivative is the logistic function;
* ``elu(x) = x`` for x > 0, else ``alpha * (e^x - 1)`` (:attr:`Layer.alpha`).
"""

LOSSES = ("half_sse", "sse", "mse", "bce", "softmax_ce", "output")
"""Loss names; see :data:`LOSS_TERMS` for the term each output contributes.  Any loss goes
with any output activation: engines chain the loss's derivative through the activation's
full Jacobian, never a shortcut that holds for one pairing only."""

LOSS_TERMS = {
    "half_sse": "1/2 (t - o)^2, summed over outputs and samples",
    "sse": "(t - o)^2, summed over outputs and samples",
    "mse": "(t - o)^2 / (outputs * samples in the batch): the mean over both",
    "bce": "-(t log o + (1 - t) log(1 - o)), summed; not clipped: log 0 is -inf, log of a "
    "negative output NaN",
    "softmax_ce": "-t log o, summed; not clipped",
    "output": "o_k, summed over samples, for the fixture's objective output k; the other "
    "outputs' terms are 0 (no loss at all: the gradient of one output, upstream gradient 1)",
}

BIAS_KINDS = ("none", "shared", "per_neuron")
BATCH_MODES = ("full", "per_sample", "mini")
UPDATE_ORDERS = ("simultaneous", "sequential")
PRECISIONS = ("float64", "float32")


@dataclass(frozen=True)
class Layer:
    """One dense layer.

    ``weights[j][i]`` connects source neuron ``i`` of the layer below to neuron
    ``j`` of this layer (both 0-based here; quantity names are 1-based).
    ``bias`` holds no value for kind ``none``, one for ``shared`` and one per
    neuron for ``per_neuron``.  ``learning_rate`` overrides the problem's rate for
    this layer's weights and bias (None: the problem's).
    """

    weights: tuple[tuple[float, ...], ...]
    activation: str = "sigmoid"
    bias_kind: str = "none"
    bias: tuple[float, ...] = ()
    bias_trainable: bool = True
    slope: float = 0.01
    """``leaky_relu``'s slope for negative net inputs."""
    alpha: float = 1.0
    """``elu``'s scale for negative net inputs."""
    learning_rate: float | None = None

    @property
    def size(self) -> int:
        return len(self.weights)

    @property
    def fan_in(self) -> int:
        return len(self.weights[0]) if self.weights else 0


@dataclass(frozen=True)
class Problem:
    """A network, its training data and how it is trained.

    ``steps`` updates are made.  Which samples update ``k`` uses is
    :func:`batch_of_step`: all of them (``batch="full"``), one at a time
    (``per_sample``), or ``batch_size`` at a time in ``sample_order`` (``mini``;
    the last batch of an epoch may be smaller).  ``update_order`` is
    ``simultaneous`` (all gradients from the weights before the step) or
    ``sequential`` (a layer's new weights are used while back-propagating into
    the layer below).

    The update of a parameter ``p`` with gradient ``g`` and rate ``eta`` (the
    layer's, else the problem's) keeps a velocity ``v`` (0 at the start)::

        g = dE/dp                                  (weight decay is inside E: + lambda w)
        v <- momentum * v - eta * g
        change = v                                 (classical momentum; plain descent at 0)
        change = momentum * v - eta * g            (nesterov, with the new v)
        p <- p + change

    Nesterov is written in the form whose gradient is taken at the current
    parameters (Sutskever et al. 2013, as CS231n and PyTorch do), so every
    gradient in the trace is at the parameters the trace shows.  Weight decay is
    coupled L2: ``E`` includes ``weight_decay / 2 * (sum of all squared
    weights)`` once per step, biases excluded, and ``dE_dw`` includes
    ``weight_decay * w``; per-sample quantities do not include it.

    ``precision="float32"``: every engine computes in float32 (inputs and
    parameters rounded to float32 first) and verdicts judge those values.
    """

    layers: tuple[Layer, ...]
    inputs: tuple[tuple[float, ...], ...]
    targets: tuple[tuple[float, ...], ...]
    loss: str = "half_sse"
    learning_rate: float = 0.5
    steps: int = 1
    batch: str = "full"
    update_order: str = "simultaneous"
    objective: int = 0
    """For ``loss="output"``: the 1-based output whose gradient is taken (0 otherwise)."""
    batch_size: int = 0
    """For ``batch="mini"``: samples per update (0 otherwise)."""
    sample_order: tuple[int, ...] = ()
    """For ``batch="mini"``: the 0-based order samples are taken in, every epoch
    (empty: 0, 1, 2, ...)."""
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    precision: str = "float64"

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

    @property
    def has_targets(self) -> bool:
        """Whether the samples have targets: every loss but ``output`` needs them."""
        return self.loss != "output"


def epoch_batches(problem: Problem) -> tuple[tuple[int, ...], ...]:
    """The batches of one epoch, in order: 0-based sample indices of each update."""
    n = problem.n_samples
    if problem.batch == "full":
        return (tuple(range(n)),)
    if problem.batch == "per_sample":
        return tuple((s,) for s in range(n))
    order = problem.sample_order or tuple(range(n))
    size = problem.batch_size
    return tuple(order[start : start + size] for start in range(0, n, size))


def batch_of_step(problem: Problem, step: int) -> tuple[int, ...]:
    """0-based indices of the samples that update ``step`` uses (in summation order)."""
    if problem.batch == "full":
        return tuple(range(problem.n_samples))
    if problem.batch == "per_sample":
        return (step % problem.n_samples,)
    batches = epoch_batches(problem)
    return batches[step % len(batches)]


def layer_rate(problem: Problem, index: int) -> float:
    """The learning rate of 0-based layer ``index``: its own, else the problem's."""
    rate = problem.layers[index].learning_rate
    return problem.learning_rate if rate is None else rate


def is_plain_descent(problem: Problem) -> bool:
    """No momentum, no weight decay, one learning rate, float64: the seeds' case.

    Engines may keep a lean path for this case only and take their general path
    otherwise; tests/properties checks the two give the same traces.
    """
    return (
        problem.momentum == 0.0
        and problem.weight_decay == 0.0
        and all(layer.learning_rate is None for layer in problem.layers)
        and problem.precision == "float64"
    )
