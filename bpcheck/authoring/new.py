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
from importlib import resources
from pathlib import Path
from typing import Any

from bpcheck.authoring import answers as read
from bpcheck.authoring.aliases import tutorial_aliases
from bpcheck.authoring.questions import (
    BY_KEY,
    QUESTIONS,
    SCALED,
    Question,
    has_loss,
    option,
    updates,
)
from bpcheck.errors import BadInput, InputError
from bpcheck.io.files import check_output
from bpcheck.io.loader import SCHEMA_NAME, load_document

Ask = Callable[[str], str]
"""Asks the author one question (``input`` at a terminal) and returns the answer."""

Say = Callable[[str], None]
"""Tells the author why an answer was not taken, before asking again."""

Known = dict[str, Any]
"""The answers read so far, by key (:data:`bpcheck.authoring.questions.Known`)."""


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
    load_document(path, document, drafts=True)  # the loader's every check, aliases included
    return document


def answers(where: str, given: Mapping[str, str | None], ask: Ask | None, say: Say) -> Known:
    """Every question's value: given, asked at a prompt until usable, or a default."""
    unknown = sorted(set(given) - set(BY_KEY))
    if unknown:
        raise ValueError(f"no question {unknown[0]!r}")
    known: Known = {}
    for question in QUESTIONS:
        text = given.get(question.key)
        if text is None and question.needed(known) and question.optional(known):
            known[question.key] = None
            continue
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
    return {
        "$schema": schema_reference(path),
        "id": fixture_id,
        "title": title,
        "source": {"document": known["document"], "where": known["where"]},
        "problem": problem_document(known),
        "aliases": tutorial_aliases(
            known["sizes"],
            known["bias"],
            trainable=[
                n not in known.get("frozen_biases", []) for n in range(1, len(known["bias"]) + 1)
            ],
            updating=updates(known) > 0,
            targets=has_loss(known),
        ),
        "claims": [],
    }


def problem_document(known: Known) -> dict[str, Any]:
    """The ``problem``: what every fixture has, then only the settings the answers chose.

    A fixture with an objective has no targets and no loss; one that trains nothing
    (or gives every layer its rate) has no learning rate unless one was given.
    """
    problem: dict[str, Any] = {"inputs": known["inputs"]}
    if has_loss(known):
        problem["targets"] = known["targets"]
    problem["layers"] = layer_documents(known)
    if has_loss(known):
        problem["loss"] = known["loss"]
    else:
        problem["objective"] = f"output {known['objective']}"
    if known.get("learning_rate") is not None:
        problem["learning_rate"] = known["learning_rate"]
    if known.get("epochs") is not None:
        problem["epochs"] = known["epochs"]
    else:
        problem["steps"] = known["steps"]
    problem["batch"] = known["batch"]
    if isinstance(known["batch"], int):
        problem["sample_order"] = known["sample_order"]
    problem["update_order"] = known["update_order"]
    if known.get("momentum"):
        problem["momentum"] = known["momentum"]
        if known["nesterov"]:
            problem["nesterov"] = True
    if known["weight_decay"]:
        problem["weight_decay"] = known["weight_decay"]
    if known["precision"] != "float64":
        problem["precision"] = known["precision"]
    return problem


def layer_documents(known: Known) -> list[dict[str, Any]]:
    """Each layer's activation (and its slope or alpha), weight rows (one per neuron), bias
    and learning rate, in the order given."""
    sizes, weights = known["sizes"], list(known["weights"])
    biases, frozen = list(known.get("biases", [])), known.get("frozen_biases", [])
    scales = {field: list(known.get(field, [])) for field in SCALED}
    rates = known.get("layer_learning_rates")
    layers: list[dict[str, Any]] = []
    for index, (activation, kind) in enumerate(zip(known["activations"], known["bias"])):
        fan_in, size = sizes[index], sizes[index + 1]
        block, weights = weights[: fan_in * size], weights[fan_in * size :]
        layer: dict[str, Any] = {"activation": activation}
        for field, scaled in SCALED.items():
            if activation == scaled:
                layer[field] = scales[field].pop(0)
        layer["weights"] = [block[j * fan_in : (j + 1) * fan_in] for j in range(size)]
        if kind != "none":
            count = 1 if kind == "shared" else size
            values, biases = biases[:count], biases[count:]
            layer["bias"] = {"kind": kind, "values": values, "trainable": index + 1 not in frozen}
        if rates is not None:
            layer["learning_rate"] = rates[index]
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
