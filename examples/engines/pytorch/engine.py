"""A bpcheck engine in PyTorch: the forward pass written once, every derivative from torch.autograd.

    python engine.py

speaks bpcheck's engine protocol (docs/protocol.md) on standard input and output.
It writes no derivative by hand: each one is a vector-Jacobian product that
``torch.autograd.grad`` takes through a small function (a layer's affine map, its
activation, the loss terms), so a disagreement with bpcheck's engines points at
either autograd or the way the problem is set up here, never at a hand-derived slope.

Backpropagation goes layer by layer, as the tutorials (and bpcheck's trace) do: the
top layer's delta, its gradient, then dE/dout of the layer below through that layer's
weights (its new weights, in ``sequential`` order, where the layer is updated at once).
Everything is float64, on the CPU, on one thread. Without torch the engine answers
``start`` with ``cannot run``: every fixture is skipped, with that reason.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from typing import Any

try:
    import torch
except ImportError as error:  # the engine still speaks the protocol: "cannot run", with why
    torch = None  # type: ignore[assignment]
    MISSING = f"torch is not installed ({error}); pip install 'bpcheck[torch]'"
else:
    MISSING = ""
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)

PROTOCOL = 1
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax")
LOSSES = ("half_sse", "sse", "mse", "bce", "softmax_ce")
CAPABILITIES = sorted(
    [f"activation:{a}" for a in ACTIVATIONS]
    + [f"loss:{loss}" for loss in LOSSES]
    + ["bias:none", "bias:shared", "bias:per_neuron", "batch:full", "batch:per_sample"]
    + ["order:simultaneous", "order:sequential"]
)

Tensor = Any  # torch.Tensor, when torch is installed


# --- the functions autograd differentiates -------------------------------------------------


def activate(name: str, net: Tensor) -> Tensor:
    if name == "identity":
        return net * 1.0
    if name == "sigmoid":
        return torch.sigmoid(net)
    if name == "tanh":
        return torch.tanh(net)
    if name == "relu":  # written with where, so relu(NaN) is NaN with slope 1, as bpcheck says
        return torch.where(net <= 0.0, torch.zeros_like(net), net)
    if name == "softmax":
        return torch.softmax(net, dim=-1)
    raise ValueError(f"unknown activation {name!r}")


def loss_terms(loss: str, target: Tensor, out: Tensor, scale: int) -> Tensor:
    """Each output's term, per sample: a tensor shaped like ``out``."""
    error = target - out
    if loss == "half_sse":
        return 0.5 * (error * error)
    if loss == "sse":
        return error * error
    if loss == "mse":
        return error * error / scale
    if loss == "bce":
        return -(t_log(target, out) + t_log(1.0 - target, 1.0 - out))
    if loss == "softmax_ce":
        return -t_log(target, out)
    raise ValueError(f"unknown loss {loss!r}")


def t_log(t: Tensor, o: Tensor) -> Tensor:
    """t log o, and 0 (with a slope of 0) where t is 0, whatever o is: bpcheck's convention.

    The log is taken of 1 where t is 0, so that no 0/0 reaches autograd (xlogy's
    gradient at t = 0, o = 0 is NaN, and torch.where passes a NaN gradient on).
    """
    zero = t == 0.0
    safe = torch.where(zero, torch.ones_like(o), o)
    return torch.where(zero, torch.zeros_like(o), t * torch.log(safe))


def affine(weights: Tensor, bias: Tensor | None, below: Tensor) -> Tensor:
    """Net inputs of a layer for every sample (rows): below @ W^T + b."""
    net = below @ weights.T
    return net if bias is None else net + bias


def vjp(function: Any, inputs: tuple[Tensor, ...], cotangent: Tensor) -> tuple[Tensor, ...]:
    """cotangent^T times the Jacobian of ``function`` at ``inputs``, for each input: autograd."""
    leaves = tuple(x.detach().requires_grad_(True) for x in inputs)
    grads = torch.autograd.grad(function(*leaves), leaves, cotangent, allow_unused=True)
    return tuple(torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads))


# --- one problem ---------------------------------------------------------------------------


class Network:
    def __init__(self, problem: dict[str, Any]) -> None:
        self.problem = problem
        self.layers = problem["layers"]
        self.weights = [torch.tensor(layer["weights"]) for layer in self.layers]
        self.biases = [self._bias(layer) for layer in self.layers]
        self.inputs = torch.tensor(problem["inputs"])
        self.targets = torch.tensor(problem["targets"])

    @staticmethod
    def _bias(layer: dict[str, Any]) -> Tensor | None:
        kind, values = layer["bias"]["kind"], layer["bias"]["values"]
        if kind == "none":
            return None
        return torch.tensor(values[0]) if kind == "shared" else torch.tensor(values)

    def batch(self, step: int) -> list[int]:
        n = len(self.problem["inputs"])
        return list(range(n)) if self.problem["batch"] == "full" else [step % n]

    def forward(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        nets, outs = [x], [x]
        with torch.no_grad():
            for layer, w, b in zip(self.layers, self.weights, self.biases):
                nets.append(affine(w, b, outs[-1]))
                outs.append(activate(layer["activation"], nets[-1]))
        return nets, outs

    def update(self, index: int, grad_w: Tensor, grad_b: Tensor | None) -> None:
        rate = self.problem["learning_rate"]
        self.weights[index] = self.weights[index] - rate * grad_w
        if grad_b is not None and self.layers[index]["bias"]["trainable"]:
            self.biases[index] = self.biases[index] - rate * grad_b

    def step(self, step: int, recording: bool, updating: bool) -> dict[str, float]:
        values: dict[str, float] = {}
        batch = self.batch(step)
        x, t = self.inputs[batch], self.targets[batch]
        n_out = t.shape[1]
        scale = n_out * len(batch)
        loss = self.problem["loss"]
        top = len(self.layers)
        if recording:
            self._record_parameters(values)
        nets, outs = self.forward(x)
        terms = loss_terms(loss, t, outs[top], scale)
        # dE/dout at the output: the vjp of the summed terms; and each term k on its own
        (d_out,) = vjp(lambda o: loss_terms(loss, t, o, scale), (outs[top],), torch.ones_like(t))
        term_outs = [d_out * one_hot(n_out, k) for k in range(n_out)]
        if recording:
            self._record_forward(batch, nets, outs, terms, values)
        pending = []
        for number in range(top, 0, -1):
            index = number - 1
            name = self.layers[index]["activation"]

            delta = through_activation(name, nets[number], d_out)
            term_deltas = [through_activation(name, nets[number], d) for d in term_outs]
            grad_w, grad_b = layer_gradients(
                self.weights[index], self.biases[index], outs[index], delta
            )
            if recording:
                self._record_backward(number, batch, d_out, delta, term_outs, term_deltas, values)
                self._record_gradients(number, grad_w, grad_b, values)
            if updating and self.problem["update_order"] == "sequential":
                self.update(index, grad_w, grad_b)
            else:
                pending.append((index, grad_w, grad_b))
            if number > 1:  # dE/dout of the layer below, through this layer's (current) weights
                weights = self.weights[index]
                d_out = through_weights(weights, outs[index], delta)
                term_outs = [through_weights(weights, outs[index], d) for d in term_deltas]
        if updating:
            for index, grad_w, grad_b in pending:
                self.update(index, grad_w, grad_b)
        return values

    def train_fast(self, step: int) -> None:
        """A simultaneous step nothing records: one backward pass through the whole loss."""
        batch = self.batch(step)
        x, t = self.inputs[batch], self.targets[batch]
        scale = t.shape[1] * len(batch)
        leaves = [w.detach().requires_grad_(True) for w in self.weights]
        biases = [None if b is None else b.detach().requires_grad_(True) for b in self.biases]
        out = x
        for layer, w, b in zip(self.layers, leaves, biases):
            out = activate(layer["activation"], affine(w, b, out))
        total = loss_terms(self.problem["loss"], t, out, scale).sum()
        wanted = leaves + [b for b in biases if b is not None]
        grads = list(torch.autograd.grad(total, wanted))
        grad_ws, grad_bs = grads[: len(leaves)], iter(grads[len(leaves) :])
        for index, grad_w in enumerate(grad_ws):
            self.update(index, grad_w, None if biases[index] is None else next(grad_bs))

    # --- recording under the canonical names --------------------------------------------

    def _record_parameters(self, values: dict[str, float]) -> None:
        for number, (w, b) in enumerate(zip(self.weights, self.biases), start=1):
            for (j, i), value in numbered(w):
                values[f"w[{number},{j},{i}]"] = value
            if b is not None and b.dim() == 0:
                values[f"b[{number}]"] = float(b)
            elif b is not None:
                for (j,), value in numbered(b):
                    values[f"b[{number},{j}]"] = value

    def _record_forward(self, batch, nets, outs, terms, values) -> None:  # type: ignore[no-untyped-def]
        values["E"] = float(terms.sum())
        for row, s in enumerate(batch, start=0):
            at = f"@{s + 1}"
            for (i,), value in numbered(outs[0][row]):
                values[f"out[0,{i}]{at}"] = value
            for number in range(1, len(self.layers) + 1):
                name = self.layers[number - 1]["activation"]
                net = nets[number][row]
                slopes = diagonal_of_jacobian(functools.partial(activate, name), net)
                for j in range(net.shape[0]):
                    values[f"net[{number},{j + 1}]{at}"] = float(net[j])
                    values[f"out[{number},{j + 1}]{at}"] = float(outs[number][row][j])
                    values[f"dout_dnet[{number},{j + 1}]{at}"] = float(slopes[j])
            for (k,), value in numbered(terms[row]):
                values[f"E[{k}]{at}"] = value

    @staticmethod
    def _record_backward(number, batch, d_out, delta, term_outs, term_deltas, values) -> None:  # type: ignore[no-untyped-def]
        for row, s in enumerate(batch):
            at = f"@{s + 1}"
            for j in range(delta.shape[1]):
                values[f"dE_dout[{number},{j + 1}]{at}"] = float(d_out[row][j])
                values[f"delta[{number},{j + 1}]{at}"] = float(delta[row][j])
                for k, (t_out, t_delta) in enumerate(zip(term_outs, term_deltas), start=1):
                    values[f"dE[{k}]_dout[{number},{j + 1}]{at}"] = float(t_out[row][j])
                    values[f"dE[{k}]_dnet[{number},{j + 1}]{at}"] = float(t_delta[row][j])

    @staticmethod
    def _record_gradients(
        number: int, grad_w: Tensor, grad_b: Tensor | None, values: dict[str, float]
    ) -> None:
        for (j, i), value in numbered(grad_w):
            values[f"dE_dw[{number},{j},{i}]"] = value
        if grad_b is not None and grad_b.dim() == 0:
            values[f"dE_db[{number}]"] = float(grad_b)
        elif grad_b is not None:
            for (j,), value in numbered(grad_b):
                values[f"dE_db[{number},{j}]"] = value


def through_activation(name: str, net: Tensor, cotangent: Tensor) -> Tensor:
    """d/dnet from d/dout: the vjp of the activation at ``net``."""
    return vjp(functools.partial(activate, name), (net,), cotangent)[0]


def through_weights(weights: Tensor, below: Tensor, cotangent: Tensor) -> Tensor:
    """d/dout of the layer below from d/dnet of this one: the vjp of the affine map in its input."""
    return vjp(lambda y: affine(weights, None, y), (below,), cotangent)[0]


def layer_gradients(
    weights: Tensor, bias: Tensor | None, below: Tensor, delta: Tensor
) -> tuple[Tensor, Tensor | None]:
    """dE/dW and dE/db (summed over the batch): the vjp of the affine map in its parameters."""
    if bias is None:
        return vjp(lambda w: affine(w, None, below), (weights,), delta)[0], None
    grad_w, grad_b = vjp(lambda w, b: affine(w, b, below), (weights, bias), delta)
    return grad_w, grad_b


def one_hot(n: int, k: int) -> Tensor:
    mask = torch.zeros(n)
    mask[k] = 1.0
    return mask


def diagonal_of_jacobian(function: Any, x: Tensor) -> Tensor:
    """d f_j / d x_j for each j: the activation's slope (softmax: the Jacobian's diagonal)."""
    jacobian = torch.autograd.functional.jacobian(function, x)
    return torch.diagonal(jacobian)


def numbered(tensor: Tensor) -> list[tuple[tuple[int, ...], float]]:
    """(1-based index, value) for every element, in row-major order."""
    flat = tensor.reshape(-1).tolist()
    shape = tuple(tensor.shape)
    indices: list[tuple[int, ...]] = [()]
    for size in shape:
        indices = [(*index, i + 1) for index in indices for i in range(size)]
    return list(zip(indices, flat))


def run(problem: dict[str, Any], record: list[int]) -> dict[str, dict[str, float]]:
    network = Network(problem)
    wanted = set(record)
    trace: dict[str, dict[str, float]] = {}
    for step in range(problem["steps"] + 1):
        recording = step in wanted
        if not recording:
            if step == problem["steps"]:
                break
            if problem["update_order"] == "simultaneous":
                network.train_fast(step)
                continue
        values = network.step(step, recording, step < problem["steps"])
        if recording:
            trace[str(step)] = values
    return trace


# --- the protocol --------------------------------------------------------------------------


def plain(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def answer(request: dict[str, Any]) -> bool:
    """Answer one request; False after ``stop``."""
    kind = request.get("request")
    if kind == "start":
        if MISSING:
            reply({"reply": "cannot run", "reason": MISSING})
        else:
            version = f"1 (torch {torch.__version__})"
            reply(
                {
                    "reply": "started",
                    "protocol": PROTOCOL,
                    "name": "pytorch-example",
                    "version": version,
                    "capabilities": CAPABILITIES,
                }
            )
    elif kind == "run":
        try:
            trace = run(request["problem"], request["record"])
        except Exception as error:  # reported as data: errored, with the message
            message = f"{type(error).__name__}: {error}"
            reply({"reply": "error", "id": request["id"], "message": message})
        else:
            plain_trace = {s: {n: plain(v) for n, v in vs.items()} for s, vs in trace.items()}
            reply({"reply": "trace", "id": request["id"], "trace": plain_trace})
    elif kind == "stop":
        return False
    else:
        reply({"reply": "error", "message": f"unknown request {kind!r}"})
    return True


def main() -> None:
    for line in sys.stdin:
        if not answer(json.loads(line)):
            return


if __name__ == "__main__":
    main()
