"""The training half of a worked example: gradients, the changes an update applies, settings.

:class:`~bpcheck.authoring.worked_example.Explainer` shows the forward and backward
pass; the lines here follow the update rule of :class:`~bpcheck.model.problem.Problem`
(weight decay inside the gradient, the layer's own rate, momentum's velocity,
Nesterov's look-ahead), so a reader sees which number each setting changes.
:func:`settings` says the settings themselves, for the top of the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpcheck.authoring import worked_example as shown
from bpcheck.model import quantities as q
from bpcheck.model.problem import LOSS_TERMS, Problem, epoch_batches, layer_rate

if TYPE_CHECKING:
    from bpcheck.authoring.worked_example import Explainer, Line

VELOCITY = "velocity"
"""The word for momentum's velocity in a formula: the change of the step before (classical
momentum), 0 at step 0.  It is no quantity of its own, so it has no name to claim."""


def gradient_lines(ex: Explainer, number: int, batch: list[int]) -> list[Line]:
    """dE/dw = delta * the output it multiplies, summed over the batch (+ weight decay * w);
    each sample's own gradient too, when the batch has several or weight decay changes it."""
    layer = ex.problem.layers[number - 1]
    decay = ex.problem.weight_decay
    own = len(batch) > 1 or decay != 0
    lines = []
    for j in range(1, layer.size + 1):
        for i in range(1, layer.fan_in + 1):
            grad = q.weight_grad(number, j, i)
            pairs = [
                (q.neuron("delta", number, j, s), q.neuron("out", number - 1, i, s)) for s in batch
            ]
            for s, pair in zip(batch, pairs):
                if own and ex.has(q.at_sample(grad, s)):
                    lines.append(ex.product_line(q.at_sample(grad, s), [pair]))
            line = ex.product_line(grad, pairs)
            if decay:
                weight, rate = q.weight(number, j, i), shown.operand(decay)
                formula = f"{line.formula} + {rate} * {ex.label(weight)}"
                line = ex.line(grad, formula, f"{line.numbers} + {rate} * {ex.v(weight)}")
            lines.append(line)
    lines.extend(bias_gradient_lines(ex, number, batch))
    return lines


def bias_gradient_lines(ex: Explainer, number: int, batch: list[int]) -> list[Line]:
    """dE/db = the deltas it adds to (no weight decay on a bias)."""
    layer = ex.problem.layers[number - 1]
    if layer.bias_kind == "none":
        return []
    groups = (
        [(None, range(1, layer.size + 1))]
        if layer.bias_kind == "shared"
        else [(j, range(j, j + 1)) for j in range(1, layer.size + 1)]
    )
    lines = []
    for j, neurons in groups:
        grad = q.bias_grad(number, j)
        for s in batch:
            if len(batch) > 1 and ex.has(q.at_sample(grad, s)):
                own = [q.neuron("delta", number, m, s) for m in neurons]
                lines.append(ex.sum_line(q.at_sample(grad, s), own))
        lines.append(
            ex.sum_line(grad, [q.neuron("delta", number, m, s) for m in neurons for s in batch])
        )
    return lines


def _parameters(ex: Explainer, number: int) -> list[tuple[str, str, str]]:
    """(parameter, gradient, change) of the layer's weights and trainable biases."""
    layer = ex.problem.layers[number - 1]
    names = [
        (q.weight(number, j, i), q.weight_grad(number, j, i), q.weight_change(number, j, i))
        for j in range(1, layer.size + 1)
        for i in range(1, layer.fan_in + 1)
    ]
    if layer.bias_kind != "none" and layer.bias_trainable:
        js: list[int | None] = (
            [None] if layer.bias_kind == "shared" else list(range(1, layer.size + 1))
        )
        names.extend(
            (q.bias(number, j), q.bias_grad(number, j), q.bias_change(number, j)) for j in js
        )
    return names


def update_lines(ex: Explainer, number: int) -> list[Line]:
    """The change of each parameter (``dw5``), then the new value (shown with its step).

    Without the change in the trace (an engine without ``quantity:extended``), plain
    descent is shown as ``p - rate * dE/dp``, and momentum as the new value alone.
    """
    after = ex.step + 1
    if ex.step >= ex.problem.steps or after not in ex.trace:
        return []
    rate = shown.operand(layer_rate(ex.problem, number - 1))
    lines = []
    for name, grad, change in _parameters(ex, number):
        if ex.has(change):
            lines.append(change_line(ex, change, grad, layer_rate(ex.problem, number - 1)))
            formula = f"{ex.label(name)} + {ex.label(change)}"
            lines.append(ex.line(name, formula, f"{ex.v(name)} + {ex.v(change)}", after))
        elif ex.problem.momentum == 0:
            formula = f"{ex.label(name)} - {rate} * {ex.label(grad)}"
            lines.append(ex.line(name, formula, f"{ex.v(name)} - {rate} * {ex.v(grad)}", after))
        else:
            lines.append(ex.line(name, "", "", after))
    return lines


def change_line(ex: Explainer, change: str, grad: str, rate: float) -> Line:
    """``dw = -rate * g``; with momentum ``mu * velocity - rate * g`` (Nesterov: ``mu * (mu *
    velocity - rate * g) - rate * g``), the velocity's number put in when it is known."""
    mu, eta = ex.problem.momentum, shown.operand(rate)
    g = ex.label(grad)
    if mu == 0:
        return ex.line(change, f"-{eta} * {g}", f"-{eta} * {ex.v(grad)}")
    m = shown.operand(mu)
    inner = f"{m} * {VELOCITY} - {eta} * {g}"
    formula = f"{m} * ({inner}) - {eta} * {g}" if ex.problem.nesterov else inner
    known = velocity(ex, change, grad, rate)
    if known is None:
        return ex.line(change, formula, "")
    numbers = formula.replace(VELOCITY, shown.operand(known)).replace(g, ex.v(grad))
    return ex.line(change, formula, numbers)


def velocity(ex: Explainer, change: str, grad: str, rate: float) -> float | None:
    """Momentum's velocity before this step's update, from the step before: its change
    (classical), or ``(change + rate * gradient) / momentum`` (Nesterov); 0 at step 0."""
    if ex.step == 0:
        return 0.0
    before = ex.trace.get(ex.step - 1, {})
    if change not in before or grad not in before:
        return None
    if not ex.problem.nesterov:
        return before[change]
    return (before[change] + rate * before[grad]) / ex.problem.momentum


# --- the settings ------------------------------------------------------------------------


def settings(problem: Problem, step: int) -> list[tuple[str, str]]:
    """(setting, what it is) for the top of the page: every setting a step's numbers depend on."""
    rows = [objective_row(problem), ("activations", activations(problem))]
    rows.extend(batch_rows(problem, step))
    rows.append(("learning rate", rates(problem)))
    if problem.momentum:
        kind = "Nesterov" if problem.nesterov else "classical"
        rows.append(("momentum", f"{problem.momentum:g} ({kind}; the velocity starts at 0)"))
    if problem.weight_decay:
        wd = f"{problem.weight_decay:g}"
        rows.append(
            (
                "weight decay",
                f"{wd}, coupled L2: E gains {wd}/2 * the sum of squared weights once per "
                f"step, dE_dw gains {wd} * w (biases and per-sample quantities excluded)",
            )
        )
    rows.append(("update order", problem.update_order))
    precision = (
        "float32: every engine computes in float32" if problem.precision == "float32" else "float64"
    )
    rows.append(("precision", precision))
    return rows


def objective_row(problem: Problem) -> tuple[str, str]:
    if problem.loss == "output":
        return (
            "objective",
            f"output {problem.objective}: no loss, the gradient of output {problem.objective} "
            "alone (upstream gradient 1), summed over the batch; no targets",
        )
    return ("loss", f"{problem.loss}: {LOSS_TERMS[problem.loss]}")


def activations(problem: Problem) -> str:
    """Each layer's activation, with leaky_relu's slope and elu's alpha."""
    parts = []
    for number, layer in enumerate(problem.layers, start=1):
        text = f"layer {number}: {layer.activation}"
        if layer.activation == "leaky_relu":
            text += f" (slope {layer.slope:g})"
        elif layer.activation == "elu":
            text += f" (alpha {layer.alpha:g})"
        parts.append(text)
    return "; ".join(parts)


def batch_rows(problem: Problem, step: int) -> list[tuple[str, str]]:
    """How samples are batched, and which samples this step's update takes (its epoch)."""
    batches = epoch_batches(problem)
    if problem.batch == "full":
        kind = "full: every sample in each update"
    elif problem.batch == "per_sample":
        kind = "per sample: one sample per update, in turn"
    else:
        order = ", ".join(str(s + 1) for s in problem.sample_order or range(problem.n_samples))
        kind = f"mini-batches of {problem.batch_size}, samples taken in the order {order}"
    batch = batches[step % len(batches)]
    epoch, update = divmod(step, len(batches))
    where = f"sample{'s' if len(batch) > 1 else ''} {', '.join(str(s + 1) for s in batch)}"
    if len(batches) > 1:
        where += f": epoch {epoch + 1}, update {update + 1} of {len(batches)} per epoch"
    total = f"{problem.steps} updates" + (
        f" ({problem.steps / len(batches):g} epochs)" if len(batches) > 1 else ""
    )
    return [("batch", kind), ("training", total), (f"step {step}", where)]


def rates(problem: Problem) -> str:
    """The problem's rate, or each layer's."""
    own = [layer_rate(problem, n) for n in range(len(problem.layers))]
    if all(layer.learning_rate is None for layer in problem.layers):
        return f"{problem.learning_rate:g}"
    return ", ".join(f"layer {n}: {rate:g}" for n, rate in enumerate(own, start=1))
