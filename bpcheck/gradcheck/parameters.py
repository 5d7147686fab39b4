"""Parameters of any shape as one float64 vector, and back: what a function's gradient check needs.

A user's function takes its parameters as they come: a NumPy array, a JAX array,
a torch tensor, a float, or nested lists, tuples and dicts of them.  A finite
difference moves one number at a time, so :func:`flatten` lays every number out
in one float64 vector θ with a name each (``w[0,1]``, ``layers[1].b[2]``), and
:meth:`Layout.rebuild` makes a structure of the same kinds from any vector, to
call the function with.  Nothing here imports JAX or torch: a leaf is recognised
by its type's module, and rebuilt with the module it came from.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = Any  # numpy.ndarray of float64


@dataclass(frozen=True)
class Leaf:
    """One array (or number) of the structure: where it sits, its kind, shape and place in θ."""

    path: str
    kind: str
    """``float``, ``numpy``, ``jax`` or ``torch``."""
    shape: tuple[int, ...]
    start: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


def kind_of(value: object) -> str | None:
    """The kind of a leaf, or None when ``value`` is a container (or not a number at all)."""
    module = type(value).__module__.partition(".")[0]
    if module == "torch":
        return "torch"
    if module in ("jax", "jaxlib"):
        return "jax"
    if isinstance(value, np.ndarray | np.floating | np.integer):
        return "numpy"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return "float"
    return None


@dataclass(frozen=True)
class Layout:
    """Where each number of a structure of parameters sits in θ; rebuilds the structure."""

    template: Any
    """The structure with each leaf replaced by its index in :attr:`leaves`."""
    leaves: tuple[Leaf, ...]
    size: int

    def names(self) -> list[str]:
        """A name per number: the leaf's path and, for an array, its index (``w[0,1]``)."""
        names = []
        for leaf in self.leaves:
            if not leaf.shape:
                names.append(leaf.path or "θ")
                continue
            for index in np.ndindex(*leaf.shape):
                names.append(f"{leaf.path}[{','.join(str(i) for i in index)}]")
        return names

    def rebuild(self, theta: Array) -> Any:
        """The parameters' structure, each leaf of its own kind, holding ``theta``'s numbers."""
        made = [_make(leaf, theta[leaf.start : leaf.start + leaf.size]) for leaf in self.leaves]
        return _fill(self.template, made)

    def vector(self, structure: Any, what: str = "the gradient") -> Array:
        """``structure`` (laid out like the parameters) as one float64 vector; ValueError if not."""
        leaves: list[tuple[str, Any]] = list(_leaves(structure, ""))
        if len(leaves) != len(self.leaves):
            raise ValueError(
                f"{what} has {len(leaves)} arrays; expected {len(self.leaves)}, like the parameters"
            )
        parts = []
        for (path, value), leaf in zip(leaves, self.leaves, strict=True):
            array = as_float64(value)
            if array.shape != leaf.shape:
                raise ValueError(
                    f"{what} at {path or 'the top'} has shape {array.shape}; expected {leaf.shape}"
                )
            parts.append(array.reshape(-1))
        return np.concatenate(parts) if parts else np.zeros(0)


def flatten(params: Any) -> tuple[Layout, Array]:
    """The layout of ``params`` and its numbers as one float64 vector θ."""
    leaves: list[Leaf] = []
    parts: list[Array] = []
    start = 0

    def visit(path: str, value: Any) -> int:
        nonlocal start
        kind = kind_of(value)
        if kind is None:
            raise ValueError(
                f"parameters at {path or 'the top'}: expected arrays, tensors, floats, or lists, "
                f"tuples and dicts of them; found {type(value).__name__}"
            )
        _check_float64(kind, value, path)
        array = as_float64(value)
        leaves.append(Leaf(path, kind, tuple(array.shape), start))
        parts.append(array.reshape(-1))
        start += array.size
        return len(leaves) - 1

    template = _map(params, "", visit)
    theta = np.concatenate(parts) if parts else np.zeros(0)
    return Layout(template, tuple(leaves), start), theta


def as_float64(value: Any) -> Array:
    """Any leaf as a float64 NumPy array (a torch tensor is detached and copied)."""
    if kind_of(value) == "torch":
        value = value.detach().cpu().double().numpy()
    return np.array(value, dtype=np.float64)


def _check_float64(kind: str, value: Any, path: str) -> None:
    """JAX makes float32 arrays unless x64 is on: a float64 check cannot rebuild its arrays."""
    if kind != "jax":
        return
    jax = sys.modules.get("jax")
    if jax is not None and not jax.config.jax_enable_x64:
        raise ValueError(
            f"parameters at {path or 'the top'}: JAX arrays are float32 unless x64 is on; "
            'expected jax.config.update("jax_enable_x64", True) before the check'
        )


def _make(leaf: Leaf, numbers: Array) -> Any:
    values = numbers.reshape(leaf.shape).copy()
    if leaf.kind == "torch":
        import torch

        return torch.tensor(values, dtype=torch.float64)
    if leaf.kind == "jax":
        import jax.numpy as jnp

        return jnp.asarray(values, dtype=jnp.float64)
    if leaf.kind == "float":
        return float(values)
    return values


def _map(structure: Any, path: str, leaf: Callable[[str, Any], Any]) -> Any:
    if isinstance(structure, dict):
        return {key: _map(value, _join(path, key), leaf) for key, value in structure.items()}
    if isinstance(structure, list | tuple):
        mapped = [_map(value, f"{path}[{i}]", leaf) for i, value in enumerate(structure)]
        return mapped if isinstance(structure, list) else tuple(mapped)
    return leaf(path, structure)


def _leaves(structure: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(structure, dict):
        for key, value in structure.items():
            yield from _leaves(value, _join(path, key))
    elif isinstance(structure, list | tuple):
        for i, value in enumerate(structure):
            yield from _leaves(value, f"{path}[{i}]")
    else:
        yield path, structure


def _fill(template: Any, made: list[Any]) -> Any:
    if isinstance(template, dict):
        return {key: _fill(value, made) for key, value in template.items()}
    if isinstance(template, list | tuple):
        filled = [_fill(value, made) for value in template]
        return filled if isinstance(template, list) else tuple(filled)
    return made[template]


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)
