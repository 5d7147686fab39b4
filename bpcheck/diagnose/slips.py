"""Formula slips: one operand or one factor of one formula wrong, and everything after it.

A careful reader who finds a wrong number asks which single slip of the pen
would give it, and then whether the numbers printed after it inherit that slip.
Over the computation graph of :mod:`.graph`, the search tries every single slip
of these families at every quantity that a wrong printed number depends on:

* ``operand-swapped``: an operand replaced by another value of the same kind at
  the same step (h1 used where h2 belongs, the weight of the wrong neuron, the
  bias or output of the wrong layer);
* ``sign-dropped``: the value's sign flipped;
* ``factor-2`` and ``factor-half``: the value doubled or halved (the 1/2 of the
  loss, a derivative's 2);
* ``factor-dropped``: a factor of a product left out (the activation derivative
  of a delta, the input of a weight gradient);
* ``activation-skipped``: an output that is its net input.

Each slip is recomputed downstream in float64 (the traced values of everything
the slip does not touch are shared by every slip) and read at the printed
quantities it reaches.  The search is bounded by the graph: at most
(quantities * operands * values of a kind + 6 per quantity) single slips, only
below a wrong number and at steps small enough to be done by hand, and at most
:data:`MAX_SLIPS`.  Pairs of slips are tried only as one slip in a wrong number's
own formula and one in an operand's formula (:meth:`SlipSearch.local_pairs`, at
most :data:`MAX_PAIRS` each): a bigger family, whose chance of hitting a number by
luck is estimated apart.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from bpcheck.diagnose.graph import FLOAT, Graph, Key, Node, apply, kind_of

MAX_SLIPS = 20_000
"""Single slips tried per fixture at most (a big network's graph); the note says when."""

MAX_PAIRS = 2_000
"""Pairs of slips tried per wrong number at most."""


@dataclass(frozen=True)
class Slip:
    """One slip at one quantity: what changes, and how a reader would write it."""

    key: Key
    family: str
    text: str
    position: int = -1
    """The operand replaced or dropped (-1: the value itself is changed)."""
    other: Key | None = None
    """For ``operand-swapped``: the value used instead."""
    factor: float = 1.0
    """For ``sign-dropped`` and the factors: what the value is multiplied by."""

    def value(self, node: Node, args: list[float]) -> float:
        """The quantity's value with the slip, from its operands' (possibly slipped) values."""
        if self.family == "operand-swapped":
            raise AssertionError("an operand swap is applied to the operands")
        if self.family == "factor-dropped" and node.op == "mul":
            return math.prod(a for i, a in enumerate(args) if i != self.position)
        if self.family == "factor-dropped":  # dot: one side of every pair dropped
            return math.fsum(args[1 - self.position :: 2])
        if self.family == "activation-skipped":
            return args[0]
        return self.factor * float(apply(node, args, FLOAT))


@dataclass(frozen=True)
class SlipEffect:
    """Slips and the values they give the printed quantities they reach."""

    slips: tuple[Slip, ...]
    values: dict[Key, float]

    @property
    def text(self) -> str:
        return "; and ".join(s.text for s in self.slips)


class SlipSearch:
    """Every single slip below the wrong printed numbers, with what it does to the printed."""

    def __init__(
        self,
        graph: Graph,
        printed: Collection[Key],
        wrong: Collection[Key],
        max_step: int,
        limit: int = MAX_SLIPS,
    ) -> None:
        self.graph = graph
        self.printed = set(printed) & set(graph.values)
        self.relevant = self._below(self.printed)
        self.tried = {k for k in self._below(set(wrong) & self.printed) if k[0] <= max_step}
        """Where slips are tried: below a wrong number, at a step small enough to be by hand."""
        self.limit = limit
        self.truncated = False
        """Whether :attr:`limit` stopped the search."""
        self._kinds: dict[tuple[int, str], list[Key]] = {}
        for key in graph.values:
            self._kinds.setdefault(kind_of(key), []).append(key)
        self._order = {key: i for i, key in enumerate(self._topological())}
        self._after: dict[Key, set[Key]] = {}

    def _below(self, keys: set[Key]) -> set[Key]:
        """Keys some of ``keys`` depend on (``keys`` included)."""
        found: set[Key] = set()
        stack = list(keys)
        while stack:
            key = stack.pop()
            if key in found:
                continue
            found.add(key)
            node = self.graph.nodes.get(key)
            if node is not None:
                stack.extend(node.operands)
        return found

    def _topological(self) -> list[Key]:
        """The relevant keys, each after its operands."""
        order: list[Key] = []
        done: set[Key] = set()
        for start in sorted(self.relevant):
            stack: list[tuple[Key, bool]] = [(start, False)]
            while stack:
                key, expanded = stack.pop()
                if expanded:
                    order.append(key)
                    continue
                if key in done:
                    continue
                done.add(key)
                stack.append((key, True))
                node = self.graph.nodes.get(key)
                for operand in node.operands if node else ():
                    if operand not in done and operand in self.relevant:
                        stack.append((operand, False))
        return order

    def slips(self) -> Iterator[Slip]:
        """Each single slip, upstream first (slips that change nothing are left out later)."""
        count = 0
        for key in sorted(self.tried, key=self._order.__getitem__):
            node = self.graph.nodes.get(key)
            if node is None or node.op == "leaf":
                continue
            for slip in self.at(key, node):
                count += 1
                if count > self.limit:
                    self.truncated = True
                    return
                yield slip

    def at(self, key: Key, node: Node) -> Iterator[Slip]:
        """Every slip of the quantity's formula."""
        name = self.graph.label(key)
        for position, operand in enumerate(node.operands):
            for other in self._kinds.get(kind_of(operand), ()):
                if other != operand:
                    text = f"{name} uses {self.graph.label(other)} where "
                    text += f"{self.graph.label(operand)} belongs"
                    yield Slip(key, "operand-swapped", text, position, other)
        yield Slip(key, "sign-dropped", f"{name} with its sign flipped", factor=-1.0)
        yield Slip(key, "factor-2", f"{name} twice what it is (a factor 2)", factor=2.0)
        yield Slip(key, "factor-half", f"{name} half what it is (a factor 1/2)", factor=0.5)
        if node.op == "mul" and len(node.operands) > 1:
            for position, operand in enumerate(node.operands):
                text = f"{name} without its factor {self.graph.label(operand)}"
                yield Slip(key, "factor-dropped", text, position)
        if node.op == "dot":
            for side in (0, 1):
                dropped = ", ".join(self.graph.label(k) for k in node.operands[side::2])
                yield Slip(key, "factor-dropped", f"{name} without its factor {dropped}", side)
        if node.op == "act" and node.data[0] != "identity":
            text = f"{name} without its activation ({node.data[0]})"
            yield Slip(key, "activation-skipped", text)

    def effect(self, slips: tuple[Slip, ...]) -> SlipEffect | None:
        """The printed quantities' values after the slips (None if nothing printed changes or
        the arithmetic fails)."""
        at = {s.key: s for s in slips}
        affected: set[Key] = set()
        for slip in slips:
            affected |= self._downstream(slip.key)
        values = self.graph.values
        changed: dict[Key, float] = {}
        try:
            for key in sorted(affected, key=self._order.__getitem__):
                node = self.graph.nodes[key]
                args = [changed.get(k, values[k]) for k in node.operands]
                here = at.get(key)
                if here is None:
                    value = float(apply(node, args, FLOAT))
                elif here.family == "operand-swapped":
                    assert here.other is not None
                    args[here.position] = changed.get(here.other, values[here.other])
                    value = float(apply(node, args, FLOAT))
                else:
                    value = here.value(node, args)
                if value != values[key]:
                    changed[key] = value
        except (ArithmeticError, ValueError):
            return None
        reached = {k: v for k, v in changed.items() if k in self.printed and not math.isnan(v)}
        return SlipEffect(slips, reached) if reached else None

    def _downstream(self, key: Key) -> set[Key]:
        if key not in self._after:
            after = {k for k in self.graph.downstream(key) if k in self.relevant}
            self._after[key] = after | {key}
        return self._after[key]

    def local_pairs(self, wrong: Key) -> Iterator[tuple[Slip, Slip]]:
        """Pairs of slips: one in the wrong number's own formula, one in an operand's formula
        (at most :data:`MAX_PAIRS` per wrong number)."""
        node = self.graph.nodes.get(wrong)
        if node is None or node.op == "leaf" or wrong not in self.tried:
            return
        own = list(self.at(wrong, node))
        below = [
            s
            for key in dict.fromkeys(node.operands)
            if self.graph.recomputable(key)
            for s in self.at(key, self.graph.nodes[key])
        ]
        yield from itertools.islice(itertools.product(own, below), MAX_PAIRS)
