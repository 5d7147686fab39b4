"""The names a fixture may give as a claim's ``diagnosis``: the variants of ``bpcheck diagnose``.

Plain data, so that loading a fixture does not load the diagnosis machinery
(engines, readings, planted bugs).  ``bpcheck.diagnose.variants.CATALOGUE``
defines each of them; a test keeps the two lists equal, in the same order.
A diagnosis may also join two names with `` + `` (``sequential-order +
truncated-4-decimals``).
"""

from __future__ import annotations

VARIANT_NAMES: tuple[str, ...] = (
    # readings: another reading of the algorithm
    "sequential-order",
    "simultaneous-order",
    "biases-trained",
    "biases-frozen",
    "loss-sse",
    "loss-half_sse",
    "loss-mse",
    "learning-rate-x2",
    "learning-rate-x0.5",
    "learning-rate-x10",
    "learning-rate-x0.1",
    # bugs: classic mistakes in hand-written backpropagation
    "learning-rate-twice",
    "output-derivative-missing",
    "error-as-delta",
    "derivative-of-net",
    "transposed-weights",
    "gradient-sign-flipped",
    "bias-gradient-dropped",
    # hand computation: every intermediate value rounded or cut
    "rounded-2-decimals",
    "rounded-3-decimals",
    "rounded-4-decimals",
    "rounded-5-decimals",
    "rounded-6-decimals",
    "truncated-2-decimals",
    "truncated-3-decimals",
    "truncated-4-decimals",
    "truncated-5-decimals",
    "truncated-6-decimals",
    # found by search over the computation graph
    "from-printed-inputs",
    "formula-slip",
    # printing slips
    "cut-when-printed",
    "typo-one-digit",
    "typo-swapped-digits",
    "one-step-early",
)

DIAGNOSIS_SEPARATOR = " + "
"""Between the variants of a combined diagnosis."""
