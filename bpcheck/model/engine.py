"""The engine contract: what bpcheck asks of every engine, ours or a user's."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bpcheck.model.problem import (
    ACTIVATIONS,
    BATCH_MODES,
    BIAS_KINDS,
    LOSSES,
    UPDATE_ORDERS,
    Problem,
)
from bpcheck.model.quantities import EXTENDED, Trace


@dataclass(frozen=True)
class Availability:
    """Whether an engine can run here at all, and if not, why."""

    available: bool
    reason: str | None = None


class CannotRun(Exception):
    """Raised by an engine for a problem it does not support: a ``skipped`` outcome.

    The message is the reason shown to the user.  Any other exception from an
    engine is an ``errored`` outcome.
    """


@runtime_checkable
class Engine(Protocol):
    """An independent implementation of forward pass, backpropagation and training.

    ``run`` makes ``problem.steps`` updates and returns the full trace (every
    name of :func:`bpcheck.model.quantities.names_at_step`) at each step in
    ``record``, and nothing for the other steps, so that a long run keeps only
    what a claim asks for.  Step ``k`` means: with the parameters after ``k``
    updates; ``record`` may include ``problem.steps`` itself.
    """

    name: str
    version: str
    capabilities: frozenset[str]

    def available(self) -> Availability: ...

    def run(self, problem: Problem, record: Collection[int]) -> Trace: ...


@dataclass(frozen=True)
class Enclosures:
    """What an engine that certifies its values returns from ``enclose``: bounds, not roundings.

    An engine may have, beside ``run``, a method ``enclose(problem, record) ->
    Enclosures`` (the certified engine does).  bpcheck then asks it instead of
    ``run`` and judges each claim on the interval, not on one float
    (docs/verdicts.md, "Certified values").  Plain data only: it crosses from the
    engine's worker process.
    """

    bounds: dict[int, dict[str, tuple[str, str]]]
    """step -> name -> (lower, upper), exact decimal strings: the true value lies between."""
    float64: dict[int, dict[str, float]]
    """step -> name -> how far float64 rounding can move the value: the radius of the same
    computation in 53-bit ball arithmetic (``inf`` where it cannot say)."""
    precision: int
    """Bits of working precision the bounds were computed at."""
    digits: float
    """Correct significant digits of the least accurate value not enclosing 0."""


def encloses(engine: object) -> bool:
    """Whether an engine answers ``enclose`` (see :class:`Enclosures`).

    An engine in a worker process says so in its ``certifies`` attribute.
    """
    certifies = getattr(engine, "certifies", None)
    if isinstance(certifies, bool):
        return certifies
    return callable(getattr(engine, "enclose", None))


OPTIMIZER_CAPABILITIES = (
    "optimizer:momentum",
    "optimizer:nesterov",
    "optimizer:weight_decay",
    "optimizer:layer_rates",
)
"""What an update may do beyond plain descent (:class:`~bpcheck.model.problem.Problem` says how)."""

FLOAT32 = "precision:float32"


def required_capabilities(problem: Problem) -> frozenset[str]:
    """The capability names a problem needs, e.g. ``activation:relu``, ``loss:mse``.

    An engine whose ``capabilities`` lack one of them is ``skipped`` for the
    problem, with the missing names as the reason.  The claims may need
    :data:`~bpcheck.model.quantities.EXTENDED` as well (the checker adds it).
    """
    needed = {
        f"loss:{problem.loss}",
        f"batch:{problem.batch}",
        f"order:{problem.update_order}",
    }
    for layer in problem.layers:
        needed.add(f"activation:{layer.activation}")
        needed.add(f"bias:{layer.bias_kind}")
        if layer.learning_rate is not None:
            needed.add("optimizer:layer_rates")
    if problem.momentum != 0.0:
        needed.add("optimizer:nesterov" if problem.nesterov else "optimizer:momentum")
    if problem.weight_decay != 0.0:
        needed.add("optimizer:weight_decay")
    if problem.precision == "float32":
        needed.add(FLOAT32)
    return frozenset(needed)


ALL_CAPABILITIES = frozenset(
    [f"activation:{name}" for name in ACTIVATIONS]
    + [f"loss:{name}" for name in LOSSES]
    + [f"bias:{name}" for name in BIAS_KINDS]
    + [f"batch:{name}" for name in BATCH_MODES]
    + [f"order:{name}" for name in UPDATE_ORDERS]
    + [*OPTIMIZER_CAPABILITIES, FLOAT32, EXTENDED]
)
"""Everything the problem model can ask for; a complete engine declares all of it."""
