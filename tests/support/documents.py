"""A small valid fixture document, for tests that break it one field at a time."""

from __future__ import annotations

from typing import Any

VALID: dict[str, Any] = {
    "$schema": "../schema/fixture-v1.schema.json",
    "id": "tiny",
    "title": "A 2-1 sigmoid network",
    "source": {"document": "made-up.txt"},
    "problem": {
        "inputs": [[0.5, 0.25]],
        "targets": [[1.0]],
        "layers": [{"activation": "sigmoid", "weights": [[0.1, 0.2]]}],
        "loss": "half_sse",
        "learning_rate": 0.5,
        "steps": 1,
    },
    "aliases": {"w1": "w[1,1,1]", "o": "out[1,1]"},
    "claims": [
        {"id": "o", "quantity": "o", "printed": "0.525", "where": "eq. 1", "expect": "match"},
    ],
}
