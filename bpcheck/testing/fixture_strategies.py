"""Hypothesis strategies for fixture documents: valid ones pinned from a problem, and broken ones.

The loader's fuzz tests draw from here: :func:`fixture_documents` makes documents
that must load, :func:`mutated_documents` and :func:`mutated_texts` documents that
must be refused with one clear line.  Networks and numbers come from
:mod:`bpcheck.testing.strategies`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from bpcheck.model import quantities as q
from bpcheck.model.problem import Problem
from bpcheck.testing.documents import problem_document
from bpcheck.testing.strategies import printed_numbers, problems, reals

SCHEMA_PATH = "../schema/fixture-v1.schema.json"


# --- fixture documents -------------------------------------------------------------------


def problem_id(problem: Problem) -> str:
    """A slug that names the problem by its content, stable across runs."""
    text = json.dumps(problem_document(problem), sort_keys=True)
    return "hypothesis-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def fixture_document(
    problem: Problem,
    note: str,
    *,
    claims: Sequence[dict[str, Any]] = (),
    aliases: dict[str, str] | None = None,
    fixture_id: str | None = None,
    schema_path: str = SCHEMA_PATH,
) -> dict[str, Any]:
    """A fixture as a JSON-ready dict: the problem, what was found about it, claims."""
    document: dict[str, Any] = {
        "$schema": schema_path,
        "id": fixture_id or problem_id(problem),
        "title": "Found by a Hypothesis property test of bpcheck",
        "source": {"document": "bpcheck property tests", "notes": note},
        "problem": problem_document(problem),
    }
    if aliases:
        document["aliases"] = dict(aliases)
    document["claims"] = [dict(claim) for claim in claims]
    return document


def problem_as_fixture(problem: Problem, note: str, claims: Sequence[dict[str, Any]] = ()) -> str:
    """JSON text of a fixture for ``problem``, ready to paste into ``fixtures/<document>/``.

    Property tests put it in their failure messages, so that every
    counterexample Hypothesis finds becomes a regression fixture in one step.
    ``claims`` are fixture claims (usually pinned values of what the property
    expected); ``note`` says what was found.
    """
    return json.dumps(fixture_document(problem, note, claims=claims), indent=2) + "\n"


def pinned_claim(
    claim_id: str, quantity: str, step: int, value: float, tolerance: float
) -> dict[str, Any]:
    """A claim that pins ``quantity`` at ``step`` to ``value`` within ``tolerance``."""
    return {
        "id": claim_id,
        "quantity": quantity,
        "step": step,
        "pinned": format(value, ".17g"),
        "pin_tolerance": tolerance,
        "where": "expected by a bpcheck property",
    }


def names_by_step(problem: Problem) -> list[tuple[int, str]]:
    """Every (step, quantity name) a claim may refer to."""
    return [(k, name) for k in range(problem.steps + 1) for name in q.names_at_step(problem, k)]


@st.composite
def value_claims(draw: st.DrawFn, problem: Problem, claim_id: str) -> dict[str, Any]:
    """A printed or pinned claim on a quantity that exists at its step."""
    step, name = draw(st.sampled_from(names_by_step(problem)))
    claim: dict[str, Any] = {"id": claim_id, "quantity": name, "step": step, "where": "text"}
    if draw(st.booleans()):
        claim["pinned"] = format(draw(reals(1e6)), ".17g")
        return claim
    claim["printed"] = draw(printed_numbers())
    claim["expect"] = draw(st.sampled_from(("match", "truncated", "mismatch")))
    if claim["expect"] != "match":
        claim["note"] = "why the document differs"
    return claim


@st.composite
def relation_claims(draw: st.DrawFn, problem: Problem, claim_id: str) -> dict[str, Any]:
    """A relation between two quantities, e.g. the loss after a step below the loss before."""
    left, right = (draw(st.sampled_from(names_by_step(problem))) for _ in range(2))
    relation: dict[str, Any] = {
        "left": {"quantity": left[1], "step": left[0]},
        "op": draw(st.sampled_from(("<", ">", "=="))),
        "right": {"quantity": right[1], "step": right[0]},
    }
    return {
        "id": claim_id,
        "where": "text",
        "relation": relation,
        "expect": draw(st.sampled_from(("holds", "fails"))),
    }


@st.composite
def fixture_documents(
    draw: st.DrawFn, problem_strategy: SearchStrategy[Problem] | None = None
) -> dict[str, Any]:
    """Valid fixtures: a problem, an alias or two, and a few claims of every kind."""
    problem = draw(problem_strategy if problem_strategy is not None else problems())
    weights = [n for n in q.step_names(problem) if n.startswith("w[")]
    aliases = {
        f"w{k}": name
        for k, name in enumerate(
            draw(st.lists(st.sampled_from(weights), max_size=2, unique=True)), start=1
        )
    }
    count = draw(st.integers(0, 4))
    claims = []
    for index in range(count):
        maker = draw(st.sampled_from((value_claims, value_claims, relation_claims)))
        claims.append(draw(maker(problem, f"claim-{index}")))
    if aliases and claims and "quantity" in claims[0]:
        claims[0] = {**claims[0], "quantity": next(iter(aliases)), "step": 0}
    return fixture_document(problem, "generated", claims=claims, aliases=aliases)


# --- broken fixture documents -------------------------------------------------------------


def json_values() -> SearchStrategy[Any]:
    """Any JSON value, nested a few levels."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=8,
    )


JsonPath = tuple[str | int, ...]


def json_paths(document: Any, path: JsonPath = ()) -> list[JsonPath]:
    """Every location in a JSON document, the root included."""
    found = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(json_paths(value, (*path, key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(json_paths(value, (*path, index)))
    return found


def replaced_at(document: Any, path: JsonPath, change: Callable[[Any], Any]) -> Any:
    """A copy of ``document`` with the value at ``path`` replaced by ``change(value)``.

    ``change`` returning :data:`DELETE` removes the value from its parent.
    """
    if not path:
        return change(document)
    head, rest = path[0], path[1:]
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    new = replaced_at(copy[head], rest, change)
    if new is DELETE:
        del copy[head]
    else:
        copy[head] = new
    return copy


DELETE = object()
"""Sentinel a mutation returns to remove a value."""


def mutations() -> SearchStrategy[Callable[[Any], Any]]:
    """Ways a hand-edited fixture goes wrong: a value removed, retyped, resized or garbled."""

    def wrap(value: Any) -> Any:
        return [value]

    def unwrap(value: Any) -> Any:
        return value[0] if isinstance(value, list) and value else value

    def shorten(value: Any) -> Any:
        return value[:-1] if isinstance(value, list | str) else value

    def lengthen(value: Any) -> Any:
        return [*value, *value[:1]] if isinstance(value, list) else value

    def negate(value: Any) -> Any:
        return -value if isinstance(value, int | float) and not isinstance(value, bool) else value

    def add_key(key: str, new: Any) -> Callable[[Any], Any]:
        return lambda value: {**value, key: new} if isinstance(value, dict) else value

    fixed = st.sampled_from([lambda value: DELETE, wrap, unwrap, shorten, lengthen, negate])
    replace_with = json_values().map(lambda new: lambda value: new)
    added = st.builds(add_key, st.text(max_size=8), json_values())
    return st.one_of(fixed, replace_with, added)


@st.composite
def mutated_documents(
    draw: st.DrawFn, documents: SearchStrategy[dict[str, Any]] | None = None
) -> Any:
    """A valid fixture with one to three mutations at random locations."""
    document: Any = draw(documents if documents is not None else fixture_documents())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(json_paths(document)))
        document = replaced_at(document, path, draw(mutations()))
        if document is DELETE:
            document = {}
    return document


@st.composite
def mutated_texts(draw: st.DrawFn, documents: SearchStrategy[dict[str, Any]] | None = None) -> str:
    """A valid fixture's JSON text cut short, spliced or given a stray character."""
    text = json.dumps(draw(documents if documents is not None else fixture_documents()))
    at = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(("cut", "insert", "delete", "duplicate")))
    if how == "cut":
        return text[:at]
    if how == "insert":
        return text[:at] + draw(st.text(min_size=1, max_size=3)) + text[at:]
    if how == "delete":
        return text[:at] + text[at + 1 :]
    return text[:at] + text[at // 2 : at] + text[at:]


@functools.cache
def schema_documents() -> SearchStrategy[Any]:
    """Documents generated from the fixture schema itself by hypothesis-jsonschema.

    Cached: building the strategy canonicalises the whole schema (a second or two).
    """
    from hypothesis_jsonschema import from_schema

    from bpcheck.io.loader import schema

    return from_schema(schema())


def schema_generation_problem() -> str | None:
    """Why :func:`schema_documents` cannot run with the installed Hypothesis, or None.

    hypothesis-jsonschema 0.23.1 drives private Hypothesis internals
    (``many.more()``) that Hypothesis 6.170.10 removed; with both installed every
    object it generates fails with AttributeError.
    """
    try:
        from hypothesis.internal.conjecture.utils import many
    except ImportError:  # pragma: no cover - internals moved again
        return "hypothesis.internal.conjecture.utils.many is gone"
    if not hasattr(many, "more"):
        return (
            "hypothesis-jsonschema needs many.more(), removed in hypothesis 6.170.10: "
            "install hypothesis<6.170.10 to fuzz the loader from the schema"
        )
    return None
