"""Writing fixtures: ``bpcheck new`` creates one, ``bpcheck claim`` adds printed numbers.

``new`` takes the network the way a tutorial states it (sizes, activations,
``w1 = 0.15, w2 = 0.20, ...`` in the tutorials' order) and writes a fixture with
the positional aliases a tutorial would use and no claims.  ``claim`` runs the
engines at once, so an author sees which of their numbers are wrong while the
document is still open beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bpcheck.checking import registry
from bpcheck.checking.check import check_fixture
from bpcheck.io.loader import SCHEMA_NAME, FixtureError, load, problem_errors, schema_errors
from bpcheck.model.problem import ACTIVATIONS, LOSSES

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class BadOption(Exception):
    """A user's option that cannot be used; the message is the one line shown."""


# --- naming like a tutorial -----------------------------------------------------------


def neuron_prefix(layer: int, n_layers: int) -> str:
    """``i`` for inputs, ``o`` for outputs, ``h`` for one hidden layer, ``h2_`` for several."""
    if layer == 0:
        return "i"
    if layer == n_layers:
        return "o"
    return "h" if n_layers == 2 else f"h{layer}_"


def tutorial_aliases(sizes: list[int], bias_kind: str) -> dict[str, str]:
    """``w1, w2, ...`` numbered layer by layer, neuron by neuron, source by source
    (Mazur's and Babin's order), neurons as ``i1``, ``h1``, ``o1``, and the loss terms."""
    n_layers = len(sizes) - 1
    aliases: dict[str, str] = {}
    for i in range(1, sizes[0] + 1):
        aliases[f"i{i}"] = f"out[0,{i}]"
    number = 0
    for layer in range(1, n_layers + 1):
        prefix = neuron_prefix(layer, n_layers)
        for j in range(1, sizes[layer] + 1):
            aliases[f"net_{prefix}{j}"] = f"net[{layer},{j}]"
            aliases[f"out_{prefix}{j}"] = f"out[{layer},{j}]"
            aliases[f"delta_{prefix}{j}"] = f"delta[{layer},{j}]"
            for i in range(1, sizes[layer - 1] + 1):
                number += 1
                aliases[f"w{number}"] = f"w[{layer},{j},{i}]"
                aliases[f"dE_dw{number}"] = f"dE_dw[{layer},{j},{i}]"
    aliases.update(bias_aliases(sizes, bias_kind))
    for k in range(1, sizes[-1] + 1):
        aliases[f"E_o{k}"] = f"E[{k}]"
    aliases["E_total"] = "E"
    return aliases


def bias_aliases(sizes: list[int], bias_kind: str) -> dict[str, str]:
    aliases: dict[str, str] = {}
    if bias_kind == "shared":
        for layer in range(1, len(sizes)):
            aliases[f"b{layer}"] = f"b[{layer}]"
    elif bias_kind == "per_neuron":
        number = 0
        for layer in range(1, len(sizes)):
            for j in range(1, sizes[layer] + 1):
                number += 1
                aliases[f"b{number}"] = f"b[{layer},{j}]"
    return aliases


# --- parsing options --------------------------------------------------------------------


def numbers(text: str, what: str) -> list[float]:
    """``"0.15, 0.2"`` -> [0.15, 0.2]: a comma-separated list of decimal numbers."""
    try:
        values = [float(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise BadOption(f"--{what}: expected comma-separated numbers, found {text!r}") from None
    if not values:
        raise BadOption(f"--{what}: expected at least one number")
    return values


def rows(text: str, width: int, what: str) -> list[list[float]]:
    """Samples separated by ``;``, each a comma-separated row of ``width`` numbers."""
    out = [numbers(part, what) for part in text.split(";") if part.strip()]
    for index, row in enumerate(out):
        if len(row) != width:
            raise BadOption(f"--{what}: sample {index + 1} has {len(row)} values, expected {width}")
    return out


def per_layer(text: str, n_layers: int, choices: tuple[str, ...], what: str) -> list[str]:
    """One name for every layer, or one per layer of weights."""
    names = [part.strip() for part in text.split(",")]
    if len(names) == 1:
        names = names * n_layers
    if len(names) != n_layers:
        raise BadOption(f"--{what}: expected 1 or {n_layers} names, found {len(names)}")
    for name in names:
        if name not in choices:
            raise BadOption(f"--{what}: unknown {name!r}; expected one of {', '.join(choices)}")
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


# --- bpcheck new ----------------------------------------------------------------------------


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
DEFAULTS = {
    "activations": "sigmoid",
    "bias": "none",
    "loss": "half_sse",
    "learning_rate": "0.5",
    "biases": "",
}


def answers(args: argparse.Namespace, ask: Callable[[str], str] | None) -> dict[str, str]:
    """Every option's text: given, asked at a prompt, or a default; else a BadOption."""
    out: dict[str, str] = {}
    for key, question in QUESTIONS.items():
        value = getattr(args, key)
        if value is None and ask is not None:
            default = DEFAULTS.get(key)
            suffix = f" [{default}]" if default is not None else ""
            value = ask(f"{question}{suffix}: ").strip() or default
        if value is None:
            value = DEFAULTS.get(key)
        if value is None:
            raise BadOption(f"--{key.replace('_', '-')}: missing ({question})")
        out[key] = value
    return out


def build_document(path: Path, text: dict[str, str], fixture_id: str, title: str) -> dict[str, Any]:
    try:
        sizes = [int(s) for s in text["sizes"].split(",")]
    except ValueError:
        raise BadOption(
            f"--sizes: expected whole numbers like 2,2,2, found {text['sizes']!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise BadOption("--sizes: expected at least two sizes of 1 or more (inputs, outputs)")
    n_layers = len(sizes) - 1
    activations = per_layer(text["activations"], n_layers, ACTIVATIONS, "activations")
    if text["bias"] not in ("none", "shared", "per_neuron"):
        raise BadOption(f"--bias: unknown {text['bias']!r}; expected none, shared or per_neuron")
    if text["loss"] not in LOSSES:
        raise BadOption(f"--loss: unknown {text['loss']!r}; expected one of {', '.join(LOSSES)}")
    weights = numbers(text["weights"], "weights")
    expected = sum(sizes[k] * sizes[k + 1] for k in range(n_layers))
    if len(weights) != expected:
        raise BadOption(
            f"--weights: expected {expected} values (w1..w{expected}), found {len(weights)}"
        )
    layers = layer_documents(sizes, activations, weights, text)
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
            "learning_rate": numbers(text["learning_rate"], "learning-rate")[0],
            "steps": int(text.get("steps", "1")),
        },
        "aliases": tutorial_aliases(sizes, text["bias"]),
        "claims": [],
    }


def layer_documents(
    sizes: list[int], activations: list[str], weights: list[float], text: dict[str, str]
) -> list[dict[str, Any]]:
    kind = text["bias"]
    counts = [0 if kind == "none" else 1 if kind == "shared" else size for size in sizes[1:]]
    biases = numbers(text["biases"], "biases") if text["biases"].strip() else []
    if kind != "none" and len(biases) != sum(counts):
        raise BadOption(
            f"--biases: expected {sum(counts)} values for bias {kind!r}, found {len(biases)}"
        )
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


NUMBER_LIST = re.compile(r"(?<![\w\]])\[\s*(-?[0-9.eE+-]+(?:,\s*-?[0-9.eE+-]+)*)\s*\]")
NUMBER_ROWS = re.compile(r"(?<![\w\]])\[\s*(\[[^\[\]]*\](?:,\s*\[[^\[\]]*\])*)\s*\]")


def dumps_fixture(document: dict[str, Any]) -> str:
    """Indented JSON with each row of numbers, and each small matrix, on one line."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    text = NUMBER_LIST.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    text = NUMBER_ROWS.sub(
        lambda m: "[" + ", ".join(re.split(r"(?<=\]),\s*", m.group(1))) + "]", text
    )
    return text + "\n"


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(dumps_fixture(document), "utf-8")


def cmd_new(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists():
        print(f"{path}: $: refusing to overwrite an existing file", file=sys.stderr)
        return EXIT_BAD_INPUT
    ask = input if args.ask or (args.ask is None and sys.stdin.isatty()) else None
    try:
        text = answers(args, ask)
        text["steps"] = str(args.steps)
        fixture_id = args.id or path.stem
        document = build_document(path, text, fixture_id, args.title or fixture_id)
    except BadOption as error:
        print(f"{path}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    problems = schema_errors(str(path), document) or problem_errors(str(path), document["problem"])
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return EXIT_BAD_INPUT
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, document)
    names = ", ".join(k for k in document["aliases"] if k.startswith(("w", "b")))
    print(f"{path}: written with aliases {names} (and i/h/o, net_/out_/delta_, E_o, E_total)")
    return EXIT_OK


# --- bpcheck claim ----------------------------------------------------------------------------


def parse_assignment(text: str) -> tuple[str, str]:
    name, sep, printed = text.partition("=")
    if not sep or not name.strip() or not printed.strip():
        raise BadOption(f"expected NAME=PRINTED (e.g. w5=0.35891648), found {text!r}")
    return name.strip(), printed.strip()


def unique_id(wanted: str, taken: set[str], step: int) -> str:
    base = wanted if step == 0 else f"{wanted}-after-{step}"
    base = "".join(ch if ch.isalnum() or ch in "_.'-" else "-" for ch in base)
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def cmd_claim(args: argparse.Namespace) -> int:
    path = Path(args.fixture)
    try:
        load(path)
        document = json.loads(path.read_text("utf-8"))
        pairs = [parse_assignment(a) for a in args.assignments]
    except FixtureError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadOption as error:
        print(f"{path}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    taken = {c["id"] for c in document["claims"]}
    new_claims = []
    for name, printed in pairs:
        claim = {"id": unique_id(name, taken, args.step), "quantity": name, "step": args.step}
        claim.update({"printed": printed, "where": args.where, "expect": "match"})
        taken.add(claim["id"])
        new_claims.append(claim)
    return judge_and_store(path, document, new_claims)


def judge_and_store(path: Path, document: dict[str, Any], new_claims: list[dict[str, Any]]) -> int:
    """Validate the fixture with the new claims, run the engines, store the verdicts found."""
    trial = dict(document, claims=[*document["claims"], *new_claims])
    scratch = path.with_name(f".{path.name}.claim-trial")
    write_json(scratch, trial)
    try:
        fixture = load(scratch)
    except FixtureError as error:
        for line in error.errors:
            print(f"{path}: {line.location}: {line.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        scratch.unlink()
    results = check_fixture(fixture, registry.all_engines())
    found = {r.claim.id: r for r in results.claims}
    for claim in new_claims:
        result = found[claim["id"]]
        if result.verdict is None:
            print(
                f"{path}: {claim['id']}: no engine could compute it ({result.message})",
                file=sys.stderr,
            )
            return EXIT_FAILED
        claim["expect"] = result.verdict
        if result.verdict != "match":
            claim["note"] = (
                f"bpcheck claim found {result.reference!r}: investigate (typo? truncation? "
                "another reading?) and replace this note with the cause."
            )
        value = f"{result.reference:.17g}"
        print(f"{claim['quantity']} = {value}, printed {claim['printed']}: {result.verdict}")
    write_json(path, trial)
    if results.disagreements:
        print(
            f"{path}: engines disagree on {len(results.disagreements)} quantities", file=sys.stderr
        )
        return EXIT_FAILED
    return EXIT_OK


# --- registration -------------------------------------------------------------------------------


def register(commands: Any) -> None:
    new = commands.add_parser("new", help="create a fixture from a short description")
    new.add_argument("path", help="the fixture file to create (refuses to overwrite)")
    new.add_argument("--id", help="slug id (default: the file name)")
    new.add_argument("--title", help="title (default: the id)")
    new.add_argument("--steps", default="1", help="training steps (default 1)")
    for key, question in QUESTIONS.items():
        new.add_argument(f"--{key.replace('_', '-')}", dest=key, help=question)
    new.add_argument(
        "--ask",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="prompt for missing answers (default: when standard input is a terminal)",
    )
    new.set_defaults(handler=cmd_new)
    claim = commands.add_parser(
        "claim", help="add printed numbers as claims, with the verdicts found"
    )
    claim.add_argument("fixture", help="the fixture file")
    claim.add_argument("assignments", nargs="+", metavar="NAME=PRINTED", help="e.g. w5=0.35891648")
    claim.add_argument("--where", default="", help="where the numbers are printed")
    claim.add_argument("--step", type=int, default=0, help="after this many updates (default 0)")
    claim.set_defaults(handler=cmd_claim)
