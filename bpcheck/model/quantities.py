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

from bpcheck.model.problem import Layer, Problem, batch_of_step

Trace = dict[int, dict[str, float]]
"""What an engine returns: step -> canonical name -> value."""

NEURON_KINDS = ("net", "out", "dout_dnet", "dE_dout", "delta")

# Indices are ASCII digits ([0-9], never \d, which takes fullwidth digits) and every pattern is
# matched whole (fullmatch: "$" would also match before a final newline).  A name matches
# only as bpcheck writes it, so "out[1,01]" is no other spelling of "out[1,1]".
_INDEX = "(0|[1-9][0-9]{0,8})"
"""An index as bpcheck writes it: no sign, no leading zero, at most 9 digits."""
_NEURON = re.compile(rf"(net|out|dout_dnet|dE_dout|delta)\[{_INDEX},{_INDEX}\]")
_TERM = re.compile(rf"E\[{_INDEX}\]")
_TERM_PARTIAL = re.compile(rf"dE\[{_INDEX}\]_d(out|net)\[{_INDEX},{_INDEX}\]")
_WEIGHT = re.compile(rf"(w|dE_dw)\[{_INDEX},{_INDEX},{_INDEX}\]")
_BIAS = re.compile(rf"(b|dE_db)\[{_INDEX}(?:,{_INDEX})?\]")
_SAMPLE = re.compile(_INDEX)


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
    if not _SAMPLE.fullmatch(sample):
        return name, -1
    return base, int(sample)


def is_per_sample(base: str) -> bool:
    return any(p.fullmatch(base) for p in (_NEURON, _TERM, _TERM_PARTIAL))


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


def is_name_at_step(problem: Problem, name: str, step: int) -> bool:
    """Whether ``name`` is in ``names_at_step(problem, step)``, without listing them.

    The loader asks this of every claim and alias.  Listing the names would cost
    memory and time quadratic in a layer's width (a ``dE[k]_dout[L,j]`` per
    output and neuron, per sample); this reads the name's indices instead.
    ``tests/model`` checks that both agree.
    """
    base, sample = split_sample(name)
    if sample is None:
        return _is_step_name(problem, base)
    if sample < 1 or not _in_batch(problem, step, sample - 1):
        return False
    return _is_sample_name(problem, base)


def _layer(problem: Problem, number: int) -> Layer | None:
    return problem.layers[number - 1] if 1 <= number <= len(problem.layers) else None


def _in_batch(problem: Problem, step: int, index: int) -> bool:
    if problem.batch == "full":
        return index < problem.n_samples
    return index == step % problem.n_samples


def _is_step_name(problem: Problem, base: str) -> bool:
    if match := _WEIGHT.fullmatch(base):
        number, j, i = (int(g) for g in match.group(2, 3, 4))
        layer = _layer(problem, number)
        return layer is not None and 1 <= j <= layer.size and 1 <= i <= layer.fan_in
    if match := _BIAS.fullmatch(base):
        layer = _layer(problem, int(match.group(2)))
        if layer is None:
            return False
        if match.group(3) is None:
            return layer.bias_kind == "shared"
        return layer.bias_kind == "per_neuron" and 1 <= int(match.group(3)) <= layer.size
    return base == LOSS


def _is_sample_name(problem: Problem, base: str) -> bool:
    if match := _NEURON.fullmatch(base):
        kind, number, j = match.group(1), int(match.group(2)), int(match.group(3))
        if number == 0:
            return kind == "out" and 1 <= j <= problem.n_inputs
        layer = _layer(problem, number)
        return layer is not None and 1 <= j <= layer.size
    if match := _TERM.fullmatch(base):
        return 1 <= int(match.group(1)) <= problem.n_outputs
    if match := _TERM_PARTIAL.fullmatch(base):
        k, number, j = int(match.group(1)), int(match.group(3)), int(match.group(4))
        layer = _layer(problem, number)
        return 1 <= k <= problem.n_outputs and layer is not None and 1 <= j <= layer.size
    return False
