"""Rounded chains: a claim recomputed from the document's own printed (rounded) operands.

An author who works on paper computes ``dE/dw = 0.05 * delta`` with the delta
they printed a line above (0.682), not with the exact one (0.68184...).  The document is
then consistent with itself and wrong in its last digits.  This module
recomputes a claim with the formula of :mod:`.graph`, taking each operand as
the document prints it wherever it does (each printed version of it: 0.7513
and 0.751), and where it does not, recomputing that operand the same way from
its own operands, down the chain.  Exact Decimal arithmetic on the printed
strings: the only rounding is the document's.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from bpcheck.diagnose.graph import DECIMAL, DECIMAL_DIGITS, Graph, Key, Node, apply, exact
from bpcheck.model.fixture import Claim
from bpcheck.model.verdicts import MATCH, printed_value, verdict

TIMES = " \N{MULTIPLICATION SIGN} "
"""Between factors, as a reader writes them."""

MAX_READINGS = 16
"""Ways to recompute one quantity kept at each level (distinct values): bounds the search."""

MAX_DEPTH = 8
"""Levels of unprinted intermediate values recomputed below a claim."""


@dataclass(frozen=True)
class Reading:
    """A value recomputed from printed operands, and how it was written."""

    value: Decimal
    text: str
    printed: tuple[str, ...]
    """Ids of the printed claims it uses as operands."""


@dataclass(frozen=True)
class Chain:
    """A claim that its printed operands reproduce where the exact values do not."""

    claim: Claim
    reading: Reading

    def describe(self, graph: Graph) -> str:
        """``dE_dw[1,1,1] 0.0341 = 0.05 x printed delta[1,1] 0.682`` (x: a multiplication sign)."""
        key = (self.claim.step, self.claim.canonical)
        return f"{graph.label(key)} {self.claim.printed} = {self.reading.text}"


Printed = Mapping[Key, Sequence[Claim]]
"""Every printed claim of a fixture, by the quantity it prints."""


def printed_by_key(claims: Sequence[Claim]) -> dict[Key, list[Claim]]:
    found: dict[Key, list[Claim]] = {}
    for claim in claims:
        if claim.printed is not None and claim.relation is None:
            found.setdefault((claim.step, claim.canonical), []).append(claim)
    return found


def _number(value: Decimal | float) -> str:
    return f"{float(value):.10g}"


def _formula(node: Node, parts: Sequence[str], graph: Graph) -> str:
    """The node's formula written with its operands' texts, as a reader writes it."""
    op = node.op
    if op in ("affine", "dot"):
        terms = [f"{parts[2 * i]}{TIMES}{parts[2 * i + 1]}" for i in range(len(parts) // 2)]
        if op == "affine" and node.data[0]:
            terms.append(parts[-1])
        return " + ".join(terms)
    if op == "mul":
        return TIMES.join(parts)
    if op == "sum":
        return " + ".join(parts)
    if op == "act":
        return f"{node.data[0]}({parts[0]})"
    if op == "softmax":
        return f"softmax({', '.join(parts)})[{int(str(node.data[0])) + 1}]"
    if op == "dact":
        name = str(node.data[0])
        if name in ("sigmoid", "softmax"):
            return f"{parts[0]}{TIMES}(1 - {parts[0]})"
        return f"1 - {parts[0]}²" if name == "tanh" else f"{name}'({parts[0]})"
    if op in ("loss", "dloss"):
        what = "d/dout of " if op == "dloss" else ""
        return f"{what}{node.data[0]}(target {node.data[1]}, {parts[0]})"
    if op == "update":
        return f"{parts[0]} - {_number(float(str(node.data[0])))}{TIMES}{parts[1]}"
    return ", ".join(parts)


class ChainSearch:
    """Readings of every quantity from the printed numbers below it (memoised per key)."""

    def __init__(self, graph: Graph, printed: Printed) -> None:
        self.graph = graph
        self.printed = printed
        self._memo: dict[tuple[Key, int], list[Reading]] = {}

    def operand(self, key: Key, depth: int) -> list[Reading]:
        """The key as the document has it: printed, else recomputed, else exact."""
        claims = self.printed.get(key)
        if claims:
            distinct = {c.printed: c for c in claims if c.printed is not None}
            label = self.graph.label(key)
            return [
                Reading(printed_value(p), f"printed {label} {p}", (c.id,))
                for p, c in distinct.items()
            ]
        exact_value = Reading(exact(self.graph.values[key]), _number(self.graph.values[key]), ())
        if depth <= 0 or not self.graph.recomputable(key):
            return [exact_value]
        found = [r for r in self.formula(key, depth - 1) if r.printed]
        return [Reading(r.value, f"({r.text})", r.printed) for r in found] or [exact_value]

    def formula(self, key: Key, depth: int = MAX_DEPTH) -> list[Reading]:
        """The key's formula on each combination of its operands' readings."""
        memo_key = (key, depth)
        if memo_key in self._memo:
            return self._memo[memo_key]
        node = self.graph.nodes[key]
        options = [self.operand(k, depth) for k in node.operands]
        readings: dict[Decimal, Reading] = {}
        with localcontext() as ctx:
            ctx.prec = DECIMAL_DIGITS
            for combination in itertools.product(*options):
                if len(readings) >= MAX_READINGS:
                    break
                try:
                    value = apply(node, [r.value for r in combination], DECIMAL)
                except (ArithmeticError, ValueError):
                    continue
                used = tuple(dict.fromkeys(c for r in combination for c in r.printed))
                if value.is_finite() and value not in readings:
                    text = _formula(node, [r.text for r in combination], self.graph)
                    readings[value] = Reading(value, text, used)
        self._memo[memo_key] = list(readings.values())
        return self._memo[memo_key]

    def chains(self, claim: Claim) -> list[Chain]:
        """Readings from printed operands that make the printed claim a match."""
        key = (claim.step, claim.canonical)
        if claim.printed is None or not self.graph.recomputable(key):
            return []
        return [
            Chain(claim, r)
            for r in self.formula(key)
            if r.printed and verdict(float(r.value), claim.printed) == MATCH
        ]

    def values(self, claim: Claim) -> list[float]:
        """Every value the readings from printed operands give the claim (for its chance)."""
        key = (claim.step, claim.canonical)
        if not self.graph.recomputable(key):
            return []
        return [float(r.value) for r in self.formula(key) if r.printed]
