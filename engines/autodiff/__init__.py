"""The autodiff engine: write the forward pass and the loss once, let JAX differentiate.

The loops and matrices engines write backpropagation by hand, the way tutorials
do.  This engine writes no derivative at all: every gradient, delta, activation
slope and per-term partial below comes from ``jax.grad``, ``jax.vjp``,
``jax.jacrev`` or ``jax.jacfwd`` applied to the forward pass and the loss.  A
mistake in a hand-written derivative elsewhere therefore cannot be repeated
here, which is what makes this engine a useful, independent witness.

The layout follows JAX's ``examples/mnist_classifier_fromscratch.py``: small pure
functions over a tuple of ``(weights, bias)`` pairs.  Everything that fixes array
shapes or control flow (layer sizes, activations, loss, batch mode and size,
update order, precision, whether momentum and weight decay are used) is gathered
in a hashable :class:`NetShape`; the compiled functions are cached per shape, and
parameter values, data, rates, momentum, decay, slopes, the objective, the sample
order and step counts are runtime arguments, so a second problem of the same shape
reuses the compiled code.

JAX is optional: this module imports without it and :meth:`AutodiffEngine.available`
then says how to install it.

arrays.py turns a problem into its shape and its arrays (float64, or float32 from
end to end for a float32 problem); forward.py holds the forward pass and the loss,
the only maths written; network.py what JAX makes of them; optimizer.py steps
along JAX's gradient (plain descent, momentum, Nesterov; weight decay is a term of
the loss); engine.py names the arrays and runs them.
"""

from bpcheck.engines.autodiff.engine import AutodiffEngine

__all__ = ["AutodiffEngine"]
