"""Canonical quantity names: the one vocabulary every engine and fixture shares.

Names are positional and 1-based, like the tutorials: layer 0 is the input,
layer 1 the first layer of weights, layer ``L`` the output; neuron ``j`` of a
layer, source neuron ``i`` of the layer below, output ``k``, sample ``s``.

Per-sample quantities end in ``@s``; the rest belong to a training step:

==========================  ====================================================
``net[L,j]@s``              net input of neuron j of layer L
``out[L,j]@s``              its output (``out[0,i]@s`` is input i)
``dout_dnet[L,j]@s``        activation derivative d out / d net (softmax: diagonal)
``dE_dout[L,j]@s``          dE/d out
``delta[L,j]@s``            dE/d net (the node delta)
``E[k]@s``                  loss term of output k
``dE[k]_dout[L,j]@s``       d E[k]@s / d out[L,j]@s (one output's term only)
``dE[k]_dnet[L,j]@s``       d E[k]@s / d net[L,j]@s
``E``                       loss of the step's batch (sum of its terms)
``w[L,j,i]``                weight into neuron j of layer L from source i
``b[L,j]`` / ``b[L]``       bias per neuron / one shared bias of layer L
``dE_dw[L,j,i]``            gradient used for the update of w[L,j,i]
``dE_db[L,j]`` / ``dE_db[L]``  gradient of the bias (also when frozen)
==========================  ====================================================

Every quantity belongs to a step ``k``: computed with the parameters after
``k`` updates.  ``w[2,1,1]`` at step 1 is that weight after the first update.
A claim may write a per-sample name without ``@s``: it means sample 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bpcheck.model.problem import Problem, batch_of_step

Trace = dict[int, dict[str, float]]
"""What an engine returns: step -> canonical name -> value."""

NEURON_KINDS = ("net", "out", "dout_dnet", "dE_dout", "delta")

_NEURON = re.compile(r"^(net|out|dout_dnet|dE_dout|delta)\[(\d+),(\d+)\]$")
_TERM = re.compile(r"^E\[(\d+)\]$")
_TERM_PARTIAL = re.compile(r"^dE\[(\d+)\]_d(out|net)\[(\d+),(\d+)\]$")
_WEIGHT = re.compile(r"^(w|dE_dw)\[(\d+),(\d+),(\d+)\]$")
_BIAS = re.compile(r"^(b|dE_db)\[(\d+)(?:,(\d+))?\]$")


def neuron(kind: str, layer: int, j: int, sample: int) -> str:
    """``neuron("out", 1, 1, 1) == "out[1,1]@1"``: 1-based layer, neuron, sample."""
    return f"{kind}[{layer},{j}]@{sample}"


def term(k: int, sample: int) -> str:
    return f"E[{k}]@{sample}"


def term_partial(k: int, wrt: str, layer: int, j: int, sample: int) -> str:
    """``d E[k]@s / d wrt[layer,j]@s`` where ``wrt`` is ``"out"`` or ``"net"``."""
    return f"dE[{k}]_d{wrt}[{layer},{j}]@{sample}"


def weight(layer: int, j: int, i: int) -> str:
    return f"w[{layer},{j},{i}]"


def weight_grad(layer: int, j: int, i: int) -> str:
    return f"dE_dw[{layer},{j},{i}]"


def bias(layer: int, j: int | None) -> str:
    """Per-neuron bias ``b[L,j]``, or ``b[L]`` for one shared bias (``j=None``)."""
    return f"b[{layer}]" if j is None else f"b[{layer},{j}]"


def bias_grad(layer: int, j: int | None) -> str:
    return f"dE_db[{layer}]" if j is None else f"dE_db[{layer},{j}]"


LOSS = "E"


def split_sample(name: str) -> tuple[str, int | None]:
    """``"out[1,1]@2"`` -> ``("out[1,1]", 2)``; a name without ``@`` -> ``(name, None)``."""
    base, at, sample = name.partition("@")
    if not at:
        return name, None
    if not sample.isdigit():
        return name, -1
    return base, int(sample)


def is_per_sample(base: str) -> bool:
    return bool(_NEURON.match(base) or _TERM.match(base) or _TERM_PARTIAL.match(base))


def normalize(name: str) -> str:
    """Add the implicit ``@1`` to a per-sample name; leave others alone."""
    base, sample = split_sample(name)
    if sample is None and is_per_sample(base):
        return f"{base}@1"
    return name


def step_names(problem: Problem) -> Iterator[str]:
    """Every sample-independent name the problem has: loss, parameters, gradients."""
    yield LOSS
    for layer_number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                yield weight(layer_number, j, i)
                yield weight_grad(layer_number, j, i)
        if layer.bias_kind == "shared":
            yield bias(layer_number, None)
            yield bias_grad(layer_number, None)
        elif layer.bias_kind == "per_neuron":
            for j in range(1, layer.size + 1):
                yield bias(layer_number, j)
                yield bias_grad(layer_number, j)


def sample_names(problem: Problem, sample: int) -> Iterator[str]:
    """Every per-sample name for 1-based ``sample``."""
    for i in range(1, problem.n_inputs + 1):
        yield neuron("out", 0, i, sample)
    n_layers = len(problem.layers)
    for layer_number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for kind in NEURON_KINDS:
                yield neuron(kind, layer_number, j, sample)
            for k in range(1, problem.n_outputs + 1):
                yield term_partial(k, "out", layer_number, j, sample)
                yield term_partial(k, "net", layer_number, j, sample)
    for k in range(1, problem.layers[n_layers - 1].size + 1):
        yield term(k, sample)


def names_at_step(problem: Problem, step: int) -> list[str]:
    """Every name an engine must record at ``step``: the full trace of that step."""
    names = list(step_names(problem))
    for index in batch_of_step(problem, step):
        names.extend(sample_names(problem, index + 1))
    return names
