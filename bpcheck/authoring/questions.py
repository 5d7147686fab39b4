"""The questions of ``bpcheck new``: one per field of the fixture, each an option and a prompt.

They are asked in order, and a question may depend on the answers before it: how
many values it needs (``Weights (8 values, w1..w8)``), whether it applies at all
(a slope only for a ``leaky_relu`` layer, a sample order only for mini-batches,
Nesterov only with momentum), and whether it may go unanswered (no learning rate
for a fixture that trains nothing).  :mod:`bpcheck.authoring.new` asks them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bpcheck.authoring import answers as read
from bpcheck.io import placeholders
from bpcheck.model.problem import ACTIVATIONS, LOSSES, PRECISIONS, UPDATE_ORDERS

Known = dict[str, Any]
"""The answers read so far, by key: a later question's count depends on earlier ones."""

BIAS_KINDS = ("none", "shared", "per_neuron")

NAMED_LOSSES = tuple(loss for loss in LOSSES if loss != "output")
"""The losses ``--loss`` takes; the gradient of one output is ``--objective output K``."""

SCALED = {"slope": "leaky_relu", "alpha": "elu"}
"""The activations that take a number, and its field."""


def _never(known: Known) -> bool:
    return False


@dataclass(frozen=True)
class Question:
    """One field of the fixture: its option, what to ask, how to read the answer."""

    key: str
    """The option is ``--key`` with ``-`` for ``_`` (see :func:`option`)."""
    help: str
    """What the answer is, in ``--help`` and when it is missing."""
    read: Callable[[str, Known], Any]
    """The value of an answer, or :class:`~bpcheck.authoring.answers.BadAnswer`."""
    default: str | None = None
    """The answer taken when none is given; None: one must be."""
    prompt: Callable[[Known], str] | None = None
    """The question at a terminal, with the number of values it needs; else ``help``."""
    needed: Callable[[Known], bool] = lambda known: True
    """Whether the question applies, given the answers before it (an answer given to one
    that does not is refused)."""
    optional: Callable[[Known], bool] = _never
    """Whether it may go unanswered, given the answers before it: then it is not asked and
    its value is None (no learning rate for a fixture that trains nothing)."""

    def asked(self, known: Known) -> str:
        question = self.prompt(known) if self.prompt else self.help
        shown = {placeholders.DOCUMENT: "later", placeholders.WHERE: "later"}
        suffix = "" if self.default is None else f" [{shown.get(self.default, self.default)}]"
        return f"{question}{suffix}: "


def option(key: str) -> str:
    """The option a question's answer is given with: ``learning_rate`` -> ``--learning-rate``."""
    return f"--{key.replace('_', '-')}"


# --- what the answers so far say -------------------------------------------------------------


def _layers(known: Known) -> int:
    return len(known["sizes"]) - 1


def _weight_count(known: Known) -> int:
    sizes = known["sizes"]
    return sum(sizes[k] * sizes[k + 1] for k in range(len(sizes) - 1))


def _bias_count(known: Known) -> int:
    counts = {"none": 0, "shared": 1}
    return sum(counts.get(kind, size) for kind, size in zip(known["bias"], known["sizes"][1:]))


def _biased_layers(known: Known) -> list[int]:
    return [n for n, kind in enumerate(known["bias"], start=1) if kind != "none"]


def _taking(known: Known, field: str) -> int:
    """How many layers take ``field`` (``slope``: the ``leaky_relu`` layers)."""
    activations: list[str] = known["activations"]
    return activations.count(SCALED[field])


def _samples(known: Known) -> int:
    return len(known["inputs"])


def has_loss(known: Known) -> bool:
    """Whether the fixture has a loss (and so targets): not with ``--objective output K``."""
    return known.get("objective") is None


def updates(known: Known) -> int:
    """How many updates the answers make: the steps, or the epochs times their batches."""
    epochs = known.get("epochs")
    if epochs is None:
        return int(known.get("steps", 1))
    batch, samples = known["batch"], _samples(known)
    per_epoch = {"full": 1, "per_sample": samples}.get(batch) if isinstance(batch, str) else None
    return int(epochs * (per_epoch or math.ceil(samples / batch)))


def trains(known: Known) -> bool:
    return updates(known) > 0


# --- readers that need the answers before them -----------------------------------------------


def _activations(text: str, known: Known) -> list[str]:
    names = read.per_layer(text, _layers(known), ACTIVATIONS)
    if "softmax" in names[:-1]:
        raise read.BadAnswer("expected softmax only on the output layer")
    return names


def _loss(text: str, known: Known) -> str:
    if text.strip() == "output":
        raise read.BadAnswer("expected a loss; the gradient of one output is --objective output K")
    return read.one_of(text, NAMED_LOSSES)


def _scale(field: str, what: str, least: float) -> Callable[[str, Known], list[float]]:
    return lambda text, known: read.per_named_layer(text, _taking(known, field), what, least)


def _batch(text: str, known: Known) -> str | int:
    size = read.batch(text, ("full", "per_sample"))
    samples = _samples(known)
    if isinstance(size, int) and size > samples:
        raise read.BadAnswer(
            f"expected a mini-batch size from 1 to {samples} (the samples), found {size}"
        )
    return size


def _optional_count(text: str, known: Known) -> int | None:
    return None if text.strip() == "none" else read.whole_number(text)


def _text(placeholder: str) -> Callable[[str, Known], str]:
    return lambda text, known: " ".join(text.split()) or placeholder


def _values(n: int) -> str:
    return f"{n} value{'s' if n != 1 else ''}"


def _count(what: str, count: Callable[[Known], int], name: str) -> Callable[[Known], str]:
    def prompt(known: Known) -> str:
        n = count(known)
        return f"{what} ({_values(n)}, {name}1..{name}{n})"

    return prompt


def _per_layer_prompt(field: str, what: str) -> Callable[[Known], str]:
    def prompt(known: Known) -> str:
        n, activation = _taking(known, field), SCALED[field]
        each = "" if n == 1 else f", one for all {n} {activation} layers or one each"
        return f"{what} of {activation}{each}"

    return prompt


# --- the questions, in the order they are asked ---------------------------------------------

NETWORK = (
    Question("sizes", "Layer sizes, inputs first (e.g. 2,2,2)", lambda t, k: read.layer_sizes(t)),
    Question(
        "activations",
        f"Activation, one for all layers or one per layer ({', '.join(ACTIVATIONS)})",
        _activations,
        default="sigmoid",
    ),
    Question(
        "slope",
        "Slope of leaky_relu for negative net inputs, one for all leaky_relu layers or one each",
        _scale("slope", "slopes", 0.0),
        default="0.01",
        prompt=_per_layer_prompt("slope", "Slope for negative net inputs"),
        needed=lambda k: _taking(k, "slope") > 0,
    ),
    Question(
        "alpha",
        "Alpha of elu (its value at -infinity is -alpha), one for all elu layers or one each",
        _scale("alpha", "alphas", 0.0),
        default="1.0",
        prompt=_per_layer_prompt("alpha", "Alpha"),
        needed=lambda k: _taking(k, "alpha") > 0,
    ),
    Question(
        "bias",
        "Bias kind, one for all layers or one per layer (none, shared, per_neuron)",
        lambda t, k: read.per_layer(t, _layers(k), BIAS_KINDS),
        default="none",
    ),
    Question(
        "biases",
        "Bias values b1, b2, ... (one per layer if shared, per neuron if per_neuron)",
        lambda t, k: read.numbers(t, _bias_count(k), f"bias values (b1..b{_bias_count(k)})"),
        prompt=_count("Bias values", _bias_count, "b"),
        needed=lambda k: _bias_count(k) > 0,
    ),
    Question(
        "frozen_biases",
        "Biases not trained: layer numbers (1 = the first layer of weights), all or none",
        lambda t, k: read.layer_numbers(t, _biased_layers(k)),
        default="none",
        needed=lambda k: bool(_biased_layers(k)),
    ),
    Question(
        "objective",
        "No loss, the gradient of one output: output K (then no targets, no --loss); or none",
        lambda t, k: read.objective(t, k["sizes"][-1]),
        default="none",
    ),
    Question(
        "loss",
        f"Loss ({', '.join(NAMED_LOSSES)})",
        _loss,
        default="half_sse",
        needed=has_loss,
    ),
)
"""The network and what it computes."""

DATA = (
    Question(
        "inputs",
        "Inputs, samples separated by ';' (e.g. 0.05,0.10)",
        lambda t, k: read.rows(t, k["sizes"][0]),
        prompt=lambda k: f"Inputs ({_values(k['sizes'][0])} per sample, samples separated by ';')",
    ),
    Question(
        "targets",
        "Targets, samples separated by ';' (e.g. 0.01,0.99)",
        lambda t, k: read.rows(t, k["sizes"][-1], len(k["inputs"])),
        prompt=lambda k: (
            f"Targets ({_values(k['sizes'][-1])} per sample, "
            f"{len(k['inputs'])} sample(s) separated by ';')"
        ),
        needed=has_loss,
    ),
    Question(
        "weights",
        "Weights w1, w2, ... in the tutorial's order",
        lambda t, k: read.numbers(t, _weight_count(k), f"values (w1..w{_weight_count(k)})"),
        prompt=_count("Weights", _weight_count, "w"),
    ),
)
"""The samples and the parameters."""

TRAINING = (
    Question(
        "batch",
        "Samples per update: full (all of them), per_sample (one per update, in turn) or a "
        "mini-batch size",
        _batch,
        default="full",
    ),
    Question(
        "sample_order",
        "The order mini-batches take the samples in, every epoch (1-based, e.g. 2,3,1)",
        lambda t, k: read.sample_order(t, _samples(k)),
        default="in order",
        needed=lambda k: isinstance(k["batch"], int),
    ),
    Question(
        "update_order",
        "Update order: simultaneous (every layer from the old weights) or sequential "
        "(a layer's new weights used for the layers below it)",
        lambda t, k: read.one_of(t, UPDATE_ORDERS),
        default="simultaneous",
    ),
    Question(
        "epochs",
        "Epochs: passes over every sample, instead of --steps (none: count steps)",
        _optional_count,
        default="none",
        optional=lambda k: k["batch"] == "full",
    ),
    Question(
        "steps",
        "Training steps",
        lambda t, k: read.whole_number(t),
        default="1",
        needed=lambda k: k.get("epochs") is None,
    ),
    Question(
        "layer_learning_rates",
        "A learning rate for each layer of weights (e.g. 0.1,0.2), or none: one for all",
        lambda t, k: read.rates(t, _layers(k)),
        default="none",
        optional=lambda k: not trains(k),
    ),
    Question(
        "learning_rate",
        "Learning rate",
        lambda t, k: read.positive_number(t),
        default="0.5",
        optional=lambda k: not trains(k) or k.get("layer_learning_rates") is not None,
    ),
    Question(
        "momentum",
        "Momentum (0: plain gradient descent)",
        lambda t, k: read.number_at_least(t, 0.0),
        default="0",
        optional=lambda k: not trains(k),
    ),
    Question(
        "nesterov",
        "Nesterov momentum (yes or no)",
        lambda t, k: read.yes_no(t),
        default="no",
        needed=lambda k: bool(k.get("momentum")),
    ),
    Question(
        "weight_decay",
        "Weight decay, coupled L2: E gains weight_decay/2 * the sum of squared weights (0: none)",
        lambda t, k: read.number_at_least(t, 0.0),
        default="0",
    ),
    Question(
        "precision",
        f"Arithmetic every engine computes in ({', '.join(PRECISIONS)})",
        lambda t, k: read.one_of(t, PRECISIONS),
        default="float64",
    ),
)
"""How the network is trained."""

SOURCE = (
    Question(
        "document",
        "The document: its title, file name or URL",
        _text(placeholders.DOCUMENT),
        default=placeholders.DOCUMENT,
    ),
    Question(
        "where",
        "Where the worked example stands in the document (section, page)",
        _text(placeholders.WHERE),
        default=placeholders.WHERE,
    ),
)

QUESTIONS = (*NETWORK, *DATA, *TRAINING, *SOURCE)
"""Every field of a fixture's problem, and its source: each a command-line option."""

BY_KEY = {question.key: question for question in QUESTIONS}
