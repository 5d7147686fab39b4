"""The loops engine itself: the seams, the recorded step and training (see the package)."""

from __future__ import annotations

from collections.abc import Collection

from bpcheck.engines.loops import record
from bpcheck.engines.loops.formulas import (
    NET_WRITTEN,
    Matrix,
    Vector,
    activation_of,
    alpha_of,
    derivative_from_net,
    elu,
    exp,
    leaky_relu,
    loss_term_derivative,
    one_hot,
    sigmoid,
    slope_of,
    softplus,
    t_log,
    tanh,
)
from bpcheck.engines.loops.inline import seams_are_ours, train
from bpcheck.engines.loops.optimizer import changes, decay_penalty, with_decay
from bpcheck.engines.loops.params import Forward, Params, neuron_biases
from bpcheck.engines.loops.single import in_float32, plain
from bpcheck.model import quantities as q
from bpcheck.model.engine import ALL_CAPABILITIES, Availability
from bpcheck.model.problem import Layer, Problem, batch_of_step, is_plain_descent, layer_rate


class LoopsEngine:
    """Scalar Python loops: the reference a reader can follow with a pencil."""

    name = "loops"
    version = "1"
    capabilities = ALL_CAPABILITIES

    def available(self) -> Availability:
        return Availability(True)

    # --- seams: activations, loss, one sample forward and backward ------------------

    def activate(self, name: str, nets: Vector) -> Vector:
        """The layer's outputs from its net inputs (``name`` carries a slope or an alpha)."""
        if name == "identity":
            return list(nets)
        if name == "sigmoid":
            return [sigmoid(x) for x in nets]
        if name == "tanh":
            return [tanh(x) for x in nets]
        if name == "relu":  # NaN is not <= 0: relu(NaN) is NaN, with slope 1
            return [0.0 if x <= 0.0 else x for x in nets]
        if name == "leaky_relu":
            slope = slope_of(name)
            return [leaky_relu(x, slope) for x in nets]
        if name == "softplus":
            return [softplus(x) for x in nets]
        if name == "elu":
            alpha = alpha_of(name)
            return [elu(x, alpha) for x in nets]
        if name == "softmax":
            top = max(nets)
            exps = [exp(x - top) for x in nets]
            total = sum(exps)
            return [e / total for e in exps]
        raise ValueError(f"unknown activation {name!r}")

    def elementwise_derivative(self, name: str, out: float) -> float:
        """d out / d net written from the output; relu'(0) is 0 by convention."""
        if name == "identity":
            return 1.0
        if name == "sigmoid":
            return out * (1.0 - out)
        if name == "tanh":
            return 1.0 - out * out
        if name == "relu":
            return 0.0 if out <= 0.0 else 1.0
        raise ValueError(f"unknown activation {name!r}")

    def net_derivative(self, name: str, net: float) -> float:
        """d out / d net written from the net input: leaky_relu, softplus, elu (left at 0)."""
        return derivative_from_net(name, net)

    def out_net_jacobian(self, name: str, outs: Vector) -> Matrix:
        """``J[a][b] = d out_a / d net_b`` written from the outputs, as tutorials do."""
        n = len(outs)
        if name == "softmax":
            return [
                [outs[a] * ((1.0 if a == b else 0.0) - outs[b]) for b in range(n)] for a in range(n)
            ]
        diagonal = [self.elementwise_derivative(name, o) for o in outs]
        return [[diagonal[a] if a == b else 0.0 for b in range(n)] for a in range(n)]

    def loss_term(self, loss: str, target: float, out: float, scale: int) -> float:
        """One output's contribution to the loss; ``scale`` divides the mse terms."""
        error = target - out  # squared by multiplying: ``**`` raises on overflow, * gives inf
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

    def output_gradient(self, problem: Problem, target: Vector, outs: Vector, scale: int) -> Vector:
        """dE/dout at the output layer for one sample (loss ``output``: 1 at the objective)."""
        if problem.loss == "output":
            return one_hot(len(outs), problem.objective - 1, 1.0)
        return [
            loss_term_derivative(problem.loss, t, o, scale)
            for t, o in zip(target, outs, strict=True)
        ]

    def forward(self, problem: Problem, params: Params, x: Vector) -> Forward:
        outs: list[Vector] = [list(x)]
        nets: list[Vector] = [[]]
        for layer_index, layer in enumerate(problem.layers):
            below = outs[-1]
            net = []
            for row, bias in zip(
                params.weights[layer_index], neuron_biases(problem, params, layer_index)
            ):
                total = bias
                for w, value in zip(row, below):
                    total += w * value
                net.append(total)
            nets.append(net)
            outs.append(self.activate(activation_of(layer), net))
        return Forward(nets, outs)

    def back_through_activation(
        self, activation: str, nets: Vector, outs: Vector, d_out: Vector, output_layer: bool
    ) -> Vector:
        """d/dnet from d/dout: the chain rule through the activation (its full Jacobian)."""
        if activation == "sigmoid":  # the tutorials' case, spelt out: it is the hot loop
            return [g * (o * (1.0 - o)) for g, o in zip(d_out, outs)]
        if activation == "relu":  # a dead neuron passes nothing back, not even an infinity
            return [0.0 if o <= 0.0 else g for g, o in zip(d_out, outs)]
        if activation in NET_WRITTEN:
            from_net = self.net_derivative
            return [g * from_net(activation, x) for g, x in zip(d_out, nets)]
        if activation != "softmax":
            derivative = self.elementwise_derivative
            return [g * derivative(activation, o) for g, o in zip(d_out, outs)]
        jac = self.out_net_jacobian(activation, outs)
        n = len(outs)
        return [sum(d_out[a] * jac[a][b] for a in range(n)) for b in range(n)]

    def back_through_weights(self, weights: Matrix, d_net: Vector) -> Vector:
        """d/dout of the layer below from d/dnet of this layer: sum over the neurons fed."""
        total = [0.0] * len(weights[0])
        for d, row in zip(d_net, weights):
            for i, w in enumerate(row):
                total[i] += d * w
        return total

    def bias_gradient(self, layer: Layer, per_neuron: Vector) -> Vector:
        """dE/db from the summed deltas of each neuron: one value if the bias is shared."""
        if layer.bias_kind == "shared":
            return [sum(per_neuron)]
        if layer.bias_kind == "per_neuron":
            return per_neuron
        return []

    def apply_update(
        self, problem: Problem, params: Params, layer_index: int, grad_w: Matrix, grad_b: Vector
    ) -> None:
        """One layer's update, p <- p + change (frozen biases stay); the changes are kept.

        The change is the optimizer's (:func:`.optimizer.changes`): ``-rate * dE/dp``
        in plain descent, with the layer's own rate if it has one.
        """
        rate = layer_rate(problem, layer_index)
        velocity = params.velocity_w[layer_index]
        change_w = [changes(problem, rate, g, v) for g, v in zip(grad_w, velocity, strict=True)]
        params.weights[layer_index] = [
            [w + c for w, c in zip(w_row, c_row)]
            for w_row, c_row in zip(params.weights[layer_index], change_w)
        ]
        params.change_w[layer_index] = change_w
        if problem.layers[layer_index].bias_trainable:
            change_b = changes(problem, rate, grad_b, params.velocity_b[layer_index])
            biases = params.biases[layer_index]
            params.biases[layer_index] = [b + c for b, c in zip(biases, change_b)]
            params.change_b[layer_index] = change_b

    # --- training ---------------------------------------------------------------------

    def run(self, problem: Problem, record: Collection[int]) -> q.Trace:
        """Train and record; a float32 problem runs on float32 numbers (:mod:`.single`)."""
        if problem.precision == "float32":
            return plain(self._train(in_float32(problem), record))
        return self._train(problem, record)

    def _train(self, problem: Problem, record: Collection[int]) -> q.Trace:
        """Every step; a step not recorded takes a lean path when the problem has one.

        The lean paths (:mod:`.inline`, :meth:`_simultaneous_step`) know plain descent
        in simultaneous order only; any other step goes through :meth:`_step`.
        """
        params = Params.of(problem)
        trace: q.Trace = {}
        lean = problem.update_order == "simultaneous" and is_plain_descent(problem)
        inline = lean and seams_are_ours(type(self), LoopsEngine)
        recorded = sorted(set(record))
        step = 0
        while step <= problem.steps:
            if step in record or (not lean and step < problem.steps):
                values = self._step(problem, params, step, step in record, step < problem.steps)
                if step in record:
                    trace[step] = values
                step += 1
            elif step == problem.steps:  # the last step, not recorded: nothing to compute
                step += 1
            elif inline:  # every update up to the next recorded step, in one call
                stop = min([r for r in recorded if r > step] or [problem.steps])
                train(self, problem, params, range(step, stop))
                step = stop
            else:
                batch = batch_of_step(problem, step)
                self._simultaneous_step(problem, params, batch, problem.n_outputs * len(batch))
                step += 1
        return trace

    def _simultaneous_step(
        self, problem: Problem, params: Params, batch: tuple[int, ...], scale: int
    ) -> None:
        """One simultaneous update of plain descent with nothing recorded.

        The same arithmetic in the same order as the recording path, with fewer
        intermediate lists: each sample is carried down on its own, its gradient
        added to the running sums, and every layer updated at the end.  When no
        seam is overridden, :meth:`run` trains in :mod:`bpcheck.engines.loops.inline`
        instead (the same arithmetic, written out), and never calls this.
        """
        layers = problem.layers
        top = len(layers) - 1
        back_through_activation = self.back_through_activation
        names = [activation_of(layer) for layer in layers]
        grad_w = [[[0.0] * len(row) for row in weights] for weights in params.weights]
        grad_b = [[0.0] * len(weights) for weights in params.weights]
        for s in batch:
            fwd = self.forward(problem, params, list(problem.inputs[s]))
            d_out = self.output_gradient(problem, list(problem.targets[s]), fwd.outs[-1], scale)
            for index in range(top, -1, -1):
                delta = back_through_activation(
                    names[index], fwd.nets[index + 1], fwd.outs[index + 1], d_out, index == top
                )
                below = fwd.outs[index]
                for row, d in zip(grad_w[index], delta):
                    for i, o in enumerate(below):
                        row[i] += d * o
                sums = grad_b[index]
                for j, d in enumerate(delta):
                    sums[j] += d
                if index:
                    d_out = self.back_through_weights(params.weights[index], delta)
        for index, layer in enumerate(layers):
            bias = self.bias_gradient(layer, grad_b[index])
            self.apply_update(problem, params, index, grad_w[index], bias)

    def _step(
        self, problem: Problem, params: Params, step: int, recording: bool, update: bool
    ) -> dict[str, float]:
        """Forward and backward over the step's batch, then (maybe) one update."""
        batch = batch_of_step(problem, step)
        scale = problem.n_outputs * len(batch)
        values: dict[str, float] = {}
        passes = [self.forward(problem, params, list(problem.inputs[s])) for s in batch]
        if recording:
            record.parameters(problem, params, values)
            self._record_forward(problem, params, batch, passes, scale, values)
        self._backward_and_update(problem, params, batch, passes, scale, values, recording, update)
        if recording and update:
            record.changes(problem, params, values)
        return values

    def _backward_and_update(
        self,
        problem: Problem,
        params: Params,
        batch: tuple[int, ...],
        passes: list[Forward],
        scale: int,
        values: dict[str, float],
        recording: bool,
        update: bool,
    ) -> None:
        """Back-propagate layer by layer from the top, summing gradients over the batch.

        In ``sequential`` order a layer is updated as soon as its gradient is
        known, and the deltas for the layer below (down to the inputs' gradients)
        flow through its new weights.  When recording, each output's loss term is
        also carried down on its own (``term_d_outs[sample][k]``) for the
        ``dE[k]_d...`` partials.
        """
        d_outs: list[Vector] = []
        term_d_outs: list[list[Vector]] = []
        for s, fwd in zip(batch, passes, strict=True):
            grads = self.output_gradient(problem, list(problem.targets[s]), fwd.outs[-1], scale)
            d_outs.append(grads)
            if recording:
                term_d_outs.append([one_hot(len(grads), k, g) for k, g in enumerate(grads)])
        pending: list[tuple[int, Matrix, Vector]] = []
        for layer_index in reversed(range(len(problem.layers))):
            deltas = [
                self._delta(problem, layer_index, fwd, d_out)
                for fwd, d_out in zip(passes, d_outs, strict=True)
            ]
            term_deltas = [
                [self._delta(problem, layer_index, fwd, d) for d in ds]
                for fwd, ds in zip(passes, term_d_outs, strict=recording)
            ]
            grad_w, grad_b = self._layer_gradients(problem, params, layer_index, passes, deltas)
            if recording:
                self._record_backward(problem, layer_index, batch, passes, d_outs, deltas, values)
                record.term_partials(layer_index, batch, term_d_outs, term_deltas, values)
                layer = problem.layers[layer_index]
                record.gradients(layer, layer_index, grad_w, grad_b, values)
            if update and problem.update_order == "sequential":
                self.apply_update(problem, params, layer_index, grad_w, grad_b)
            else:
                pending.append((layer_index, grad_w, grad_b))
            weights = params.weights[layer_index]
            d_outs = [self.back_through_weights(weights, d) for d in deltas]
            term_d_outs = [
                [self.back_through_weights(weights, d) for d in ds] for ds in term_deltas
            ]
        if recording:
            record.input_gradients(batch, d_outs, values)
        if update:
            for layer_index, grad_w, grad_b in pending:
                self.apply_update(problem, params, layer_index, grad_w, grad_b)

    def _delta(self, problem: Problem, layer_index: int, fwd: Forward, d_out: Vector) -> Vector:
        """dE/dnet of one sample at one layer, the seam told the nets and if it is the output."""
        number = layer_index + 1
        return self.back_through_activation(
            activation_of(problem.layers[layer_index]),
            fwd.nets[number],
            fwd.outs[number],
            d_out,
            number == len(problem.layers),
        )

    def _layer_gradients(
        self,
        problem: Problem,
        params: Params,
        layer_index: int,
        passes: list[Forward],
        deltas: list[Vector],
    ) -> tuple[Matrix, Vector]:
        """dE/dw = sum over samples of delta_j * out_i (+ weight decay); dE/db likewise."""
        layer = problem.layers[layer_index]
        grad_w = [[0.0] * layer.fan_in for _ in range(layer.size)]
        per_neuron_b = [0.0] * layer.size
        for fwd, delta in zip(passes, deltas, strict=True):
            below = fwd.outs[layer_index]
            for j, (row, d) in enumerate(zip(grad_w, delta)):
                per_neuron_b[j] += d
                for i, o in enumerate(below):
                    row[i] += d * o
        grad_w = with_decay(problem, grad_w, params.weights[layer_index])
        return grad_w, self.bias_gradient(layer, per_neuron_b)

    # --- recording (through the seams; the names are written by :mod:`.record`) ----------

    def _record_forward(
        self,
        problem: Problem,
        params: Params,
        batch: tuple[int, ...],
        passes: list[Forward],
        scale: int,
        values: dict[str, float],
    ) -> None:
        """Every sample's forward values and loss, and the batch loss E (with weight decay)."""
        total_loss = 0.0
        for s, fwd in zip(batch, passes, strict=True):
            target, outs = list(problem.targets[s]), fwd.outs[-1]
            terms = self._loss_terms(problem, target, outs, scale)
            total_loss += sum(terms)
            slopes: list[Vector] = [[]] + [
                self._activation_slopes(layer, fwd.nets[n], fwd.outs[n])
                for n, layer in enumerate(problem.layers, start=1)
            ]
            record.sample_forward(problem, params, fwd, slopes, s + 1, values)
            record.sample_loss(problem, target, outs, terms, s + 1, values)
        if problem.weight_decay != 0.0:
            total_loss += decay_penalty(problem, params.weights)
        values[q.LOSS] = total_loss

    def _loss_terms(self, problem: Problem, target: Vector, outs: Vector, scale: int) -> Vector:
        """Each output's loss term; loss ``output`` is the objective output itself, others 0."""
        if problem.loss == "output":
            k = problem.objective - 1
            return [o if j == k else 0.0 for j, o in enumerate(outs)]
        return [
            self.loss_term(problem.loss, t, o, scale) for t, o in zip(target, outs, strict=True)
        ]

    def _activation_slopes(self, layer: Layer, nets: Vector, outs: Vector) -> Vector:
        """dout_dnet of each neuron of a layer (softmax: the Jacobian's diagonal)."""
        name = activation_of(layer)
        if name in NET_WRITTEN:
            return [self.net_derivative(name, x) for x in nets]
        jac = self.out_net_jacobian(name, outs)
        return [jac[j][j] for j in range(len(outs))]

    def _record_backward(
        self,
        problem: Problem,
        layer_index: int,
        batch: tuple[int, ...],
        passes: list[Forward],
        d_outs: list[Vector],
        deltas: list[Vector],
        values: dict[str, float],
    ) -> None:
        """dE/dout, delta and each sample's own gradients of one layer."""
        layer = problem.layers[layer_index]
        record.backward(layer_index, batch, d_outs, deltas, values)
        bias_grads = [self.bias_gradient(layer, list(delta)) for delta in deltas]
        record.sample_gradients(layer, layer_index, batch, passes, deltas, bias_grads, values)
