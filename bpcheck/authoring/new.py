"""A fixture document built from a short description of the network (``bpcheck new``).

The author gives the network the way a tutorial states it: sizes, activations,
``w1 = 0.15, w2 = 0.20, ...`` in the tutorial's order.  Every field of the
problem model has a question (:data:`QUESTIONS`), answered by an option or at a
prompt; a prompt says how many values it needs, and asks again when an answer
cannot be used.  An answer given as an option that cannot be used is a
:class:`~bpcheck.errors.BadInput` line naming the option (at a terminal, it is
asked for instead).  The document gets the positional aliases a tutorial would
use (see :mod:`bpcheck.authoring.aliases`) and no claims; ``bpcheck claim`` adds
those.  What the author does not say about the document is a placeholder
(:mod:`bpcheck.io.placeholders`) that ``validate`` refuses until it is replaced.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bpcheck.authoring import answers as read
from bpcheck.authoring.aliases import tutorial_aliases
from bpcheck.errors import BadInput, InputError
from bpcheck.io import placeholders
from bpcheck.io.files import check_output
from bpcheck.io.limits import from_environment
from bpcheck.io.loader import SCHEMA_NAME, limit_errors, problem_errors, schema_errors
from bpcheck.model.problem import ACTIVATIONS, BATCH_MODES, LOSSES, UPDATE_ORDERS

Ask = Callable[[str], str]
"""Asks the author one question (``input`` at a terminal) and returns the answer."""

Say = Callable[[str], None]
"""Tells the author why an answer was not taken, before asking again."""

Known = dict[str, Any]
"""The answers read so far, by key: a later question's count depends on earlier ones."""

BIAS_KINDS = ("none", "shared", "per_neuron")

OUTPUT_ACTIVATION = {"bce": "sigmoid", "softmax_ce": "softmax"}
"""The losses that need a particular output activation (as the loader checks)."""


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
    """Whether the question applies, given the answers before it."""

    def asked(self, known: Known) -> str:
        question = self.prompt(known) if self.prompt else self.help
        shown = {placeholders.DOCUMENT: "later", placeholders.WHERE: "later"}
        suffix = "" if self.default is None else f" [{shown.get(self.default, self.default)}]"
        return f"{question}{suffix}: "


def option(key: str) -> str:
    """The option a question's answer is given with: ``learning_rate`` -> ``--learning-rate``."""
    return f"--{key.replace('_', '-')}"


# --- the questions, in the order they are asked ---------------------------------------------


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


def _activations(text: str, known: Known) -> list[str]:
    names = read.per_layer(text, _layers(known), ACTIVATIONS)
    if "softmax" in names[:-1]:
        raise read.BadAnswer("expected softmax only on the output layer")
    return names


def _loss(text: str, known: Known) -> str:
    loss = read.one_of(text, LOSSES)
    needs, output = OUTPUT_ACTIVATION.get(loss), known["activations"][-1]
    if needs is not None and output != needs:
        raise read.BadAnswer(f"expected output activation {needs} for loss {loss}, found {output}")
    return loss


def _text(placeholder: str) -> Callable[[str, Known], str]:
    return lambda text, known: " ".join(text.split()) or placeholder


def _values(n: int) -> str:
    return f"{n} value{'s' if n != 1 else ''}"


def _count(what: str, count: Callable[[Known], int], name: str) -> Callable[[Known], str]:
    def prompt(known: Known) -> str:
        n = count(known)
        return f"{what} ({_values(n)}, {name}1..{name}{n})"

    return prompt


QUESTIONS = (
    Question("sizes", "Layer sizes, inputs first (e.g. 2,2,2)", lambda t, k: read.layer_sizes(t)),
    Question(
        "activations",
        f"Activation, one for all layers or one per layer ({', '.join(ACTIVATIONS)})",
        _activations,
        default="sigmoid",
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
    Question("loss", f"Loss ({', '.join(LOSSES)})", _loss, default="half_sse"),
    Question("learning_rate", "Learning rate", lambda t, k: read.positive_number(t), default="0.5"),
    Question(
        "batch",
        "Samples per update: full (all of them) or per_sample (one per update, in turn)",
        lambda t, k: read.one_of(t, BATCH_MODES),
        default="full",
    ),
    Question(
        "update_order",
        "Update order: simultaneous (every layer from the old weights) or sequential "
        "(a layer's new weights used for the layers below it)",
        lambda t, k: read.one_of(t, UPDATE_ORDERS),
        default="simultaneous",
    ),
    Question("steps", "Training steps", lambda t, k: read.whole_number(t), default="1"),
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
    ),
    Question(
        "weights",
        "Weights w1, w2, ... in the tutorial's order",
        lambda t, k: read.numbers(t, _weight_count(k), f"values (w1..w{_weight_count(k)})"),
        prompt=_count("Weights", _weight_count, "w"),
    ),
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
"""Every field of a fixture's problem, and its source: each a command-line option."""

BY_KEY = {question.key: question for question in QUESTIONS}


# --- asking ----------------------------------------------------------------------------------


def new_fixture(
    path: Path,
    given: Mapping[str, str | None],
    *,
    fixture_id: str | None = None,
    title: str | None = None,
    ask: Ask | None = None,
    say: Say | None = None,
) -> dict[str, Any]:
    """The document of a new fixture at ``path``, checked against the schema; not yet written.

    ``given`` maps keys of :data:`QUESTIONS` to the author's answers (None: not given);
    ``ask``, when given, is asked for what is missing, and again for an answer that
    cannot be used (``say`` tells why); else a default applies.  Raises BadInput when
    ``path`` exists (a symbolic link, even dangling, included) or cannot be created
    (nothing is asked then), or when an answer is wrong.
    """
    where = str(path)
    check_output(path, new=True, create_folders=True)
    fixture_id = fixture_id or path.stem
    known = answers(where, given, ask, say or (lambda message: None))
    document = build_document(path, known, fixture_id=fixture_id, title=title or fixture_id)
    problems = (
        schema_errors(where, document)
        or limit_errors(where, document["problem"], from_environment())
        or problem_errors(where, document["problem"])
    )
    if problems:
        raise BadInput(problems)
    return document


def answers(where: str, given: Mapping[str, str | None], ask: Ask | None, say: Say) -> Known:
    """Every question's value: given, asked at a prompt until usable, or a default."""
    unknown = sorted(set(given) - set(BY_KEY))
    if unknown:
        raise ValueError(f"no question {unknown[0]!r}")
    known: Known = {}
    for question in QUESTIONS:
        text = given.get(question.key)
        if not question.needed(known):
            if text is not None:
                message = f"expected no answer: does not apply to this network ({question.help})"
                raise BadInput([InputError(where, option(question.key), message)])
            continue
        if text is not None:
            try:
                known[question.key] = question.read(text, known)
                continue
            except read.BadAnswer as error:
                if ask is None:
                    raise BadInput(
                        [InputError(where, option(question.key), error.message)]
                    ) from None
                say(f"{option(question.key)} {text}: {error.message}")
        if ask is None:
            if question.default is None:
                message = f"missing ({question.help})"
                raise BadInput([InputError(where, option(question.key), message)])
            known[question.key] = question.read(question.default, known)
            continue
        known[question.key] = asked(where, question, known, ask, say)
    return known


def asked(where: str, question: Question, known: Known, ask: Ask, say: Say) -> Any:
    """The answer to ``question`` at a prompt, asked again until it can be used."""
    while True:
        try:
            text = ask(question.asked(known)).strip()
        except EOFError:
            message = f"missing ({question.help}); the input ended"
            raise BadInput([InputError(where, option(question.key), message)]) from None
        text = text or (question.default or "")
        if not text:
            say("an answer is needed here")
            continue
        try:
            return question.read(text, known)
        except read.BadAnswer as error:
            say(f"{error.message}; try again")


# --- the document ----------------------------------------------------------------------------


def build_document(path: Path, known: Known, *, fixture_id: str, title: str) -> dict[str, Any]:
    """The fixture document for the answers in ``known``, with no claims yet."""
    sizes = known["sizes"]
    return {
        "$schema": schema_reference(path),
        "id": fixture_id,
        "title": title,
        "source": {"document": known["document"], "where": known["where"]},
        "problem": {
            "inputs": known["inputs"],
            "targets": known["targets"],
            "layers": layer_documents(known),
            "loss": known["loss"],
            "learning_rate": known["learning_rate"],
            "steps": known["steps"],
            "batch": known["batch"],
            "update_order": known["update_order"],
        },
        "aliases": tutorial_aliases(sizes, known["bias"]),
        "claims": [],
    }


def layer_documents(known: Known) -> list[dict[str, Any]]:
    """Each layer's activation, weight rows (one per neuron) and bias, in the order given."""
    sizes, weights = known["sizes"], list(known["weights"])
    biases, frozen = list(known.get("biases", [])), known.get("frozen_biases", [])
    layers: list[dict[str, Any]] = []
    for index, (activation, kind) in enumerate(zip(known["activations"], known["bias"])):
        fan_in, size = sizes[index], sizes[index + 1]
        block, weights = weights[: fan_in * size], weights[fan_in * size :]
        layer: dict[str, Any] = {
            "activation": activation,
            "weights": [block[j * fan_in : (j + 1) * fan_in] for j in range(size)],
        }
        if kind != "none":
            count = 1 if kind == "shared" else size
            values, biases = biases[:count], biases[count:]
            layer["bias"] = {"kind": kind, "values": values, "trainable": index + 1 not in frozen}
        layers.append(layer)
    return layers


def schema_reference(target: Path) -> str:
    """The ``$schema`` of a new file at ``target``, resolvable from where it is.

    The nearest fixture schema (``schema/`` or ``fixtures/schema/`` in the file's
    folder or one above it), as a path relative to the file; when there is none,
    the schema of the installed bpcheck, as a ``file:`` URI.  Either way an editor
    finds it, and the name ends in the schema's versioned file name.
    """
    folder = target.resolve().parent
    for candidate in (folder, *folder.parents):
        for schema in (
            candidate / "schema" / SCHEMA_NAME,
            candidate / "fixtures" / "schema" / SCHEMA_NAME,
        ):
            if schema.is_file():
                return Path(os.path.relpath(schema, folder)).as_posix()
    return installed_schema().as_uri()


def installed_schema() -> Path:
    """The fixture schema inside the installed package."""
    return Path(str(resources.files("bpcheck.io").joinpath("schema", SCHEMA_NAME))).resolve()
