"""The matrices engine: backpropagation as a textbook writes it in matrix form.

Each layer is a weight matrix ``W`` of shape ``(size, fan_in)`` and the batch is
a matrix with one row per sample, so the forward pass is ``net = out_below @ W.T
+ b`` and the backward pass is the vectorised delta rule::

    delta_L     = (dE/d out_L) * f'(net_L)        (softmax: its full Jacobian)
    dE/dW_L     = delta_L.T @ out_below
    dE/d out_L-1 = delta_L @ W_L

Everything is NumPy float64, or float32 from end to end for a float32 problem.
This engine is one of several *independent* engines: it writes its own
activations, losses and derivatives and imports no other engine, so that an
agreement between engines means something.

Two paths share the same arithmetic helpers:

* :func:`train_step` is the lean path for steps nobody asked to see: forward,
  backward, update, nothing kept.  Long runs (10,000 steps of a tiny network)
  spend almost all their time here, so it does the fewest NumPy calls it can;
  plain descent updates in place, any other rule goes through the optimizer.
* :func:`recorded_step` does the same step but also keeps every quantity of
  the trace, including the per-term partials ``dE[k]_d...`` and the per-sample
  gradients, which cost a ``(samples, outputs or neurons, ...)`` array per
  layer and are only built when the step is recorded.

activations.py holds the activations, network.py the losses and the steps,
update.py the update rule (momentum, Nesterov, weight decay, per-layer rates),
engine.py the trace and the engine.
"""

from bpcheck.engines.matrices.engine import MatricesEngine

__all__ = ["MatricesEngine"]
