"""Text that ``bpcheck new`` and ``bpcheck claim`` write for a person to replace.

``new`` cannot know which document a worked example comes from, nor where in it;
``claim`` cannot know why a printed number differs from the value the engines
compute (a typo in the fixture? a slip in the document?).  Both write a
placeholder that starts with :data:`MARK`, and the loader refuses a fixture that
still holds one: a claim whose number was mistyped cannot pass the suite as an
"expected mismatch" until someone has looked at it and written down the cause.
"""

from __future__ import annotations

from typing import Any

from bpcheck.errors import InputError

MARK = "TODO(bpcheck): "
"""How every placeholder starts; nothing else bpcheck writes starts so."""

DOCUMENT = f"{MARK}the document's title, file name or URL"
"""``source.document`` as ``new`` writes it when not told (``--document``)."""

WHERE = f"{MARK}where in the document the worked example stands (section, page)"
"""``source.where`` as ``new`` writes it when not told (``--where``)."""


def note(printed: str, verdict: str, computed: float) -> str:
    """The note ``claim`` writes on a claim that is not a match, until a person replaces it."""
    return (
        f"{MARK}printed {printed}, the engines compute {computed:.17g} ({verdict}). "
        "Check the number here and in the document (`bpcheck diagnose` lists causes), "
        "then replace this note with the cause."
    )


def is_placeholder(text: object) -> bool:
    return isinstance(text, str) and text.startswith(MARK)


def placeholder_errors(path: str, document: dict[str, Any]) -> list[InputError]:
    """One line for each placeholder left in a fixture ``document`` (checked by the schema)."""
    errors = []
    source = document.get("source", {})
    wanted = {
        "document": "the document's title, file name or URL",
        "where": "where in it the example stands",
    }
    for field, what in wanted.items():
        if is_placeholder(source.get(field)):
            message = f"expected {what}, found the placeholder `bpcheck new` wrote"
            errors.append(InputError(path, f"$.source.{field}", message))
    for index, claim in enumerate(document.get("claims", [])):
        if is_placeholder(claim.get("note")):
            verdict = claim.get("expect", "verdict")
            message = (
                f"expected the cause of the {verdict} (is the printed number typed right?), "
                "found the placeholder `bpcheck claim` wrote"
            )
            errors.append(InputError(path, f"$.claims[{index}].note", message))
    return errors
