"""A fixture's computation, step by step, in the order a tutorial presents it.

Every :class:`Line` is a formula, the formula with the numbers put in, and the
result: forward pass, loss, output layer, hidden layers, updates, the loss after
the update.  The numbers come from an engine's trace; only the shape of each
formula is written here.  A printed claim on the same quantity and step is kept
beside the computed value, with the verdict it gets.

Every name shown is one ``bpcheck claim`` accepts for this fixture: its alias when
the fixture has one (``out_h1``, ``dE_dout_o1``; ``@2`` for a second sample), else
the canonical name (``dE_dout[2,1]``).  A line starts with the quantity it computes,
alias first and the canonical name in brackets (``delta_o1 (delta[2,1])``).  A
negative number inside a formula is in brackets (``1 - (-0.036)^2``,
``-0.4 * 0.5 + (-0.1)``), so no reader wonders what ``- -`` or ``-x^2`` means.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bpcheck.authoring import worked_updates as updates
from bpcheck.model import quantities as q
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.problem import Layer, Problem, batch_of_step
from bpcheck.model.verdicts import verdict

ACTIVATION_FORMULAS = {
    "identity": ("{net}", "1"),
    "sigmoid": ("1 / (1 + e^-{net})", "{out} (1 - {out})"),
    "tanh": ("tanh({net})", "1 - {out}^2"),
    "relu": ("max(0, {net})", "1 if {net} > 0 else 0"),
    "softmax": ("e^{net} / sum e^net", "{out} (1 - {out})"),
    "leaky_relu": ("{net} if {net} > 0 else {slope} * {net}", "1 if {net} > 0 else {slope}"),
    "softplus": ("log(1 + e^{net})", "1 / (1 + e^-{net})"),
    "elu": ("{net} if {net} > 0 else {alpha} (e^{net} - 1)", "1 if {net} > 0 else {out} + {alpha}"),
}
"""(out from net, d out / d net) for each activation, as tutorials write them; ``{slope}``
and ``{alpha}`` are the layer's (at a kink the left branch: relu'(0) = 0, elu'(0) = alpha)."""

TERM_FORMULAS = {
    "half_sse": ("1/2 ({t} - {o})^2", "-({t} - {o})"),
    "sse": ("({t} - {o})^2", "-2 ({t} - {o})"),
    "mse": ("({t} - {o})^2 / {n}", "-2 ({t} - {o}) / {n}"),
    "bce": ("-({t} log({o}) + (1 - {t}) log(1 - {o}))", "-{t} / {o} + (1 - {t}) / (1 - {o})"),
    "softmax_ce": ("-{t} log({o})", "-{t} / {o}"),
    "output": ("{o}", "1"),
}
"""(loss term, d term / d out) for each loss; ``output``'s for the objective's output (the
other outputs' terms are 0)."""


def num(value: float) -> str:
    """Numbers as a reader checks them by hand: 10 significant digits."""
    return f"{value:.10g}"


def operand(value: float) -> str:
    """A number as it goes into a formula: in brackets when negative (``(-0.036)``)."""
    text = num(value)
    return f"({text})" if text.startswith("-") else text


_NUMBER = r"-[0-9.]+(?:e[+-][0-9]+)?"
_LEADING = re.compile(rf"^\(({_NUMBER})\)(?![\^0-9])")
_DOUBLED = re.compile(rf"\((\({_NUMBER}\))\)")


def tidy(numbers: str) -> str:
    """Brackets no reader needs: a leading negative factor (``-0.4 * 0.5``, not before ``^``)
    and a function's bracket around a bracketed number (``tanh(-0.5)``)."""
    numbers = _DOUBLED.sub(lambda m: "(" + m.group(1)[1:-1] + ")", numbers)
    return _LEADING.sub(r"\1", numbers)


@dataclass(frozen=True)
class Printed:
    """A number the document prints for a line, where, and the verdict it gets."""

    printed: str
    where: str
    verdict: str


@dataclass
class Line:
    """``name = formula = numbers = value``, and the claims printed for it."""

    name: str
    formula: str
    numbers: str
    value: float
    step: int
    claims: list[Claim] = field(default_factory=list)
    canonical: str = ""
    """The canonical name, shown in brackets after an alias."""

    @property
    def heading(self) -> str:
        """``delta_o1 (delta[2,1])``, or the canonical name alone when there is no alias."""
        if not self.canonical or self.canonical == self.name:
            return self.name
        return f"{self.name} ({self.canonical})"

    @property
    def parts(self) -> list[str]:
        """What comes before ``= value``: the heading, the formula, the numbers (when there are)."""
        return [part for part in (self.heading, self.formula, self.numbers) if part]

    @property
    def printed(self) -> list[Printed]:
        """Each claim's printed number judged against this line's value."""
        return [
            Printed(c.printed or "", c.where, verdict(self.value, c.printed or "0"))
            for c in self.claims
        ]


@dataclass
class Section:
    """A heading of the worked example and its lines."""

    title: str
    lines: list[Line] = field(default_factory=list)


class Explainer:
    """Builds the sections of one step from a trace and the fixture's aliases."""

    def __init__(self, fixture: Fixture, trace: dict[int, dict[str, float]], step: int) -> None:
        self.fixture = fixture
        self.problem = fixture.problem
        self.trace = trace
        self.step = step
        self.values = trace[step]
        self.names = self._display_names()

    def _display_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for alias, target in self.fixture.aliases.items():
            names.setdefault(q.normalize(target), alias)
            names.setdefault(target, alias)
        return names

    def label(self, canonical: str) -> str:
        """The name ``claim`` accepts for a quantity: its alias, else the canonical name.

        ``@s`` is written only when the problem has several samples; an alias of a
        per-sample quantity stands for sample 1 and takes ``@s`` for the others.  A
        sample's part of a step's quantity always keeps its ``@s`` (``dE_dw5@1`` is
        sample 1's own gradient, ``dE_dw5`` the batch's).
        """
        base, sample = q.split_sample(canonical)
        if canonical in self.names:
            return self.names[canonical]
        if sample is None:
            return self.names.get(base, base)
        per_sample = q.is_per_sample(base)
        suffix = "" if per_sample and self.problem.n_samples == 1 else f"@{sample}"
        if f"{base}@1" in self.names:
            return self.names[f"{base}@1"] + suffix
        if base in self.names and base != q.LOSS:  # E_total@2 would read as a batch's loss
            return self.names[base] + suffix
        return base + suffix

    def canonical_label(self, canonical: str) -> str:
        """The canonical name as a reader writes it: ``@s`` only with several samples (and
        always on a sample's part of a step's quantity: ``E@1``, ``dE_dw[2,1,1]@1``)."""
        base, sample = q.split_sample(canonical)
        several = self.problem.n_samples > 1 or not q.is_per_sample(base)
        return f"{base}@{sample}" if sample is not None and several else base

    def has(self, canonical: str, step: int | None = None) -> bool:
        """Whether the engine computed ``canonical`` (the extended names need an engine
        with ``quantity:extended``; a line is shown only for what it computed)."""
        return canonical in self.trace.get(self.step if step is None else step, {})

    def value(self, canonical: str, step: int) -> float:
        """The engine's value; ``E_change`` from its own ``E`` at this step and the next."""
        if canonical == q.E_CHANGE:
            return self.trace[step + 1][q.LOSS] - self.trace[step][q.LOSS]
        return self.trace[step][canonical]

    def line(self, canonical: str, formula: str, numbers: str, step: int | None = None) -> Line:
        at = self.step if step is None else step
        value = self.value(canonical, at)
        claims = self.claims_for(canonical, at)
        name, full = self.label(canonical), self.canonical_label(canonical)
        return Line(name, formula, tidy(numbers), value, at, claims, full)

    def claims_for(self, canonical: str, step: int) -> list[Claim]:
        return [
            c
            for c in self.fixture.claims
            if c.canonical == canonical and c.step == step and c.printed is not None
        ]

    def v(self, canonical: str) -> str:
        """The value as it goes into a formula (negative numbers in brackets)."""
        return operand(self.values[canonical])

    def sum_line(self, canonical: str, parts: list[str]) -> Line:
        """``name = a + b = 0.1 + 0.2 = 0.3``: a quantity that is the sum of others."""
        formula = " + ".join(self.label(p) for p in parts)
        return self.line(canonical, formula, " + ".join(self.v(p) for p in parts))

    def product_line(self, canonical: str, pairs: list[tuple[str, str]]) -> Line:
        """``name = a * b + c * d``, with the numbers put in."""
        formula = " + ".join(f"{self.label(a)} * {self.label(b)}" for a, b in pairs)
        numbers = " + ".join(f"{self.v(a)} * {self.v(b)}" for a, b in pairs)
        return self.line(canonical, formula, numbers)

    # --- the sections ------------------------------------------------------------------

    def sections(self) -> Iterator[Section]:
        """Forward, loss, then each layer from the top: its deltas, gradients and updates;
        the gradients with respect to the inputs; the loss after the update."""
        batch = [s + 1 for s in batch_of_step(self.problem, self.step)]
        for s in batch:
            yield self.forward(s, len(batch) > 1)
        yield self.loss(batch)
        output = len(self.problem.layers)
        for number in range(output, 0, -1):
            title = "output layer" if number == output else f"hidden layer {number}"
            section = Section(f"Backward pass: {title}")
            for s in batch:
                for j in range(1, self.problem.layers[number - 1].size + 1):
                    section.lines.extend(self.neuron_backward(number, j, s, number == output))
            section.lines.extend(self.layer_gradients(number, batch))
            section.lines.extend(self.layer_updates(number))
            yield section
        inputs = Section("Backward pass: inputs", self.input_gradients(batch))
        if inputs.lines:
            yield inputs
        after = self.step + 1
        if self.step < self.problem.steps and after in self.trace:
            lines = [self.line(q.LOSS, "", "", after)]
            now, then = self.trace[self.step][q.LOSS], self.trace[after][q.LOSS]
            formula = f"{self.label(q.LOSS)} (step {after}) - {self.label(q.LOSS)}"
            lines.append(self.line(q.E_CHANGE, formula, f"{operand(then)} - {operand(now)}"))
            yield Section(f"After the update (step {after})", lines)

    def forward(self, s: int, several: bool) -> Section:
        section = Section("Forward pass" + (f", sample {s}" if several else ""))
        for number, layer in enumerate(self.problem.layers, start=1):
            for j in range(1, layer.size + 1):
                pairs = [
                    (q.weight(number, j, i), q.neuron("out", number - 1, i, s))
                    for i in range(1, layer.fan_in + 1)
                ]
                terms = [q.net_term(number, j, i, s) for i in range(1, layer.fan_in + 1)]
                if all(self.has(t) for t in terms):
                    section.lines.extend(self.product_line(t, [p]) for t, p in zip(terms, pairs))
                weighted = q.neuron("weighted_sum", number, j, s)
                if self.has(weighted):
                    section.lines.append(self.sum_line(weighted, terms))
                net = q.neuron("net", number, j, s)
                line = self.product_line(net, pairs)
                bias = self.bias_name(number, j)
                if bias is not None:
                    line = self.line(
                        net,
                        f"{line.formula} + {self.label(bias)}",
                        f"{line.numbers} + {self.v(bias)}",
                    )
                section.lines.append(line)
                out = q.neuron("out", number, j, s)
                shape = ACTIVATION_FORMULAS[layer.activation][0]
                section.lines.append(
                    self.line(
                        out,
                        self.shape(shape, layer, net=self.label(net)),
                        self.shape(shape, layer, net=self.v(net)),
                    )
                )
        return section

    @staticmethod
    def shape(formula: str, layer: Layer, **names: str) -> str:
        """An activation's formula with the names or numbers put in, and the layer's slope
        (``leaky_relu``) and alpha (``elu``)."""
        return formula.format(slope=operand(layer.slope), alpha=operand(layer.alpha), **names)

    def bias_name(self, layer: int, j: int) -> str | None:
        kind = self.problem.layers[layer - 1].bias_kind
        if kind == "none":
            return None
        return q.bias(layer, None if kind == "shared" else j)

    def term_shapes(self, k: int) -> tuple[str, str]:
        """(term, d term / d out) of output ``k``: an objective's other outputs give 0."""
        problem = self.problem
        if problem.loss == "output" and k != problem.objective:
            return "0", "0"
        return TERM_FORMULAS[problem.loss]

    def term_numbers(self, shape: str, k: int, s: int) -> tuple[str, str]:
        """A loss formula with names (targets as ``t1``) and with numbers."""
        o = q.neuron("out", len(self.problem.layers), k, s)
        n = self.problem.n_outputs * len(batch_of_step(self.problem, self.step))
        t = operand(self.problem.targets[s - 1][k - 1])
        return shape.format(t=f"t{k}", o=self.label(o), n=n), shape.format(t=t, o=self.v(o), n=n)

    def loss(self, batch: list[int]) -> Section:
        problem = self.problem
        objective = problem.loss == "output"
        section = Section(f"Objective (output {problem.objective})" if objective else "Loss")
        section.title += "" if objective else f" ({problem.loss})"
        output = len(problem.layers)
        terms = []
        for s in batch:
            own = []
            for k in range(1, problem.n_outputs + 1):
                error = q.output_error(k, s)
                if self.has(error):
                    o = q.neuron("out", output, k, s)
                    t = operand(problem.targets[s - 1][k - 1])
                    section.lines.append(
                        self.line(error, f"t{k} - {self.label(o)}", f"{t} - {self.v(o)}")
                    )
                formula, numbers = self.term_numbers(self.term_shapes(k)[0], k, s)
                section.lines.append(self.line(q.term(k, s), formula, numbers))
                own.append(q.term(k, s))
            if self.has(q.sample_loss(s)):
                section.lines.append(self.sum_line(q.sample_loss(s), own))
            terms.extend(own)
        loss = self.sum_line(q.LOSS, terms)
        decay = problem.weight_decay
        if decay:
            weights = [q.weight(n, j, i) for n, j, i in weight_indices(problem)]
            squares = " + ".join(f"{self.label(w)}^2" for w in weights)
            numbers = " + ".join(f"{self.v(w)}^2" for w in weights)
            loss = self.line(
                q.LOSS,
                f"{loss.formula} + {operand(decay)}/2 * ({squares})",
                f"{loss.numbers} + {operand(decay)}/2 * ({numbers})",
            )
        section.lines.append(loss)
        return section

    def neuron_backward(self, number: int, j: int, s: int, is_output: bool) -> list[Line]:
        layer = self.problem.layers[number - 1]
        out, net = q.neuron("out", number, j, s), q.neuron("net", number, j, s)
        d_out, slope = q.neuron("dE_dout", number, j, s), q.neuron("dout_dnet", number, j, s)
        delta = q.neuron("delta", number, j, s)
        lines = []
        if is_output:
            formula, numbers = self.term_numbers(self.term_shapes(j)[1], j, s)
            lines.append(self.line(d_out, formula, numbers))
        else:
            parts = []
            for k in range(1, self.problem.n_outputs + 1):
                name = q.term_partial(k, "out", number, j, s)
                lines.append(self.hidden_term_line(name, k, number, j, s))
                parts.append(name)
            lines.append(self.sum_line(d_out, parts))
        shape = ACTIVATION_FORMULAS[layer.activation][1]
        lines.append(
            self.line(
                slope,
                self.shape(shape, layer, out=self.label(out), net=self.label(net)),
                self.shape(shape, layer, out=self.v(out), net=self.v(net)),
            )
        )
        if layer.activation == "softmax":
            lines.append(self.softmax_delta(number, j, s))
        else:
            lines.append(self.product_line(delta, [(d_out, slope)]))
        error_term = q.neuron("error_term", number, j, s)
        if self.has(error_term):
            lines.append(self.line(error_term, f"-{self.label(delta)}", f"-{self.v(delta)}"))
        return lines

    def softmax_delta(self, number: int, j: int, s: int) -> Line:
        """Softmax's full Jacobian: delta_j = out_j * (dE_dout_j - sum_m dE_dout_m * out_m)."""
        size = self.problem.layers[number - 1].size
        outs = [q.neuron("out", number, m, s) for m in range(1, size + 1)]
        d_outs = [q.neuron("dE_dout", number, m, s) for m in range(1, size + 1)]
        formula = " + ".join(f"{self.label(d)} * {self.label(o)}" for d, o in zip(d_outs, outs))
        numbers = " + ".join(f"{self.v(d)} * {self.v(o)}" for d, o in zip(d_outs, outs))
        out, d_out = outs[j - 1], d_outs[j - 1]
        return self.line(
            q.neuron("delta", number, j, s),
            f"{self.label(out)} * ({self.label(d_out)} - ({formula}))",
            f"{self.v(out)} * ({self.v(d_out)} - ({numbers}))",
        )

    def hidden_term_line(self, name: str, k: int, number: int, j: int, s: int) -> Line:
        """dE_k/dout_j = sum over the neurons m above of dE_k/dnet_m * w_mj."""
        above = self.problem.layers[number]
        pairs = [
            (q.term_partial(k, "net", number + 1, m, s), q.weight(number + 1, m, j))
            for m in range(1, above.size + 1)
        ]
        return self.product_line(name, pairs)

    def input_gradients(self, batch: list[int]) -> list[Line]:
        """dE/d input i = sum over the first layer's neurons j of delta_j * w_ji."""
        first = self.problem.layers[0]
        lines = []
        for s in batch:
            for i in range(1, self.problem.n_inputs + 1):
                name = q.neuron("dE_dout", 0, i, s)
                if self.has(name):
                    pairs = [
                        (q.neuron("delta", 1, j, s), q.weight(1, j, i))
                        for j in range(1, first.size + 1)
                    ]
                    lines.append(self.product_line(name, pairs))
        return lines

    def layer_gradients(self, number: int, batch: list[int]) -> list[Line]:
        return updates.gradient_lines(self, number, batch)

    def layer_updates(self, number: int) -> list[Line]:
        return updates.update_lines(self, number)


def weight_indices(problem: Problem) -> Iterator[tuple[int, int, int]]:
    """(layer, j, i) of every weight, 1-based, layer by layer."""
    for number, layer in enumerate(problem.layers, start=1):
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                yield number, j, i
