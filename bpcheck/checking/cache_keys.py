"""The trace cache's keys: what a kept step depends on, as digests (see :mod:`.cache`).

A key holds the engine (its name, class, version and a fingerprint of its code and of
the installed distributions), the whole problem but its step count, the step, and
whether an update follows it.  Every field of :class:`~bpcheck.model.problem.Problem`
is in its ``repr``, so a new field (momentum, precision, a sample order, a slope)
reaches the key without being listed here.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
from collections.abc import Collection, Iterator
from dataclasses import replace
from pathlib import Path

from bpcheck.model.problem import Problem

FORMAT = "1"
"""Bumped when the key or the files change meaning: older entries are then never read."""


def digest(*parts: object) -> str:
    """SHA-256 of the parts' ``repr`` (exact for floats, strings and tuples of them)."""
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


def problem_key(problem: Problem) -> str:
    """Everything of the problem but its step count (the step key says what follows)."""
    return digest(replace(problem, steps=0))


def step_key(engine: str, problem: str, step: int, update_follows: bool) -> str:
    return digest(FORMAT, engine, problem, step, update_follows)


def _files_under(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".py", ".json", ".toml")):
                yield Path(root) / name


def code_fingerprint(module: str) -> str:
    """A digest of the code behind ``module`` and of the environment it runs in.

    The files of the package that holds the module (all of them: the engine may
    import its neighbours), those of the problem model every engine reads, and the
    installed distributions with their versions.  Nothing is imported but the
    module's parent packages.
    """
    hasher = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
    parent = module.rpartition(".")[0] or module
    folders: list[Path] = []
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec(parent)
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(p) for p in spec.submodule_search_locations]
        elif spec is not None and spec.origin:
            hasher.update(Path(spec.origin).read_bytes())
    folders.append(Path(__file__).resolve().parent.parent / "model")
    for folder in folders:
        for path in _files_under(folder):
            hasher.update(str(path.relative_to(folder)).encode())
            with contextlib.suppress(OSError):
                hasher.update(path.read_bytes())
    hasher.update(installed_distributions().encode())
    return hasher.hexdigest()


def installed_distributions() -> str:
    """The ``name-version.dist-info`` folders on ``sys.path``: read from the listing only."""
    names: list[str] = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            names += [
                n for n in os.listdir(entry or ".") if n.endswith((".dist-info", ".egg-info"))
            ]
    return "\n".join(sorted(names))


def structure(problem: Problem, record: Collection[int]) -> tuple[object, ...]:
    """What problems run together share: everything but the numbers a run takes as data.

    Weights, biases, inputs, targets and rates may differ within a batch of runs;
    what decides the computation itself may not: the layers' kinds (an activation's
    slope or alpha among them, and whether a layer has its own rate), the loss or
    objective, the batches and their order, whether momentum (which kind) and weight
    decay are on, the precision.
    """
    layers = tuple(
        (
            layer.size,
            layer.fan_in,
            layer.activation,
            layer.bias_kind,
            layer.bias_trainable,
            layer.slope,
            layer.alpha,
            layer.learning_rate is None,
        )
        for layer in problem.layers
    )
    settings = (
        problem.loss,
        problem.objective,
        problem.batch,
        problem.batch_size,
        problem.sample_order,
        problem.update_order,
        problem.n_samples,
        problem.momentum != 0.0,
        problem.nesterov,
        problem.weight_decay != 0.0,
        problem.precision,
    )
    return (layers, settings, problem.steps, tuple(sorted(set(record))))
