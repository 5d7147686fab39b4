"""The certified engine: the problem as printed, in Arb ball arithmetic, with proof.

``engine.py`` holds the engine (precision, time budget, the contract),
``network.py`` one training step on ball matrices, ``functions.py`` the
activations and losses on grids of balls, ``optimizer.py`` the update (rates,
momentum, Nesterov), ``naming.py`` the name of every value, ``balls.py`` the
arithmetic on single balls.  Requires python-flint (``pip install "bpcheck[certified]"``).
"""

from bpcheck.engines.certified.engine import CertifiedEngine

__all__ = ["CertifiedEngine"]
