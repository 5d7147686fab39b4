"""The loops engine: plain Python floats, one weight at a time, like the tutorials.

Every formula here is the one a tutorial writes on the page: the logistic
function and its derivative ``out * (1 - out)``, the node delta, ``dE/dw =
delta * out_below``.  No NumPy: this engine must stay readable next to the
document it checks, and independent of the array engines.

Seams.  Each step of the arithmetic is a method of :class:`LoopsEngine`, and
every path through the engine (recording a step or training fast) goes through
them, so a subclass that overrides one changes that step everywhere:

* ``activate(name, nets)`` and its derivatives ``elementwise_derivative(name,
  out)``, ``net_derivative(name, net)`` (leaky_relu, softplus, elu: written from
  the net input) and ``out_net_jacobian(name, outs)``; ``name`` is a ``str`` that
  carries the layer's slope or alpha (:class:`.formulas.Activation`);
* ``loss_term(loss, target, out, scale)`` and ``output_gradient(problem,
  target, outs, scale)`` (dE/dout at the output layer);
* ``forward(problem, params, x)``: one sample through every layer;
* ``back_through_activation(activation, nets, outs, d_out, output_layer)``:
  dE/dnet from dE/dout, told the layer's net inputs and whether it is the
  output layer (the standard rule needs neither; a variant may);
* ``back_through_weights(weights, d_net)``: dE/dout of the layer below;
* ``bias_gradient(layer, per_neuron)`` and ``apply_update(problem, params,
  layer_index, grad_w, grad_b)``.

The seams exist on purpose: :mod:`bpcheck.diagnose.planted` overrides them to
compute a problem the way a buggy program or an author rounding by hand would.

The modules: :mod:`.formulas` (activations and loss derivatives on single floats),
:mod:`.params` (weights, biases and velocities as lists), :mod:`.optimizer` (the update
rule: momentum, Nesterov, weight decay), :mod:`.engine` (the seams, the recorded step,
training), :mod:`.record` (the step's values under their names), :mod:`.single` (float32:
the same code on numbers that round every operation) and :mod:`.inline` (the hot loop of
long runs of plain descent: the seams' arithmetic written out, used only while no seam is
overridden).
"""

from bpcheck.engines.loops.engine import LoopsEngine
from bpcheck.engines.loops.formulas import (
    Matrix,
    Vector,
    loss_term_derivative,
    one_hot,
    sigmoid,
    t_log,
    t_over,
)
from bpcheck.engines.loops.params import Forward, Params, neuron_biases

__all__ = [
    "Forward",
    "LoopsEngine",
    "Matrix",
    "Params",
    "Vector",
    "loss_term_derivative",
    "neuron_biases",
    "one_hot",
    "sigmoid",
    "t_log",
    "t_over",
]
