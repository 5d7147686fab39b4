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
``dE_dout[0,i]@s``          dE/d input i (the gradient with respect to the inputs)
``E@s``                     loss of sample s alone (the sum of its terms)
``dE_dw[L,j,i]@s``          sample s's own gradient, before summing over the batch
``dE_db[L,j]@s`` / ``dE_db[L]@s``  likewise for a bias (weight decay not included)
``net_term[L,j,i]@s``       one term of a net input: w[L,j,i] * out[L-1,i]@s
``weighted_sum[L,j]@s``     the net input without its bias: the sum of its terms
``error[k]@s``              t - o of output k (no name when the loss has no targets)
``error_term[L,j]@s``       -delta[L,j]@s: the delta of texts that write the error t - o
``dw[L,j,i]``               the change the update at this step applies to w[L,j,i]
``db[L,j]`` / ``db[L]``     likewise for a trainable bias
``E_change``                E at the next step minus E at this one
==========================  ====================================================

``dw``, ``db`` and ``E_change`` exist at steps before the last (an update follows).
``E_change`` is the one name engines do not return: bpcheck subtracts an engine's
own ``E`` at two steps (:data:`DERIVED`).

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
EXTRA_NEURON_KINDS = ("weighted_sum", "error_term")
"""Per-neuron names of the extended vocabulary (engines with ``quantity:extended``)."""

E_CHANGE = "E_change"
DERIVED = frozenset([E_CHANGE])
"""Names bpcheck computes from an engine's own values at two steps, never asked of engines."""

# Indices are ASCII digits ([0-9], never \d, which takes fullwidth digits) and every pattern is
# matched whole (fullmatch: "$" would also match before a final newline).  A name matches
# only as bpcheck writes it, so "out[1,01]" is no other spelling of "out[1,1]".
_INDEX = "(0|[1-9][0-9]{0,8})"
"""An index as bpcheck writes it: no sign, no leading zero, at most 9 digits."""
_NEURON = re.compile(
    rf"(net|out|dout_dnet|dE_dout|delta|weighted_sum|error_term)\[{_INDEX},{_INDEX}\]"
)
_ERROR = re.compile(rf"error\[{_INDEX}\]")
_NET_TERM = re.compile(rf"net_term\[{_INDEX},{_INDEX},{_INDEX}\]")
_CHANGE_W = re.compile(rf"dw\[{_INDEX},{_INDEX},{_INDEX}\]")
_CHANGE_B = re.compile(rf"db\[{_INDEX}(?:,{_INDEX})?\]")
_SAMPLE_GRADIENT = re.compile(
    rf"dE_dw\[{_INDEX},{_INDEX},{_INDEX}\]|dE_db\[{_INDEX}(?:,{_INDEX})?\]"
)
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


def weight_change(layer: int, j: int, i: int) -> str:
    """``dw[L,j,i]``: what the update at this step adds to the weight."""
    return f"dw[{layer},{j},{i}]"


def bias_change(layer: int, j: int | None) -> str:
    return f"db[{layer}]" if j is None else f"db[{layer},{j}]"


def sample_loss(sample: int) -> str:
    """``E@s``: the loss of one sample of the batch."""
    return f"E@{sample}"


def at_sample(name: str, sample: int) -> str:
    """``at_sample("dE_dw[1,1,1]", 2) == "dE_dw[1,1,1]@2"``: sample 2's own part of it."""
    return f"{name}@{sample}"


def net_term(layer: int, j: int, i: int, sample: int) -> str:
    """``w[L,j,i] * out[L-1,i]@s``: one term of a net input."""
    return f"net_term[{layer},{j},{i}]@{sample}"


def output_error(k: int, sample: int) -> str:
    """``t - o`` of output k."""
    return f"error[{k}]@{sample}"


LOSS = "E"

EXTENDED = "quantity:extended"
"""The capability of an engine that records the extended names (``dE_dout[0,i]``, ``E@s``,
per-sample gradients, ``net_term``, ``weighted_sum``, ``error``, ``error_term``, ``dw``,
``db``); a claim on one of them skips an engine without it, with that reason."""


def split_sample(name: str) -> tuple[str, int | None]:
    """``"out[1,1]@2"`` -> ``("out[1,1]", 2)``; a name without ``@`` -> ``(name, None)``."""
    base, at, sample = name.partition("@")
    if not at:
        return name, None
    if not _SAMPLE.fullmatch(sample):
        return name, -1
    return base, int(sample)


def is_per_sample(base: str) -> bool:
    """Whether a name without ``@`` is per-sample (``E`` and ``dE_dw[...]`` are step names)."""
    return any(p.fullmatch(base) for p in (_NEURON, _TERM, _TERM_PARTIAL, _ERROR, _NET_TERM))


def normalize(name: str) -> str:
    """Add the implicit ``@1`` to a per-sample name; leave others alone."""
    base, sample = split_sample(name)
    if sample is None and is_per_sample(base):
        return f"{base}@1"
    return name


def is_extended(name: str) -> bool:
    """Whether a canonical name needs an engine with :data:`EXTENDED` (``E_change`` does not)."""
    base, sample = split_sample(name)
    if sample is None:
        return bool(_CHANGE_W.fullmatch(base) or _CHANGE_B.fullmatch(base))
    if base == LOSS or _SAMPLE_GRADIENT.fullmatch(base) or _ERROR.fullmatch(base):
        return True
    if _NET_TERM.fullmatch(base):
        return True
    match = _NEURON.fullmatch(base)
    if match is None:
        return False
    kind, layer = match.group(1), match.group(2)
    return kind in EXTRA_NEURON_KINDS or (kind == "dE_dout" and layer == "0")  # out[0,i]: old


def updates_at(problem: Problem, step: int) -> bool:
    """Whether an update follows ``step``: where ``dw``, ``db`` and ``E_change`` exist."""
    return step < problem.steps


def _parameters(problem: Problem) -> Iterator[tuple[str, str, str | None]]:
    """(parameter, gradient, change) names of every weight and bias; a frozen bias has no change."""
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                yield weight(number, j, i), weight_grad(number, j, i), weight_change(number, j, i)
        biases: list[int | None] = []
        if layer.bias_kind == "shared":
            biases = [None]
        elif layer.bias_kind == "per_neuron":
            biases = list(range(1, layer.size + 1))
        for j_or_none in biases:
            change = bias_change(number, j_or_none) if layer.bias_trainable else None
            yield bias(number, j_or_none), bias_grad(number, j_or_none), change


def step_names(
    problem: Problem, *, extended: bool = False, updating: bool = False
) -> Iterator[str]:
    """Every sample-independent name: loss, parameters, gradients (and changes, if extended)."""
    yield LOSS
    for parameter, gradient, change in _parameters(problem):
        yield parameter
        yield gradient
        if extended and updating and change:
            yield change


def sample_names(problem: Problem, sample: int, *, extended: bool = False) -> Iterator[str]:
    """Every per-sample name for 1-based ``sample`` (the extended ones too, if asked)."""
    for i in range(1, problem.n_inputs + 1):
        yield neuron("out", 0, i, sample)
        if extended:
            yield neuron("dE_dout", 0, i, sample)
    kinds = NEURON_KINDS + EXTRA_NEURON_KINDS if extended else NEURON_KINDS
    for layer_number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for kind in kinds:
                yield neuron(kind, layer_number, j, sample)
            for k in range(1, problem.n_outputs + 1):
                yield term_partial(k, "out", layer_number, j, sample)
                yield term_partial(k, "net", layer_number, j, sample)
            if extended:
                for i in range(1, layer.fan_in + 1):
                    yield net_term(layer_number, j, i, sample)
    for k in range(1, problem.n_outputs + 1):
        yield term(k, sample)
        if extended and problem.has_targets:
            yield output_error(k, sample)
    if extended:
        yield sample_loss(sample)
        for _, gradient, _ in _parameters(problem):
            yield at_sample(gradient, sample)


def names_at_step(problem: Problem, step: int, *, extended: bool = True) -> list[str]:
    """Every name an engine must record at ``step``: the full trace of that step.

    ``extended``: with the names of :data:`EXTENDED` (an engine without that
    capability records the others only).  Never the :data:`DERIVED` names.
    """
    names = list(step_names(problem, extended=extended, updating=updates_at(problem, step)))
    for index in batch_of_step(problem, step):
        names.extend(sample_names(problem, index + 1, extended=extended))
    return names


def is_name_at_step(problem: Problem, name: str, step: int) -> bool:
    """Whether ``name`` is in ``names_at_step(problem, step)`` or derived there, without listing.

    The loader asks this of every claim and alias.  Listing the names would cost
    memory and time quadratic in a layer's width (a ``dE[k]_dout[L,j]`` per
    output and neuron, per sample); this reads the name's indices instead.
    ``tests/model`` checks that both agree.
    """
    base, sample = split_sample(name)
    if sample is None:
        return _is_step_name(problem, base, updates_at(problem, step))
    if sample < 1 or sample - 1 not in batch_of_step(problem, step):
        return False
    return _is_sample_name(problem, base)


def _layer(problem: Problem, number: int) -> Layer | None:
    return problem.layers[number - 1] if 1 <= number <= len(problem.layers) else None


def _is_weight(problem: Problem, number: int, j: int, i: int) -> bool:
    layer = _layer(problem, number)
    return layer is not None and 1 <= j <= layer.size and 1 <= i <= layer.fan_in


def _is_bias(problem: Problem, number: int, j: str | None) -> bool:
    layer = _layer(problem, number)
    if layer is None:
        return False
    if j is None:
        return layer.bias_kind == "shared"
    return layer.bias_kind == "per_neuron" and 1 <= int(j) <= layer.size


def _is_step_name(problem: Problem, base: str, updating: bool) -> bool:
    if match := _WEIGHT.fullmatch(base):
        return _is_weight(problem, *(int(g) for g in match.group(2, 3, 4)))
    if match := _BIAS.fullmatch(base):
        return _is_bias(problem, int(match.group(2)), match.group(3))
    if not updating:
        return base == LOSS
    if match := _CHANGE_W.fullmatch(base):
        return _is_weight(problem, *(int(g) for g in match.group(1, 2, 3)))
    if match := _CHANGE_B.fullmatch(base):
        layer = _layer(problem, int(match.group(1)))
        trainable = layer is not None and layer.bias_trainable
        return trainable and _is_bias(problem, int(match.group(1)), match.group(2))
    return base in (LOSS, E_CHANGE)


def _is_sample_name(problem: Problem, base: str) -> bool:
    if base == LOSS:
        return True
    if match := _NEURON.fullmatch(base):
        kind, number, j = match.group(1), int(match.group(2)), int(match.group(3))
        if number == 0:
            return kind in ("out", "dE_dout") and 1 <= j <= problem.n_inputs
        layer = _layer(problem, number)
        return layer is not None and 1 <= j <= layer.size
    if match := _TERM.fullmatch(base):
        return 1 <= int(match.group(1)) <= problem.n_outputs
    if match := _ERROR.fullmatch(base):
        return problem.has_targets and 1 <= int(match.group(1)) <= problem.n_outputs
    if match := _TERM_PARTIAL.fullmatch(base):
        k, number, j = int(match.group(1)), int(match.group(3)), int(match.group(4))
        layer = _layer(problem, number)
        return 1 <= k <= problem.n_outputs and layer is not None and 1 <= j <= layer.size
    if match := _NET_TERM.fullmatch(base):
        return _is_weight(problem, *(int(g) for g in match.group(1, 2, 3)))
    if match := _WEIGHT.fullmatch(base):
        return match.group(1) == "dE_dw" and _is_weight(
            problem, *(int(g) for g in match.group(2, 3, 4))
        )
    if match := _BIAS.fullmatch(base):
        return match.group(1) == "dE_db" and _is_bias(problem, int(match.group(2)), match.group(3))
    return False
