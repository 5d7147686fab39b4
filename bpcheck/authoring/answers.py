"""Reading one answer of ``bpcheck new``: numbers, rows, names, as a tutorial writes them.

Each reader takes the text an author typed (an option's value or a prompt's
answer) and returns the value, or raises :class:`BadAnswer` saying what was
expected; :mod:`bpcheck.authoring.new` turns that into a line of BadInput, or
asks again at a terminal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bpcheck.model.verdicts import is_decimal_number


class BadAnswer(Exception):
    """One answer that cannot be used, and what was expected instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def one_of(text: str, choices: Sequence[str]) -> str:
    name = text.strip()
    if name not in choices:
        raise BadAnswer(f"unknown {name!r}; expected one of {', '.join(choices)}")
    return name


def whole_number(text: str, *, least: int = 0) -> int:
    """``"3"`` -> 3."""
    try:
        value = int(text.strip())
    except ValueError:
        raise BadAnswer(f"expected a whole number, found {text!r}") from None
    if value < least:
        raise BadAnswer(f"expected a whole number of {least} or more, found {value}")
    return value


def layer_sizes(text: str) -> list[int]:
    """``"2,2,2"`` -> [2, 2, 2]: inputs first, at least an input and an output layer."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise BadAnswer(f"expected whole numbers like 2,2,2, found {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise BadAnswer("expected at least two sizes of 1 or more (inputs, outputs)")
    return sizes


def numbers(text: str, count: int | None = None, what: str = "values") -> list[float]:
    """``"0.15, 0.2"`` -> [0.15, 0.2]: comma-separated decimal numbers (``count`` of them).

    Written as a fixture holds them: ``nan``, ``inf`` or ``1e999`` (which ``float``
    takes) would make a file no command can load.
    """
    parts = [part for part in text.replace(" ", "").split(",") if part]
    if not all(is_decimal_number(part) for part in parts):
        raise BadAnswer(f"expected comma-separated decimal numbers, found {text!r}")
    values = [float(part) for part in parts]
    if not all(math.isfinite(value) for value in values):
        raise BadAnswer(f"expected numbers that fit in a float64, found {text!r}")
    if not values:
        raise BadAnswer("expected at least one number")
    if count is not None and len(values) != count:
        raise BadAnswer(f"expected {count} {what}, found {len(values)}")
    return values


def positive_number(text: str) -> float:
    value = numbers(text, 1, "number")[0]
    if value <= 0:
        raise BadAnswer(f"expected a number above 0, found {text!r}")
    return value


def rows(text: str, width: int, samples: int | None = None) -> list[list[float]]:
    """Samples separated by ``;``, each a comma-separated row of ``width`` numbers."""
    out = []
    for index, part in enumerate(p for p in text.split(";") if p.strip()):
        try:
            out.append(numbers(part, width))
        except BadAnswer as error:
            raise BadAnswer(f"sample {index + 1}: {error.message}") from None
    if not out:
        raise BadAnswer("expected at least one sample")
    if samples is not None and len(out) != samples:
        raise BadAnswer(f"expected {samples} samples (as many as inputs), found {len(out)}")
    return out


def per_layer(text: str, n_layers: int, choices: Sequence[str]) -> list[str]:
    """One name for every layer, or one per layer of weights."""
    names = [part.strip() for part in text.split(",")]
    if len(names) == 1:
        names = names * n_layers
    if len(names) != n_layers:
        raise BadAnswer(f"expected 1 or {n_layers} names, found {len(names)}")
    for name in names:
        one_of(name, choices)
    return names


def layer_numbers(text: str, eligible: Sequence[int]) -> list[int]:
    """``"1,2"``, ``all`` or ``none`` -> layer numbers (1 = the first layer of weights)."""
    word = text.strip()
    if word == "none":
        return []
    if word == "all":
        return list(eligible)
    try:
        chosen = sorted({int(part) for part in word.split(",")})
    except ValueError:
        raise BadAnswer(f"expected layer numbers like 1,2, all or none, found {text!r}") from None
    wrong = [n for n in chosen if n not in eligible]
    if wrong:
        shown = ", ".join(map(str, eligible)) or "none"
        raise BadAnswer(f"layer {wrong[0]} has no bias; expected some of {shown}, all or none")
    return chosen


def number_at_least(text: str, least: float = 0.0) -> float:
    """One number of ``least`` or more (a momentum, a weight decay)."""
    value = numbers(text, 1, "number")[0]
    if value < least:
        raise BadAnswer(f"expected a number of {least:g} or more, found {text!r}")
    return value


def yes_no(text: str) -> bool:
    """``yes``/``no`` (or ``true``/``false``) -> True/False."""
    word = text.strip().lower()
    if word in ("yes", "true"):
        return True
    if word in ("no", "false"):
        return False
    raise BadAnswer(f"expected yes or no, found {text!r}")


def objective(text: str, n_outputs: int) -> int | None:
    """``"output 2"`` -> 2 (the 1-based output whose gradient is taken); ``none`` -> None."""
    word, _, k = text.strip().partition(" ")
    if word == "none" and not k:
        return None
    if word != "output" or not k.strip().isdigit():
        raise BadAnswer(f"expected 'output K' (K from 1 to {n_outputs}) or none, found {text!r}")
    chosen = int(k)
    if not 1 <= chosen <= n_outputs:
        raise BadAnswer(f"expected an output from 1 to {n_outputs}, found {chosen}")
    return chosen


def batch(text: str, modes: Sequence[str]) -> str | int:
    """``full``, ``per_sample`` or a mini-batch size (a whole number of 1 or more)."""
    word = text.strip()
    if word in modes:
        return word
    if word.isdigit() and int(word) >= 1:
        return int(word)
    raise BadAnswer(
        f"unknown {word!r}; expected {', '.join(modes)} or a mini-batch size (a whole number)"
    )


def sample_order(text: str, samples: int) -> list[int]:
    """``"2,3,1"`` -> [2, 3, 1]: each sample once, 1-based; ``in order`` -> 1..samples."""
    if text.strip() == "in order":
        return list(range(1, samples + 1))
    try:
        order = [int(part) for part in text.split(",")]
    except ValueError:
        raise BadAnswer(f"expected sample numbers like 2,3,1 or in order, found {text!r}") from None
    if sorted(order) != list(range(1, samples + 1)):
        raise BadAnswer(
            f"expected each sample from 1 to {samples} once (e.g. 2,3,1), found {text.strip()!r}"
        )
    return order


def rates(text: str, n_layers: int) -> list[float] | None:
    """One learning rate per layer of weights (above 0), or ``none``."""
    if text.strip() == "none":
        return None
    values = numbers(text, n_layers, f"rates (one per layer of weights, {n_layers})")
    if min(values) <= 0:
        raise BadAnswer(f"expected rates above 0, found {text!r}")
    return values


def per_named_layer(text: str, count: int, what: str, least: float) -> list[float]:
    """One number for all ``count`` layers that take it, or one for each (in order)."""
    values = numbers(text, None, what)
    if len(values) == 1:
        values = values * count
    if len(values) != count:
        raise BadAnswer(f"expected 1 or {count} {what}, found {len(values)}")
    if min(values) < least:
        raise BadAnswer(f"expected {what} of {least:g} or more, found {text!r}")
    return values
