"""The computation graph of a fixture's quantities: which values feed which, step by step.

A careful reader checks a wrong number by recomputing it from the numbers it
is made of.  The graph records, for every quantity of the reference engine's
trace, the formula a tutorial writes for it (``net = sum w x + b``, ``out =
sigmoid(net)``, ``delta = dE/dout dout/dnet``, ``dE/dw = sum delta out``, ``w' = w - rate
dE/dw``)
and its operands, as keys ``(step, canonical name)``.  The values are the
trace's; the graph only says how they are made, so that :mod:`.rounded_chain`
can recompute a claim from the document's printed operands and :mod:`.slips`
from a changed formula.  A quantity whose formula the graph does not write (a
softmax layer's delta, a partial of another output's loss term) is a leaf: its
value is taken from the trace and never recomputed.

The arithmetic here is the diagnosis' own, written once for both number types
it needs: ``float`` for the slip search (fast; float64 is far finer than any
printed place) and :class:`decimal.Decimal` for the rounded chains (printed
operands are exact decimals, and so is their arithmetic).  No engine is called.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from bpcheck.model import quantities as q
from bpcheck.model.problem import Layer, Problem, batch_of_step, layer_rate
from bpcheck.model.quantities import Trace

Key = tuple[int, str]
"""A quantity at a step: ``(1, "w[2,1,2]")``."""

Number = Any
"""``float`` or :class:`~decimal.Decimal`, one type per evaluation (mixing them raises)."""

DECIMAL_DIGITS = 40
"""Significant digits of the Decimal arithmetic: far beyond any printed number."""


@dataclass(frozen=True)
class Node:
    """How one quantity is computed: an operation, its operand keys and its constants.

    Operations (``data`` in brackets):

    * ``leaf``: not recomputed (a network input, a parameter at the first recorded step);
    * ``affine`` [has bias]: ``Σ a[2i]·a[2i+1] (+ bias, the last operand)``;
    * ``dot``: ``Σ a[2i]·a[2i+1]`` (a hidden dE/dout, a weight gradient over the batch);
    * ``mul``: the product of the operands (a delta: dE/dout · dout/dnet);
    * ``sum``: the sum of the operands (the loss, a bias gradient);
    * ``act`` [activation]: the activation of the net input;
    * ``softmax`` [position]: one output of a softmax over the layer's net inputs;
    * ``dact`` [activation]: dout/dnet written from the output (sigmoid: out (1 - out));
    * ``loss`` / ``dloss`` [loss, target, scale]: a loss term and its dE/dout;
    * ``update`` [rate]: ``p - rate · g``.
    """

    op: str
    operands: tuple[Key, ...] = ()
    data: tuple[object, ...] = ()


class Arithmetic:
    """exp, log and constants for one number type, so each formula is written once."""

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def const(self, value: float) -> float | Decimal:
        return Decimal(value) if self.kind is Decimal else float(value)

    def exp(self, x: Number) -> Number:
        if isinstance(x, Decimal):
            return x.exp()
        return math.exp(x) if x < 700.0 else math.inf

    def log(self, x: Number) -> Number:
        if isinstance(x, Decimal):
            return x.ln()
        return math.log(x)


FLOAT = Arithmetic(float)
DECIMAL = Arithmetic(Decimal)


def apply(node: Node, args: list[Number], arith: Arithmetic) -> Number:
    """The node's value from its operands' values (all of one number type)."""
    op, data = node.op, node.data
    one = args[0] * 0 + 1 if args else 1
    if op in ("affine", "dot"):
        pairs = len(args) // 2
        total = sum((args[2 * i] * args[2 * i + 1] for i in range(pairs)), one * 0)
        return total + args[-1] if op == "affine" and data[0] else total
    if op == "mul":
        product = one
        for a in args:
            product = product * a
        return product
    if op == "sum":
        return sum(args[1:], args[0])
    if op == "act":
        return _activate(str(data[0]), args[0], arith, _parameter(data))
    if op == "softmax":
        top = max(args)
        exps = [arith.exp(a - top) for a in args]
        return exps[int(str(data[0]))] / sum(exps[1:], exps[0])
    if op == "dact":
        return _slope(str(data[0]), args[0], arith, _parameter(data))
    if op in ("loss", "dloss"):
        loss, scale = str(data[0]), int(str(data[2]))
        if loss == "output":  # the objective's output itself (data[3]: is this it?)
            chosen = bool(data[3])
            return (args[0] if chosen else args[0] * 0) if op == "loss" else one * int(chosen)
        target: Number = arith.const(float(str(data[1])))
        return (_loss if op == "loss" else _dloss)(loss, target, args[0], scale, arith)
    if op == "update":
        rate = arith.const(float(str(data[0])))
        return args[0] - rate * args[1]
    raise ValueError(f"no formula for {op!r}")


def _parameter(data: tuple[object, ...]) -> float:
    """leaky_relu's slope or elu's alpha, the second item of an activation's data (else 0)."""
    return float(str(data[1])) if len(data) > 1 else 0.0


def _activate(name: str, x: Number, arith: Arithmetic, parameter: float = 0.0) -> Number:
    if name == "leaky_relu":
        return x if x > 0 else arith.const(parameter) * x
    if name == "elu":
        return x if x > 0 else arith.const(parameter) * (arith.exp(x) - 1)
    if name == "softplus":
        return x + arith.log(1 + arith.exp(-x)) if x > 0 else arith.log(1 + arith.exp(x))
    if name == "identity":
        return x
    if name == "sigmoid":
        return 1 / (1 + arith.exp(-x))
    if name == "tanh":
        e = arith.exp(2 * x)
        return (e - 1) / (e + 1) if e != math.inf else x * 0 + 1
    if name == "relu":
        return x if x > 0 else x * 0
    raise ValueError(f"no formula for {name!r}")


def _slope(name: str, out: Number, arith: Arithmetic, parameter: float = 0.0) -> Number:
    """dout/dnet written from the output, as texts write it (left branch at a kink)."""
    if name == "leaky_relu":
        return out * 0 + (1 if out > 0 else arith.const(parameter))
    if name == "elu":
        return out * 0 + 1 if out > 0 else out + arith.const(parameter)
    if name == "softplus":
        return 1 - arith.exp(-out)
    if name in ("sigmoid", "softmax"):
        return out * (1 - out)
    if name == "tanh":
        return 1 - out * out
    if name == "identity":
        return out * 0 + 1
    if name == "relu":
        return out * 0 + (1 if out > 0 else 0)
    raise ValueError(f"no formula for {name!r}")


def _loss(loss: str, t: Number, o: Number, scale: int, arith: Arithmetic) -> Number:
    error = t - o
    if loss == "half_sse":
        return error * error / 2
    if loss == "sse":
        return error * error
    if loss == "mse":
        return error * error / scale
    if loss == "bce":
        return -(t * arith.log(o) + (1 - t) * arith.log(1 - o))
    return -(t * arith.log(o))  # softmax_ce


def _dloss(loss: str, t: Number, o: Number, scale: int, arith: Arithmetic) -> Number:
    if loss == "half_sse":
        return o - t
    if loss == "sse":
        return 2 * (o - t)
    if loss == "mse":
        return 2 * (o - t) / scale
    if loss == "bce":
        return -t / o + (1 - t) / (1 - o)
    return -t / o  # softmax_ce


@dataclass
class Graph:
    """Every traced quantity's node and value, and who uses whom."""

    nodes: dict[Key, Node]
    values: dict[Key, float]
    users: dict[Key, list[Key]]
    samples: int

    def recomputable(self, key: Key) -> bool:
        return key in self.nodes and self.nodes[key].op != "leaf"

    def evaluate(self, key: Key, value_of: Callable[[Key], Any], arith: Arithmetic) -> Any:
        """The key's formula on the operand values ``value_of`` gives."""
        node = self.nodes[key]
        return apply(node, [value_of(k) for k in node.operands], arith)

    def label(self, key: Key) -> str:
        """``dE_dw[1,1,1]``, ``w[2,1,2] at step 1``: a key as a reader names it."""
        step, name = key
        if self.samples == 1 and name.endswith("@1"):
            name = name[:-2]
        return name if step == 0 else f"{name} at step {step}"

    def downstream(self, start: Key) -> list[Key]:
        """Every key computed from ``start``, in an order where operands come first."""
        seen: set[Key] = set()
        order: list[Key] = []

        def visit(key: Key) -> None:
            for user in self.users.get(key, ()):
                if user not in seen:
                    seen.add(user)
                    visit(user)
                    order.append(user)

        visit(start)
        order.reverse()
        return order


_INDICES = re.compile(r"\[[^\]]*\]")


def kind_of(key: Key) -> tuple[int, str]:
    """The same kind of value at the same step: ``out[]@1`` for every output of sample 1."""
    step, name = key
    return step, _INDICES.sub("[]", name)


def build_graph(problem: Problem, trace: Trace) -> Graph:
    """The graph of every quantity the trace holds, with the trace's values."""
    nodes: dict[Key, Node] = {}
    for step in sorted(trace):
        names = trace[step]
        for name, node in _step_nodes(problem, trace, step):
            if name in names and not _unwritten(problem, name, node):
                nodes[(step, name)] = node
        for name in names:
            nodes.setdefault((step, name), Node("leaf"))
    values = {(step, name): value for step, names in trace.items() for name, value in names.items()}
    users: dict[Key, list[Key]] = {}
    for key, node in nodes.items():
        if any(operand not in values for operand in node.operands):
            nodes[key] = Node("leaf")
            continue
        for operand in node.operands:
            users.setdefault(operand, []).append(key)
    return Graph(nodes, values, users, problem.n_samples)


def _unwritten(problem: Problem, name: str, node: Node) -> bool:
    """Whether the formula does not hold for this problem, so that the node must be a leaf:
    momentum's update (it has a velocity), and with weight decay the loss and the weight
    gradients (each has a term of the weights' own)."""
    if node.op == "update" and problem.momentum != 0.0:
        return True
    decayed = name == q.LOSS or name.startswith("dE_dw[")
    return problem.weight_decay != 0.0 and decayed


def _step_nodes(problem: Problem, trace: Trace, step: int) -> Iterator[tuple[str, Node]]:
    """The formulas of one step; the update into the step when the step before is traced."""
    batch = [s + 1 for s in batch_of_step(problem, step)]
    scale = problem.n_outputs * len(batch)
    if step - 1 in trace:
        yield from _update_nodes(problem, step)
    for s in batch:
        yield from _forward_nodes(problem, step, s, scale)
        yield from _backward_nodes(problem, trace, step, s)
    yield q.LOSS, Node("sum", tuple((step, q.term(k, s)) for s in batch for k in _outputs(problem)))
    yield from _gradient_nodes(problem, step, batch)


def _outputs(problem: Problem) -> range:
    return range(1, problem.n_outputs + 1)


def _bias_key(problem: Problem, step: int, layer: int, j: int) -> Key | None:
    kind = problem.layers[layer - 1].bias_kind
    if kind == "none":
        return None
    return step, q.bias(layer, None if kind == "shared" else j)


def _forward_nodes(problem: Problem, step: int, s: int, scale: int) -> Iterator[tuple[str, Node]]:
    top = len(problem.layers)
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            operands: list[Key] = []
            for i in range(1, layer.fan_in + 1):
                operands += [
                    (step, q.weight(number, j, i)),
                    (step, q.neuron("out", number - 1, i, s)),
                ]
            bias = _bias_key(problem, step, number, j)
            has_bias = bias is not None
            if bias is not None:
                operands.append(bias)
            net = (step, q.neuron("net", number, j, s))
            out = (step, q.neuron("out", number, j, s))
            yield net[1], Node("affine", tuple(operands), (has_bias,))
            if layer.activation == "softmax":
                nets = tuple(
                    (step, q.neuron("net", number, m, s)) for m in range(1, layer.size + 1)
                )
                yield out[1], Node("softmax", nets, (j - 1,))
            else:
                yield out[1], Node("act", (net,), _activation_data(layer))
            yield q.neuron("dout_dnet", number, j, s), Node("dact", (out,), _activation_data(layer))
            if number == top:
                target = problem.targets[s - 1][j - 1]
                data = (problem.loss, target, scale, j == problem.objective)
                yield q.term(j, s), Node("loss", (out,), data)
                yield q.neuron("dE_dout", number, j, s), Node("dloss", (out,), data)
                for k in _outputs(problem):
                    if k == j:
                        yield q.term_partial(k, "out", number, j, s), Node("dloss", (out,), data)


def _activation_data(layer: Layer) -> tuple[object, ...]:
    """An activation's name, and its slope or alpha when it has one."""
    if layer.activation == "leaky_relu":
        return (layer.activation, layer.slope)
    if layer.activation == "elu":
        return (layer.activation, layer.alpha)
    return (layer.activation,)


def _backward_nodes(
    problem: Problem, trace: Trace, step: int, s: int
) -> Iterator[tuple[str, Node]]:
    """Deltas and hidden dE/dout, for the loss and for each output's term alone."""
    top = len(problem.layers)
    sequential = problem.update_order == "sequential" and step < problem.steps
    for number in range(top, 0, -1):
        layer = problem.layers[number - 1]
        for j in range(1, layer.size + 1):
            slope = (step, q.neuron("dout_dnet", number, j, s))
            if layer.activation != "softmax":
                yield (
                    q.neuron("delta", number, j, s),
                    Node("mul", ((step, q.neuron("dE_dout", number, j, s)), slope)),
                )
                for k in _outputs(problem):
                    d_out = (step, q.term_partial(k, "out", number, j, s))
                    yield q.term_partial(k, "net", number, j, s), Node("mul", (d_out, slope))
            if number == top:
                continue
            above = problem.layers[number]
            w_step = step + 1 if sequential else step
            if w_step not in trace:
                continue
            weights = [(w_step, q.weight(number + 1, m, j)) for m in range(1, above.size + 1)]
            pairs: list[Key] = []
            for m, w in enumerate(weights, start=1):
                pairs += [(step, q.neuron("delta", number + 1, m, s)), w]
            yield q.neuron("dE_dout", number, j, s), Node("dot", tuple(pairs))
            for k in _outputs(problem):
                pairs = []
                for m, w in enumerate(weights, start=1):
                    pairs += [(step, q.term_partial(k, "net", number + 1, m, s)), w]
                yield q.term_partial(k, "out", number, j, s), Node("dot", tuple(pairs))


def _gradient_nodes(problem: Problem, step: int, batch: list[int]) -> Iterator[tuple[str, Node]]:
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            deltas = [(step, q.neuron("delta", number, j, s)) for s in batch]
            for i in range(1, layer.fan_in + 1):
                pairs: list[Key] = []
                for s, delta in zip(batch, deltas, strict=True):
                    pairs += [(step, q.neuron("out", number - 1, i, s)), delta]
                yield q.weight_grad(number, j, i), Node("dot", tuple(pairs))
            if layer.bias_kind == "per_neuron":
                yield q.bias_grad(number, j), Node("sum", tuple(deltas))
        if layer.bias_kind == "shared":
            every = [
                (step, q.neuron("delta", number, j, s))
                for j in range(1, layer.size + 1)
                for s in batch
            ]
            yield q.bias_grad(number, None), Node("sum", tuple(every))


def _update_nodes(problem: Problem, step: int) -> Iterator[tuple[str, Node]]:
    """The parameters of ``step`` from those of the step before and its gradients."""
    before = step - 1
    for number, layer in enumerate(problem.layers, start=1):
        rate = (layer_rate(problem, number - 1),)
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                w, g = q.weight(number, j, i), q.weight_grad(number, j, i)
                yield w, Node("update", ((before, w), (before, g)), rate)
        names: Iterable[int | None] = (
            [None] if layer.bias_kind == "shared" else range(1, layer.size + 1)
        )
        if layer.bias_kind == "none":
            continue
        for j_or_none in names:
            b, g = q.bias(number, j_or_none), q.bias_grad(number, j_or_none)
            if layer.bias_trainable:
                yield b, Node("update", ((before, b), (before, g)), rate)
            else:
                yield b, Node("sum", ((before, b),))


def exact(value: float) -> Decimal:
    """A float at its exact binary value, in the Decimal arithmetic of this module."""
    with localcontext() as ctx:
        ctx.prec = DECIMAL_DIGITS
        return +Decimal(value)
