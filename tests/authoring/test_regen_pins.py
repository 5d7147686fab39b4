"""regen finds each claim's pin where the parsed document puts it, not by a regex over the text."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bpcheck.authoring.regen import pin, regenerate
from bpcheck.checking import registry
from bpcheck.io.loader import load
from tests.support.documents import VALID


def test_an_alias_and_a_provenance_entry_called_pinned_are_left_alone(tmp_path: Path) -> None:
    """A regex for ``"pinned": "..."`` also hit these, and regen refused (or rewrote them)."""
    document: dict[str, Any] = copy.deepcopy(VALID)
    document["problem"]["provenance"] = {"pinned": "0.25, from the text"}
    document["aliases"] = {"pinned": "w[1,1,1]", **document["aliases"]}
    document["claims"].append({"id": "w1", "quantity": "w1", "pinned": "0.5", "where": "-"})
    path = tmp_path / "pins.json"
    path.write_text(json.dumps(document, indent=2) + "\n")

    result = regenerate(load(path), registry.select(["loops"]))

    assert result.problems == []
    regenerated = json.loads(result.new_text)
    assert regenerated["claims"][1]["pinned"] == pin(0.1)
    expected = copy.deepcopy(document)
    expected["claims"][1]["pinned"] = pin(0.1)
    assert regenerated == expected
    assert result.new_text == result.old_text.replace('"pinned": "0.5"', f'"pinned": "{pin(0.1)}"')
