"""A fixture document built from a short description of the network (``bpcheck new``).

The author gives the network the way a tutorial states it: sizes, activations,
``w1 = 0.15, w2 = 0.20, ...`` in the tutorial's order.  The document gets the
positional aliases a tutorial would use (see :mod:`bpcheck.authoring.aliases`)
and no claims; ``bpcheck claim`` adds those.  Every answer the author got wrong
is a :class:`~bpcheck.errors.BadInput` line naming the option it came from.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bpcheck.authoring.aliases import tutorial_aliases
from bpcheck.errors import BadInput, InputError
from bpcheck.io.files import check_output
from bpcheck.io.limits import from_environment
from bpcheck.io.loader import SCHEMA_NAME, limit_errors, problem_errors, schema_errors
from bpcheck.model.problem import ACTIVATIONS, LOSSES
from bpcheck.model.verdicts import is_decimal_number

Ask = Callable[[str], str]
"""Asks the author one question (``input`` at a terminal) and returns the answer."""

QUESTIONS = {
    "sizes": "Layer sizes, inputs first (e.g. 2,2,2)",
    "activations": f"Activation, one for all layers or one per layer ({', '.join(ACTIVATIONS)})",
    "bias": "Bias kind (none, shared, per_neuron)",
    "loss": f"Loss ({', '.join(LOSSES)})",
    "learning_rate": "Learning rate",
    "inputs": "Inputs, samples separated by ';' (e.g. 0.05,0.10)",
    "targets": "Targets, samples separated by ';' (e.g. 0.01,0.99)",
    "weights": "Weights w1, w2, ... in the tutorial's order",
    "biases": "Bias values b1, b2, ... (one per layer if shared, per neuron if per_neuron)",
}
"""What describes a network: each key is an option (see :func:`option`), each value a question."""

DEFAULTS = {
    "activations": "sigmoid",
    "bias": "none",
    "loss": "half_sse",
    "learning_rate": "0.5",
    "biases": "",
}
"""The answers taken when the author gives none; the other questions must be answered."""

BIAS_KINDS = ("none", "shared", "per_neuron")


class _BadAnswer(Exception):
    """One answer that cannot be used; :func:`new_fixture` adds the file and raises BadInput."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.option = option(key)
        self.message = message


def option(key: str) -> str:
    """The option a question's answer is given with: ``learning_rate`` -> ``--learning-rate``."""
    return f"--{key.replace('_', '-')}"


def new_fixture(
    path: Path,
    given: Mapping[str, str | None],
    *,
    steps: str = "1",
    fixture_id: str | None = None,
    title: str | None = None,
    ask: Ask | None = None,
) -> dict[str, Any]:
    """The document of a new fixture at ``path``, checked against the schema; not yet written.

    ``given`` maps each key of :data:`QUESTIONS` to the author's answer or None;
    ``ask``, when given, is asked for what is missing before the defaults apply.
    Raises BadInput when ``path`` exists (a symbolic link, even dangling, included) or
    cannot be created (nothing is asked then), or when an answer is wrong.
    """
    where = str(path)
    check_output(path, new=True, create_folders=True)
    fixture_id = fixture_id or path.stem
    try:
        text = answers(given, ask)
        number_of_steps = whole_number(steps, "steps")
        document = build_document(
            path, text, fixture_id=fixture_id, title=title or fixture_id, steps=number_of_steps
        )
    except _BadAnswer as error:
        raise BadInput([InputError(where, error.option, error.message)]) from None
    problems = (
        schema_errors(where, document)
        or limit_errors(where, document["problem"], from_environment())
        or problem_errors(where, document["problem"])
    )
    if problems:
        raise BadInput(problems)
    return document


def answers(given: Mapping[str, str | None], ask: Ask | None) -> dict[str, str]:
    """Every question's answer: given, asked at a prompt, or a default."""
    out: dict[str, str] = {}
    for key, question in QUESTIONS.items():
        value = given.get(key)
        default = DEFAULTS.get(key)
        if value is None and ask is not None:
            suffix = f" [{default}]" if default is not None else ""
            value = ask(f"{question}{suffix}: ").strip() or default
        if value is None:
            value = default
        if value is None:
            raise _BadAnswer(key, f"missing ({question})")
        out[key] = value
    return out


def build_document(
    path: Path, text: dict[str, str], *, fixture_id: str, title: str, steps: int
) -> dict[str, Any]:
    """The fixture document for the answers in ``text``, with no claims yet."""
    sizes = layer_sizes(text["sizes"])
    n_layers = len(sizes) - 1
    activations = per_layer(text["activations"], n_layers, ACTIVATIONS, "activations")
    if text["bias"] not in BIAS_KINDS:
        raise _BadAnswer("bias", f"unknown {text['bias']!r}; expected none, shared or per_neuron")
    if text["loss"] not in LOSSES:
        message = f"unknown {text['loss']!r}; expected one of {', '.join(LOSSES)}"
        raise _BadAnswer("loss", message)
    weights = numbers(text["weights"], "weights")
    expected = sum(sizes[k] * sizes[k + 1] for k in range(n_layers))
    if len(weights) != expected:
        message = f"expected {expected} values (w1..w{expected}), found {len(weights)}"
        raise _BadAnswer("weights", message)
    layers = layer_documents(sizes, activations, weights, text["bias"], text["biases"])
    return {
        "$schema": schema_reference(path),
        "id": fixture_id,
        "title": title,
        "source": {"document": "(describe the document: file name or URL)", "where": ""},
        "problem": {
            "inputs": rows(text["inputs"], sizes[0], "inputs"),
            "targets": rows(text["targets"], sizes[-1], "targets"),
            "layers": layers,
            "loss": text["loss"],
            "learning_rate": numbers(text["learning_rate"], "learning_rate")[0],
            "steps": steps,
        },
        "aliases": tutorial_aliases(sizes, text["bias"]),
        "claims": [],
    }


def layer_documents(
    sizes: list[int], activations: list[str], weights: list[float], kind: str, bias_text: str
) -> list[dict[str, Any]]:
    """Each layer's activation, weight rows (one per neuron) and bias, in the order given."""
    counts = [0 if kind == "none" else 1 if kind == "shared" else size for size in sizes[1:]]
    biases = numbers(bias_text, "biases") if bias_text.strip() else []
    if kind != "none" and len(biases) != sum(counts):
        message = f"expected {sum(counts)} values for bias {kind!r}, found {len(biases)}"
        raise _BadAnswer("biases", message)
    layers: list[dict[str, Any]] = []
    for index, activation in enumerate(activations):
        fan_in, size = sizes[index], sizes[index + 1]
        block, weights = weights[: fan_in * size], weights[fan_in * size :]
        layer: dict[str, Any] = {
            "activation": activation,
            "weights": [block[j * fan_in : (j + 1) * fan_in] for j in range(size)],
        }
        if kind != "none":
            values, biases = biases[: counts[index]], biases[counts[index] :]
            layer["bias"] = {"kind": kind, "values": values, "trainable": True}
        layers.append(layer)
    return layers


# --- reading one answer ---------------------------------------------------------------


def whole_number(text: str, key: str) -> int:
    """``"3"`` -> 3 (``--steps``)."""
    try:
        return int(text)
    except ValueError:
        raise _BadAnswer(key, f"expected a whole number, found {text!r}") from None


def layer_sizes(text: str) -> list[int]:
    """``"2,2,2"`` -> [2, 2, 2]: inputs first, at least an input and an output layer."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise _BadAnswer("sizes", f"expected whole numbers like 2,2,2, found {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise _BadAnswer("sizes", "expected at least two sizes of 1 or more (inputs, outputs)")
    return sizes


def numbers(text: str, key: str) -> list[float]:
    """``"0.15, 0.2"`` -> [0.15, 0.2]: a comma-separated list of decimal numbers.

    Written as a fixture holds them: ``nan``, ``inf`` or ``1e999`` (which ``float``
    takes) would make a file no command can load.
    """
    parts = [part for part in text.replace(" ", "").split(",") if part]
    if not all(is_decimal_number(part) for part in parts):
        raise _BadAnswer(key, f"expected comma-separated decimal numbers, found {text!r}")
    values = [float(part) for part in parts]
    if not all(math.isfinite(value) for value in values):
        raise _BadAnswer(key, f"expected numbers that fit in a float64, found {text!r}")
    if not values:
        raise _BadAnswer(key, "expected at least one number")
    return values


def rows(text: str, width: int, key: str) -> list[list[float]]:
    """Samples separated by ``;``, each a comma-separated row of ``width`` numbers."""
    out = [numbers(part, key) for part in text.split(";") if part.strip()]
    for index, row in enumerate(out):
        if len(row) != width:
            message = f"sample {index + 1} has {len(row)} values, expected {width}"
            raise _BadAnswer(key, message)
    return out


def per_layer(text: str, n_layers: int, choices: tuple[str, ...], key: str) -> list[str]:
    """One name for every layer, or one per layer of weights."""
    names = [part.strip() for part in text.split(",")]
    if len(names) == 1:
        names = names * n_layers
    if len(names) != n_layers:
        raise _BadAnswer(key, f"expected 1 or {n_layers} names, found {len(names)}")
    for name in names:
        if name not in choices:
            raise _BadAnswer(key, f"unknown {name!r}; expected one of {', '.join(choices)}")
    return names


def schema_reference(target: Path) -> str:
    """The ``$schema`` path relative to the new file when a fixtures/schema folder is near."""
    folder = target.resolve().parent
    for candidate in (folder, *folder.parents):
        for schema in (
            candidate / "schema" / SCHEMA_NAME,
            candidate / "fixtures" / "schema" / SCHEMA_NAME,
        ):
            if schema.exists():
                return os.path.relpath(schema, folder)
    return f"../schema/{SCHEMA_NAME}"
