"""The engine protocol's messages: what bpcheck sends an engine in any language, and reads back.

An external engine is a program that reads JSON lines on its standard input and
answers with JSON lines on its standard output (docs/protocol.md).  This module
knows the messages only, not the process (that is :mod:`bpcheck.checking.external`):

* requests are built from a :class:`~bpcheck.model.problem.Problem`, written as a
  fixture writes its problem, every field given, numbers with the fewest digits
  that read back as the same float64;
* a reply is one line, read strictly (:func:`bpcheck.io.strict_json.parse`) and
  checked against ``bpcheck/io/schema/engine-replies-v1.schema.json`` before
  anything reads a field of it: a reply that breaks the schema is :class:`Garbage`,
  with the first thing wrong.

The trace in a reply is only checked for its JSON shape here; its steps and names
are checked against the problem by :func:`bpcheck.checking.traces.checked_trace`,
as every engine's trace is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

from bpcheck.model.problem import Layer, Problem
from bpcheck.model.quantities import Trace

PROTOCOL = 1
"""The protocol version this bpcheck speaks; an engine that answers another one is errored."""

REQUESTS_SCHEMA = "engine-requests-v1.schema.json"
REPLIES_SCHEMA = "engine-replies-v1.schema.json"

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
"""How a reply writes the values JSON has no number for."""

SHOWN = 120
"""Characters of a garbage line quoted in the reason."""


class Garbage(Exception):
    """A line on the engine's standard output that is not a valid reply; the message says why."""


@dataclass(frozen=True)
class Started:
    """The engine's answer to ``start``."""

    protocol: int
    name: str
    version: str
    capabilities: frozenset[str]


@dataclass(frozen=True)
class Refused:
    """``cannot run`` (``skipped``; ``error`` False) or ``error`` (``errored``), with the text."""

    text: str
    error: bool


def start_request() -> dict[str, Any]:
    return {"request": "start", "protocol": PROTOCOL}


def stop_request() -> dict[str, Any]:
    return {"request": "stop"}


def run_request(identifier: int, problem: Problem, record: Collection[int]) -> dict[str, Any]:
    """``run``: the problem as a fixture states it, and the steps to record, ascending."""
    return {
        "request": "run",
        "id": identifier,
        "problem": problem_document(problem),
        "record": sorted(set(record)),
    }


def problem_document(problem: Problem) -> dict[str, Any]:
    """``problem`` as the ``problem`` object of a fixture file, with every default written out.

    As a fixture writes them: an objective (``"output 2"``) instead of a loss and
    targets; a mini-batch as its size, with its 1-based ``sample_order``; a layer's
    ``slope`` or ``alpha`` with the activation that has one, its ``learning_rate``
    when it has its own.
    """
    document: dict[str, Any] = {"inputs": [list(row) for row in problem.inputs]}
    if problem.has_targets:
        document["targets"] = [list(row) for row in problem.targets]
    document["layers"] = [_layer_document(layer) for layer in problem.layers]
    if problem.has_targets:
        document["loss"] = problem.loss
    else:
        document["objective"] = f"output {problem.objective}"
    document.update(
        {
            "learning_rate": problem.learning_rate,
            "steps": problem.steps,
            **_batch_document(problem),
            "update_order": problem.update_order,
            "momentum": problem.momentum,
            "nesterov": problem.nesterov,
            "weight_decay": problem.weight_decay,
            "precision": problem.precision,
        }
    )
    return document


def _layer_document(layer: Layer) -> dict[str, Any]:
    document: dict[str, Any] = {
        "activation": layer.activation,
        "weights": [list(row) for row in layer.weights],
        "bias": {
            "kind": layer.bias_kind,
            "values": list(layer.bias),
            "trainable": layer.bias_trainable,
        },
    }
    if layer.activation == "leaky_relu":
        document["slope"] = layer.slope
    if layer.activation == "elu":
        document["alpha"] = layer.alpha
    if layer.learning_rate is not None:
        document["learning_rate"] = layer.learning_rate
    return document


def _batch_document(problem: Problem) -> dict[str, Any]:
    """``batch`` as a fixture writes it: a mode, or a mini-batch's size and 1-based order."""
    if problem.batch != "mini":
        return {"batch": problem.batch}
    order = problem.sample_order or tuple(range(problem.n_samples))
    return {"batch": problem.batch_size, "sample_order": [s + 1 for s in order]}


def encode(message: dict[str, Any]) -> bytes:
    """One line of JSON; float64s as ``repr`` writes them (round-trip exact), no NaN allowed."""
    return json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"


@cache
def _reply_schemas() -> dict[str, tuple[dict[str, Any], Any]]:
    """Per reply kind, the file's ``$defs`` entry (so errors name that message) and its validator.

    Built once: a validator compiles its schema's references on first use.
    """
    from bpcheck.io.schemas import load_schema  # jsonschema: only once an engine answers
    from bpcheck.io.validator import validator

    whole = load_schema(REPLIES_SCHEMA)
    kinds = ("started", "trace", "cannot run", "error")
    schemas = {kind: {"$defs": whole["$defs"], "$ref": f"#/$defs/{kind}"} for kind in kinds}
    return {kind: (schema, validator(schema)) for kind, schema in schemas.items()}


def parse_reply(line: bytes) -> dict[str, Any]:
    """A reply that satisfies the schema, or :class:`Garbage` saying what is wrong with it."""
    from bpcheck.io.schemas import first_problem
    from bpcheck.io.strict_json import UnreadableJson, parse

    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise Garbage(f"a line that is not UTF-8: {_shown(line)}") from None
    try:
        document = parse(text, "reply", non_finite=True)
    except UnreadableJson as error:
        raise Garbage(
            f"a line that is not JSON ({error.problem.message}): {_shown(line)}"
        ) from None
    if not isinstance(document, dict):
        raise Garbage(f"a reply that is not a JSON object: {_shown(line)}")
    kind = document.get("reply")
    schemas = _reply_schemas()
    if kind not in schemas:
        expected = ", ".join(json.dumps(k) for k in schemas)
        raise Garbage(f'a reply whose "reply" is not one of {expected}: {_shown(line)}')
    schema, checker = schemas[kind]
    problem = None if checker.is_valid(_envelope(document)) else first_problem(document, schema)
    if problem is not None:
        where, what = problem
        raise Garbage(f"a {kind!r} reply that breaks the protocol at {where}: {what}")
    return document


def _envelope(document: dict[str, Any]) -> dict[str, Any]:
    """A trace reply with each step's values left out when they are all plain values.

    The schema says a value is a number or one of :data:`NON_FINITE`'s strings;
    jsonschema takes some 20 µs to say so of each of a trace's thousands of values,
    this loop a fraction of one.  What it does not pass (or any other reply) is
    validated whole, so the error message is the schema's.
    """
    trace = document.get("trace")
    if document.get("reply") != "trace" or not isinstance(trace, dict):
        return document
    steps: dict[str, Any] = {}
    for step, values in trace.items():
        if not isinstance(values, dict) or not all(_plain(v) for v in values.values()):
            return document
        steps[step] = {}
    return {**document, "trace": steps}


def _plain(value: object) -> bool:
    if isinstance(value, str):
        return value in NON_FINITE
    return isinstance(value, int | float) and not isinstance(value, bool)


def started(reply: dict[str, Any]) -> Started | Refused:
    """What a reply to ``start`` says; :class:`Garbage` for a reply to another request."""
    if reply["reply"] == "started":
        return Started(
            protocol=reply["protocol"],
            name=reply["name"],
            version=reply["version"],
            capabilities=frozenset(reply["capabilities"]),
        )
    refused = _refused(reply)
    if refused is None:
        raise Garbage(f'a {reply["reply"]!r} reply to start; expected "started"')
    return refused


def ran(reply: dict[str, Any], identifier: int) -> Trace | Refused:
    """What a reply to ``run`` number ``identifier`` says: the trace, or why there is none."""
    if reply.get("id") != identifier:
        raise Garbage(
            f"a {reply['reply']!r} reply with id {reply.get('id')!r} to run {identifier}; "
            f"expected id {identifier}"
        )
    if reply["reply"] == "trace":
        return {int(step): _values(names) for step, names in reply["trace"].items()}
    refused = _refused(reply)
    if refused is None:
        raise Garbage(f'a {reply["reply"]!r} reply to run; expected "trace"')
    return refused


def _refused(reply: dict[str, Any]) -> Refused | None:
    if reply["reply"] == "cannot run":
        return Refused(reply["reason"], error=False)
    if reply["reply"] == "error":
        return Refused(reply["message"], error=True)
    return None


def _values(names: dict[str, Any]) -> dict[str, float]:
    """Floats; the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` as what they name.

    JSON has one kind of number: ``1`` is the float64 1.0 (JavaScript writes 1.0 so).
    """
    try:
        return {
            name: NON_FINITE[value] if isinstance(value, str) else float(value)
            for name, value in names.items()
        }
    except OverflowError:
        raise Garbage("a trace with an integer beyond float64") from None


def _shown(line: bytes) -> str:
    text = line.decode("utf-8", "replace").rstrip("\n")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return repr(text if len(text) <= SHOWN else text[: SHOWN - 3] + "...")
