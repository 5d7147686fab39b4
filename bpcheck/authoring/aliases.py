"""The names a tutorial gives a network's numbers, as aliases of the canonical ones.

Tutorials number weights ``w1, w2, ...`` layer by layer, neuron by neuron,
source by source (Mazur's and Babin's order) and call neurons ``i1``, ``h1``,
``o1``.  ``bpcheck new`` writes these aliases so an author can claim a number
with the name the document prints beside it.
"""

from __future__ import annotations


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
    """``b1, b2, ...``: one per layer when the bias is shared, else one per neuron."""
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
