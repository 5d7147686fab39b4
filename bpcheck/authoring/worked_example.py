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

from bpcheck.model import quantities as q
from bpcheck.model.fixture import Claim, Fixture
from bpcheck.model.problem import batch_of_step
from bpcheck.model.verdicts import verdict

ACTIVATION_FORMULAS = {
    "identity": ("{net}", "1"),
    "sigmoid": ("1 / (1 + e^-{net})", "{out} (1 - {out})"),
    "tanh": ("tanh({net})", "1 - {out}^2"),
    "relu": ("max(0, {net})", "1 if {net} > 0 else 0"),
    "softmax": ("e^{net} / sum e^net", "{out} (1 - {out})"),
}
"""(out from net, d out / d net) for each activation, as tutorials write them."""

TERM_FORMULAS = {
    "half_sse": ("1/2 ({t} - {o})^2", "-({t} - {o})"),
    "sse": ("({t} - {o})^2", "-2 ({t} - {o})"),
    "mse": ("({t} - {o})^2 / {n}", "-2 ({t} - {o}) / {n}"),
    "bce": ("-({t} log {o} + (1 - {t}) log(1 - {o}))", "-{t} / {o} + (1 - {t}) / (1 - {o})"),
    "softmax_ce": ("-{t} log {o}", "-{t} / {o}"),
}
"""(loss term, d term / d out) for each loss."""


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
        per-sample quantity stands for sample 1 and takes ``@s`` for the others.
        """
        base, sample = q.split_sample(canonical)
        suffix = "" if sample is None or self.problem.n_samples == 1 else f"@{sample}"
        if canonical in self.names:
            return self.names[canonical]
        if base in self.names:
            return self.names[base] + suffix
        return base + suffix

    def canonical_label(self, canonical: str) -> str:
        """The canonical name as a reader writes it: ``@s`` only with several samples."""
        base, sample = q.split_sample(canonical)
        several = sample is not None and self.problem.n_samples > 1
        return f"{base}@{sample}" if several else base

    def line(self, canonical: str, formula: str, numbers: str, step: int | None = None) -> Line:
        at = self.step if step is None else step
        value = self.trace[at][canonical]
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

    # --- the sections ------------------------------------------------------------------

    def sections(self) -> Iterator[Section]:
        """Forward, loss, then each layer from the top: its deltas, gradients and updates."""
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
        if self.step < self.problem.steps and self.step + 1 in self.trace:
            after = self.step + 1
            yield Section(
                f"After the update (step {after})",
                [self.line(q.LOSS, "", "", after)],
            )

    def forward(self, s: int, several: bool) -> Section:
        section = Section("Forward pass" + (f", sample {s}" if several else ""))
        for number, layer in enumerate(self.problem.layers, start=1):
            for j in range(1, layer.size + 1):
                net = q.neuron("net", number, j, s)
                terms = [
                    (
                        self.label(q.weight(number, j, i)),
                        self.label(q.neuron("out", number - 1, i, s)),
                    )
                    for i in range(1, layer.fan_in + 1)
                ]
                values = [
                    (self.v(q.weight(number, j, i)), self.v(q.neuron("out", number - 1, i, s)))
                    for i in range(1, layer.fan_in + 1)
                ]
                formula = " + ".join(f"{w} * {o}" for w, o in terms)
                numbers = " + ".join(f"{w} * {o}" for w, o in values)
                bias = self.bias_name(number, j)
                if bias is not None:
                    formula += f" + {self.label(bias)}"
                    numbers += f" + {self.v(bias)}"
                section.lines.append(self.line(net, formula, numbers))
                out = q.neuron("out", number, j, s)
                shape = ACTIVATION_FORMULAS[layer.activation][0]
                section.lines.append(
                    self.line(out, shape.format(net=self.label(net)), shape.format(net=self.v(net)))
                )
        return section

    def bias_name(self, layer: int, j: int) -> str | None:
        kind = self.problem.layers[layer - 1].bias_kind
        if kind == "none":
            return None
        return q.bias(layer, None if kind == "shared" else j)

    def loss(self, batch: list[int]) -> Section:
        section = Section(f"Loss ({self.problem.loss})")
        term_shape = TERM_FORMULAS[self.problem.loss][0]
        n = self.problem.n_outputs * len(batch)
        output = len(self.problem.layers)
        terms = []
        for s in batch:
            for k in range(1, self.problem.n_outputs + 1):
                o = q.neuron("out", output, k, s)
                t = operand(self.problem.targets[s - 1][k - 1])
                formula = term_shape.format(t=f"t{k}", o=self.label(o), n=n)
                numbers = term_shape.format(t=t, o=self.v(o), n=n)
                section.lines.append(self.line(q.term(k, s), formula, numbers))
                terms.append(q.term(k, s))
        formula = " + ".join(self.label(name) for name in terms)
        section.lines.append(self.line(q.LOSS, formula, " + ".join(self.v(t) for t in terms)))
        return section

    def neuron_backward(self, number: int, j: int, s: int, is_output: bool) -> list[Line]:
        layer = self.problem.layers[number - 1]
        out, net = q.neuron("out", number, j, s), q.neuron("net", number, j, s)
        d_out, slope = q.neuron("dE_dout", number, j, s), q.neuron("dout_dnet", number, j, s)
        delta = q.neuron("delta", number, j, s)
        lines = []
        if is_output:
            shape = TERM_FORMULAS[self.problem.loss][1]
            t = operand(self.problem.targets[s - 1][j - 1])
            n = self.problem.n_outputs * len(batch_of_step(self.problem, self.step))
            formula = shape.format(t=f"t{j}", o=self.label(out), n=n)
            numbers = shape.format(t=t, o=self.v(out), n=n)
            lines.append(self.line(d_out, formula, numbers))
        else:
            parts = []
            for k in range(1, self.problem.n_outputs + 1):
                name = q.term_partial(k, "out", number, j, s)
                lines.append(self.hidden_term_line(name, k, number, j, s))
                parts.append(name)
            formula = " + ".join(self.label(p) for p in parts)
            lines.append(self.line(d_out, formula, " + ".join(self.v(p) for p in parts)))
        shape = ACTIVATION_FORMULAS[layer.activation][1]
        lines.append(
            self.line(
                slope,
                shape.format(out=self.label(out), net=self.label(net)),
                shape.format(out=self.v(out), net=self.v(net)),
            )
        )
        lines.append(
            self.line(
                delta,
                f"{self.label(d_out)} * {self.label(slope)}",
                f"{self.v(d_out)} * {self.v(slope)}",
            )
        )
        return lines

    def hidden_term_line(self, name: str, k: int, number: int, j: int, s: int) -> Line:
        """dE_k/dout_j = sum over the neurons m above of dE_k/dnet_m * w_mj."""
        above = self.problem.layers[number]
        formula, numbers = [], []
        for m in range(1, above.size + 1):
            partial = q.term_partial(k, "net", number + 1, m, s)
            weight = q.weight(number + 1, m, j)
            formula.append(f"{self.label(partial)} * {self.label(weight)}")
            numbers.append(f"{self.v(partial)} * {self.v(weight)}")
        return self.line(name, " + ".join(formula), " + ".join(numbers))

    def layer_gradients(self, number: int, batch: list[int]) -> list[Line]:
        """dE/dw = delta * the output it multiplies (summed over the batch)."""
        layer = self.problem.layers[number - 1]
        lines = []
        for j in range(1, layer.size + 1):
            for i in range(1, layer.fan_in + 1):
                pairs = [
                    (q.neuron("delta", number, j, s), q.neuron("out", number - 1, i, s))
                    for s in batch
                ]
                formula = " + ".join(f"{self.label(d)} * {self.label(o)}" for d, o in pairs)
                numbers = " + ".join(f"{self.v(d)} * {self.v(o)}" for d, o in pairs)
                lines.append(self.line(q.weight_grad(number, j, i), formula, numbers))
        lines.extend(self.bias_gradients(number, batch))
        return lines

    def bias_gradients(self, number: int, batch: list[int]) -> list[Line]:
        layer = self.problem.layers[number - 1]
        if layer.bias_kind == "none":
            return []
        groups = (
            [(None, range(1, layer.size + 1))]
            if layer.bias_kind == "shared"
            else [(j, range(j, j + 1)) for j in range(1, layer.size + 1)]
        )
        lines = []
        for j, neurons in groups:
            deltas = [q.neuron("delta", number, m, s) for m in neurons for s in batch]
            lines.append(
                self.line(
                    q.bias_grad(number, j),
                    " + ".join(self.label(d) for d in deltas),
                    " + ".join(self.v(d) for d in deltas),
                )
            )
        return lines

    def layer_updates(self, number: int) -> list[Line]:
        """The new parameters: p - rate * dE/dp (shown with the step they belong to)."""
        after = self.step + 1
        if self.step >= self.problem.steps or after not in self.trace:
            return []
        layer = self.problem.layers[number - 1]
        rate = operand(self.problem.learning_rate)
        names = [
            (q.weight(number, j, i), q.weight_grad(number, j, i))
            for j in range(1, layer.size + 1)
            for i in range(1, layer.fan_in + 1)
        ]
        if layer.bias_kind != "none" and layer.bias_trainable:
            js: list[int | None] = (
                [None] if layer.bias_kind == "shared" else list(range(1, layer.size + 1))
            )
            names.extend((q.bias(number, j), q.bias_grad(number, j)) for j in js)
        return [
            self.line(
                name,
                f"{self.label(name)} - {rate} * {self.label(grad)}",
                f"{self.v(name)} - {rate} * {self.v(grad)}",
                after,
            )
            for name, grad in names
        ]
