"""A fixture's ``problem`` object: its size, what the schema cannot check, and the Problem.

The schema has checked every field's type; this module checks what only the
fields together say (shapes that fit, one of ``loss`` and ``objective``, one of
``steps`` and ``epochs``, a learning rate wherever something trains, a sample
order that takes every sample once) and builds the :class:`~bpcheck.model.problem.
Problem` engines read.  Every problem becomes one line ``FILE: LOCATION: what was
expected``.
"""

from __future__ import annotations

import math
from typing import Any

from bpcheck.errors import InputError
from bpcheck.io import limits as input_limits
from bpcheck.model.problem import Layer, Problem

OBJECTIVE_PREFIX = "output "
"""``"objective": "output 2"``: the gradient of output 2, no loss (the model's loss ``output``)."""


def objective_output(data: dict[str, Any]) -> int:
    """The 1-based output an ``objective`` names (0 when the problem has a loss)."""
    text = data.get("objective")
    return int(text.removeprefix(OBJECTIVE_PREFIX)) if isinstance(text, str) else 0


def updates_per_epoch(data: dict[str, Any]) -> int:
    """Updates one pass over the samples makes: 1, one per sample, or one per mini-batch."""
    samples = len(data["inputs"])
    batch = data.get("batch", "full")
    if batch == "full":
        return 1
    if batch == "per_sample":
        return samples
    return math.ceil(samples / int(batch))


def steps_of(data: dict[str, Any]) -> int:
    """Training steps: ``steps`` as given, else ``epochs`` times the updates per epoch."""
    if "steps" in data:
        return int(data["steps"])
    return int(data.get("epochs", 0)) * updates_per_epoch(data)


# --- size: the limits ----------------------------------------------------------------


def limit_errors(path: str, data: dict[str, Any], limits: input_limits.Limits) -> list[InputError]:
    """Steps (those ``epochs`` make too), layers and parameters beyond the limits.

    ``data`` is a ``problem`` the schema accepted.
    """
    errors = []
    parameters = sum(
        sum(len(row) for row in layer["weights"]) + len(layer.get("bias", {}).get("values", []))
        for layer in data["layers"]
    )
    steps_at = "$.problem.steps" if "steps" in data else "$.problem.epochs"
    found = {
        "steps": (steps_at, steps_of(data), "training steps"),
        "layers": ("$.problem.layers", len(data["layers"]), "layers"),
        "parameters": ("$.problem.layers", parameters, "weights and biases"),
    }
    for name, (where, count, what) in found.items():
        limit = getattr(limits, name)
        if count > limit:
            message = f"expected at most {limit} {what}, found {count} ({limits.raised_by(name)})"
            errors.append(InputError(path, where, message))
    return errors


# --- the Problem ------------------------------------------------------------------------


def _layer(layer: dict[str, Any]) -> Layer:
    bias = layer.get("bias", {"kind": "none"})
    rate = layer.get("learning_rate")
    return Layer(
        weights=tuple(tuple(float(w) for w in row) for row in layer["weights"]),
        activation=layer["activation"],
        bias_kind=bias["kind"],
        bias=tuple(float(b) for b in bias.get("values", [])),
        bias_trainable=bias.get("trainable", True),
        slope=float(layer.get("slope", 0.01)),
        alpha=float(layer.get("alpha", 1.0)),
        learning_rate=None if rate is None else float(rate),
    )


def _batch(data: dict[str, Any]) -> dict[str, Any]:
    """The Problem's batch fields: an integer batch is a mini-batch, its order 0-based."""
    batch = data.get("batch", "full")
    if isinstance(batch, str):
        return {"batch": batch}
    order = tuple(s - 1 for s in data.get("sample_order", ()))
    return {"batch": "mini", "batch_size": int(batch), "sample_order": order}


def build_problem(data: dict[str, Any]) -> Problem:
    """The Problem of a ``problem`` object :func:`problem_errors` found nothing wrong with.

    An objective is the model's loss ``output``, with targets of zeros (they mean
    nothing there); a missing learning rate is 0.0, used by nothing (no step, or
    every layer has its own).
    """
    layers = tuple(_layer(layer) for layer in data["layers"])
    inputs = tuple(tuple(float(x) for x in row) for row in data["inputs"])
    objective = objective_output(data)
    if objective:
        targets = tuple(tuple(0.0 for _ in range(layers[-1].size)) for _ in inputs)
    else:
        targets = tuple(tuple(float(t) for t in row) for row in data["targets"])
    return Problem(
        layers=layers,
        inputs=inputs,
        targets=targets,
        loss="output" if objective else data["loss"],
        learning_rate=float(data.get("learning_rate", 0.0)),
        steps=steps_of(data),
        update_order=data.get("update_order", "simultaneous"),
        objective=objective,
        momentum=float(data.get("momentum", 0.0)),
        nesterov=bool(data.get("nesterov", False)),
        weight_decay=float(data.get("weight_decay", 0.0)),
        precision=data.get("precision", "float64"),
        **_batch(data),
    )


# --- meaning: what the schema cannot check ----------------------------------------------


class _Errors:
    """Collects one line per problem of one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[InputError] = []

    def add(self, location: str, message: str) -> None:
        self.lines.append(InputError(self.path, location, message))


def problem_errors(path: str, data: dict[str, Any]) -> list[InputError]:
    """Fields that must go together, shapes that must fit, a rate wherever something trains."""
    errors = _Errors(path)
    _choice_errors(errors, data)
    _shape_errors(errors, data)
    _training_errors(errors, data)
    return errors.lines


def _choice_errors(errors: _Errors, data: dict[str, Any]) -> None:
    """Exactly one of loss and objective, and of steps and epochs; targets with a loss only."""
    for one, other, why in (
        ("loss", "objective", "a loss, or an objective with no loss"),
        ("steps", "epochs", "how long training lasts"),
    ):
        if one in data and other in data:
            errors.add(f"$.problem.{other}", f"expected {one!r} or {other!r}, not both ({why})")
        elif one not in data and other not in data:
            errors.add("$.problem", f"missing field: {one!r} (or {other!r}: {why})")
    if "loss" in data and "objective" in data:
        return  # which of the two is meant decides whether targets belong: said above
    if "objective" in data and "targets" in data:
        errors.add(
            "$.problem.targets",
            "expected no targets with an objective (the gradient of one output has no target)",
        )
    elif "loss" in data and "targets" not in data:
        errors.add("$.problem", "missing field: 'targets' (one row per sample, for the loss)")


def _shape_errors(errors: _Errors, data: dict[str, Any]) -> None:
    inputs, layers = data["inputs"], data["layers"]
    width = len(inputs[0])
    for s, row in enumerate(inputs):
        if len(row) != width:
            errors.add(
                f"$.problem.inputs[{s}]", f"expected {width} inputs like sample 0, found {len(row)}"
            )
    for index, layer in enumerate(layers):
        where = f"$.problem.layers[{index}]"
        size = len(layer["weights"])
        for j, row in enumerate(layer["weights"]):
            if len(row) != width:
                errors.add(
                    f"{where}.weights[{j}]",
                    f"expected {width} weights (one per neuron below), found {len(row)}",
                )
        _bias_errors(errors, where, layer.get("bias"), size)
        _activation_errors(errors, where, layer, last=index == len(layers) - 1)
        width = size
    _target_errors(errors, data, width)


def _activation_errors(errors: _Errors, where: str, layer: dict[str, Any], last: bool) -> None:
    activation = layer["activation"]
    if activation == "softmax" and not last:
        errors.add(f"{where}.activation", "expected softmax only on the output layer")
    for field, owner in (("slope", "leaky_relu"), ("alpha", "elu")):
        if field in layer and activation != owner:
            errors.add(
                f"{where}.{field}",
                f"expected {field!r} only with activation {owner!r}, found {activation!r}",
            )


def _target_errors(errors: _Errors, data: dict[str, Any], outputs: int) -> None:
    """Targets, one row per sample and one per output; an objective's output within them."""
    inputs, targets = data["inputs"], data.get("targets")
    if targets is not None and "objective" not in data:
        if len(targets) != len(inputs):
            errors.add(
                "$.problem.targets",
                f"expected {len(inputs)} rows (one per sample), found {len(targets)}",
            )
        for s, row in enumerate(targets):
            if len(row) != outputs:
                errors.add(
                    f"$.problem.targets[{s}]",
                    f"expected {outputs} targets (one per output), found {len(row)}",
                )
    k = objective_output(data)
    if k > outputs:
        errors.add(
            "$.problem.objective",
            f"expected an output from 1 to {outputs} ('output 1' to 'output {outputs}'), "
            f"found {data['objective']!r}",
        )


def _bias_errors(errors: _Errors, where: str, bias: dict[str, Any] | None, size: int) -> None:
    if bias is None:
        return
    count = {"none": 0, "shared": 1, "per_neuron": size}[bias["kind"]]
    values = bias.get("values", [])
    if len(values) != count:
        errors.add(
            f"{where}.bias.values",
            f"expected {count} bias value(s) for kind {bias['kind']!r}, found {len(values)}",
        )


def _training_errors(errors: _Errors, data: dict[str, Any]) -> None:
    """Batch and sample order, momentum and Nesterov, and a rate for every layer that trains."""
    samples = len(data["inputs"])
    batch = data.get("batch", "full")
    if isinstance(batch, int) and batch > samples:
        errors.add(
            "$.problem.batch",
            f"expected a mini-batch size from 1 to {samples} (the samples), found {batch}",
        )
    if "sample_order" in data:
        if not isinstance(batch, int):
            errors.add(
                "$.problem.sample_order",
                f"expected a sample order only with a mini-batch size (an integer batch), "
                f"found batch {batch!r}",
            )
        _order_errors(errors, data["sample_order"], samples)
    if data.get("nesterov") and not data.get("momentum"):
        errors.add(
            "$.problem.nesterov",
            "expected a momentum above 0 with nesterov (Nesterov's form of it)",
        )
    _rate_errors(errors, data)


def _order_errors(errors: _Errors, order: list[int], samples: int) -> None:
    """A 1-based permutation of the samples: each of 1..n once."""
    where = "$.problem.sample_order"
    if len(order) != samples:
        errors.add(where, f"expected every sample once: {samples} entries, found {len(order)}")
        return
    seen: set[int] = set()
    for index, sample in enumerate(order):
        if sample > samples:
            errors.add(
                f"{where}[{index}]", f"expected a sample from 1 to {samples}, found {sample}"
            )
        elif sample in seen:
            missing = sorted(set(range(1, samples + 1)) - set(order))
            errors.add(
                f"{where}[{index}]",
                f"expected every sample once, found {sample} again "
                f"(missing: {', '.join(map(str, missing))})",
            )
        seen.add(sample)


def _rate_errors(errors: _Errors, data: dict[str, Any]) -> None:
    if "learning_rate" in data or steps_of(data) == 0:
        return
    without = [
        f"layers[{i}]" for i, layer in enumerate(data["layers"]) if "learning_rate" not in layer
    ]
    if without:
        errors.add(
            "$.problem",
            f"missing field: 'learning_rate' ({', '.join(without)} train with no rate of their "
            "own; only a problem with no step, or a rate on every layer, needs none)",
        )
