"""The names a tutorial gives a network's numbers, as aliases of the canonical ones.

Tutorials number weights ``w1, w2, ...`` layer by layer, neuron by neuron,
source by source (Mazur's and Babin's order) and call neurons ``i1``, ``h1``,
``o1``.  ``bpcheck new`` writes these aliases so an author can claim a number
with the name the document prints beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

NEURON_ALIASES = (
    "net",
    "out",
    "delta",
    "dE_dout",
    "dout_dnet",
    "weighted_sum",
    "error_term",
)
"""The per-neuron quantities named ``KIND_h1`` (``net_h1``, ``error_term_o1``, ...)."""


def neuron_prefix(layer: int, n_layers: int) -> str:
    """``i`` for inputs, ``o`` for outputs, ``h`` for one hidden layer, ``h2_`` for several."""
    if layer == 0:
        return "i"
    if layer == n_layers:
        return "o"
    return "h" if n_layers == 2 else f"h{layer}_"


def tutorial_aliases(
    sizes: list[int],
    bias_kinds: str | Sequence[str],
    *,
    trainable: Sequence[bool] | None = None,
    updating: bool = False,
    targets: bool = True,
) -> dict[str, str]:
    """``w1, w2, ...`` numbered layer by layer, neuron by neuron, source by source
    (Mazur's and Babin's order), neurons as ``i1``, ``h1``, ``o1``, and the loss terms.

    Each neuron's numbers get a name (``net_h1``, ``out_h1``, ``dE_dout_h1``,
    ``dout_dnet_h1``, ``delta_h1``, ``weighted_sum_h1``, ``error_term_h1``), and so do
    each gradient (``dE_dw5``, ``dE_db2``, ``dE_di1`` for input 1: ``dE_d`` and the
    name of what it is taken with respect to), each term of a net input
    (``net_term_w5``: w5 times its input), each output's error ``t - o`` (``error_o1``,
    with ``targets``) and one sample's loss (``E_sample``; ``E_sample@2`` for the
    second).  With ``updating`` (the fixture trains), each change an update applies:
    ``dw5``, and ``db2`` for a bias that ``trainable`` (one per layer; default all)
    says is trained.  ``bpcheck explain`` prints these names, and ``claim`` accepts
    them.

    ``bias_kinds``: one for every layer of weights, or one per layer."""
    n_layers = len(sizes) - 1
    aliases: dict[str, str] = {}
    for i in range(1, sizes[0] + 1):
        aliases[f"i{i}"] = f"out[0,{i}]"
        aliases[f"dE_di{i}"] = f"dE_dout[0,{i}]"
    number = 0
    for layer in range(1, n_layers + 1):
        prefix = neuron_prefix(layer, n_layers)
        for j in range(1, sizes[layer] + 1):
            for kind in NEURON_ALIASES:
                aliases[f"{kind}_{prefix}{j}"] = f"{kind}[{layer},{j}]"
            for i in range(1, sizes[layer - 1] + 1):
                number += 1
                aliases[f"w{number}"] = f"w[{layer},{j},{i}]"
                aliases[f"dE_dw{number}"] = f"dE_dw[{layer},{j},{i}]"
                aliases[f"net_term_w{number}"] = f"net_term[{layer},{j},{i}]"
                if updating:
                    aliases[f"dw{number}"] = f"dw[{layer},{j},{i}]"
    biases = bias_aliases(sizes, bias_kinds)
    aliases.update(biases)
    aliases.update({f"dE_d{b}": f"dE_d{target}" for b, target in biases.items()})
    if updating:
        trained = [True] * n_layers if trainable is None else list(trainable)
        aliases.update(
            {f"d{b}": f"d{target}" for b, target in biases.items() if trained[_layer(target) - 1]}
        )
    for k in range(1, sizes[-1] + 1):
        aliases[f"E_o{k}"] = f"E[{k}]"
        if targets:
            aliases[f"error_o{k}"] = f"error[{k}]"
    aliases["E_total"] = "E"
    aliases["E_sample"] = "E@1"
    return aliases


def _layer(bias: str) -> int:
    """The layer number of a bias name: ``b[2,1]`` -> 2."""
    return int(bias[2:-1].split(",")[0])


def bias_aliases(sizes: list[int], bias_kinds: str | Sequence[str]) -> dict[str, str]:
    """``b1, b2, ...`` numbered layer by layer: one for a layer whose bias is shared, one
    per neuron for a ``per_neuron`` bias, none for a layer without one.

    With every layer shared, ``b1`` is the first layer's bias and ``b2`` the second's
    (Mazur's names); with every layer per neuron, the biases are numbered like weights.
    """
    n_layers = len(sizes) - 1
    kinds = [bias_kinds] * n_layers if isinstance(bias_kinds, str) else list(bias_kinds)
    aliases: dict[str, str] = {}
    number = 0
    for layer, kind in enumerate(kinds, start=1):
        if kind == "shared":
            number += 1
            aliases[f"b{number}"] = f"b[{layer}]"
        elif kind == "per_neuron":
            for j in range(1, sizes[layer] + 1):
                number += 1
                aliases[f"b{number}"] = f"b[{layer},{j}]"
    return aliases
